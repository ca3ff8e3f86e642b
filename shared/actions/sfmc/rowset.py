"""Data-extension row upserts: ``POST {rest_base}/hub/v1/dataevents/key:{key}/rowset``.

Body: ``[{"keys": {<primary key columns>}, "values": {<other columns>}}, ...]``. The API writes
rows in order and stops at the first bad one: the rows after it are rejected with it. So when a
request with several rows is refused as bad data (4xx), the rows are split in halves and each
half sent again, down to single rows: every good row is written, every bad row fails with the
API's own message. Upserts are keyed by the primary key, so rewriting a row that was written
before the bad one is harmless (it may show up as a duplicate in the stub's count).
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from shared.actions.models import DeliveryOutcome, FailureKind, PlannedAction
from shared.actions.outcomes import failed, outcome_from
from shared.actions.retrying import AttemptResult, Retrier, Settlement
from shared.actions.sfmc.requests import MarketingCloudRequests, joined_keys, json_body

ROWSET_PATH = "/hub/v1/dataevents/key:{key}/rowset"
_WHAT = "data extension row"


class MarketingCloudRowsetClient:
    """Upserts rows of one data extension per request, isolating bad rows."""

    def __init__(self, requests: MarketingCloudRequests, *, rest_base_url: str, retrier: Retrier) -> None:
        self._requests = requests
        self._base = rest_base_url.rstrip("/")
        self._retrier = retrier

    async def upsert(self, actions: Sequence[PlannedAction]) -> list[DeliveryOutcome]:
        """Rows of ``actions`` (same ``data_extension_key``); one outcome per action, in order."""
        outcomes: dict[int, DeliveryOutcome] = {}
        rows: list[tuple[int, PlannedAction]] = []
        for index, action in enumerate(actions):
            try:
                json_body(_row(action))
            except (TypeError, ValueError) as exc:
                reason = f"row is not JSON: {exc}"
                outcomes[index] = failed(action, FailureKind.UNSUPPORTED, reason, attempts=0, what=_WHAT)
                continue
            rows.append((index, action))
        if rows:
            results = await self._upsert_isolating([action for _, action in rows], spent=0)
            outcomes.update({index: result for (index, _), result in zip(rows, results, strict=True)})
        return [outcomes[index] for index in range(len(actions))]

    async def _upsert_isolating(self, actions: list[PlannedAction], *, spent: int) -> list[DeliveryOutcome]:
        settlement = await self._send(actions)
        attempts = spent + settlement.attempts
        if settlement.failure is FailureKind.PERMANENT and len(actions) > 1:
            middle = len(actions) // 2
            first = await self._upsert_isolating(actions[:middle], spent=attempts)
            second = await self._upsert_isolating(actions[middle:], spent=attempts)
            return first + second
        counted = Settlement(attempts, settlement.failure, settlement.reason, settlement.response_id)
        return [outcome_from(action, counted, what=_WHAT) for action in actions]

    async def _send(self, actions: list[PlannedAction]) -> Settlement:
        key = actions[0].data_extension_key or ""
        url = self._base + ROWSET_PATH.format(key=quote(key, safe=""))
        body = json_body([_row(action) for action in actions])
        keys = joined_keys([action.key for action in actions])

        async def attempt() -> AttemptResult:
            return await self._requests.post(url, body, idempotency_key=keys)

        label = f"rowset of {len(actions)} row(s) (first action {actions[0].key})"
        return await self._retrier.settle(attempt, label=label)


def _row(action: PlannedAction) -> dict[str, object]:
    return {"keys": action.row_keys, "values": action.data}
