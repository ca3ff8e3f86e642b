"""Journey entry in batches: ``POST {rest_base}/interaction/v1/async/events``, up to 100 contacts.

Request ``{"eventDefinitionKey", "members": [{"contactKey", "data"}]}``; the answer lists the
members in request order, each with an ``eventInstanceId`` (queued) or an ``errorcode`` and
``message`` (not queued). Each member's result is mapped back to its action. A request-level
failure (retries exhausted, 4xx) fails every member of the request with the same reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.actions.models import DeliveryOutcome, DeliveryStatus, FailureKind, PlannedAction
from shared.actions.outcomes import failed, logged, outcome_from
from shared.actions.retrying import AttemptResult, Retrier, Settlement
from shared.actions.sfmc.requests import MarketingCloudRequests, joined_keys, json_body

ASYNC_EVENTS_PATH = "/interaction/v1/async/events"
MAX_MEMBERS = 100
_WHAT = "async journey entry"


class MarketingCloudAsyncJourneyClient:
    """Enters up to 100 contacts per request into the journeys of one event definition key."""

    def __init__(self, requests: MarketingCloudRequests, *, rest_base_url: str, retrier: Retrier) -> None:
        self._requests = requests
        self._url = f"{rest_base_url.rstrip('/')}{ASYNC_EVENTS_PATH}"
        self._retrier = retrier

    async def enter_batch(self, actions: Sequence[PlannedAction]) -> list[DeliveryOutcome]:
        """One request for ``actions`` (same event definition key, at most 100); one outcome each."""
        if len(actions) > MAX_MEMBERS:
            raise ValueError(f"an async journey batch holds at most {MAX_MEMBERS} members")
        outcomes: dict[int, DeliveryOutcome] = {}
        members: list[tuple[int, PlannedAction, dict[str, Any]]] = []
        for index, action in enumerate(actions):
            member = {"contactKey": action.contact_key, "data": action.data}
            try:
                json_body(member)
            except (TypeError, ValueError) as exc:
                reason = f"Data is not JSON: {exc}"
                outcomes[index] = failed(action, FailureKind.UNSUPPORTED, reason, attempts=0, what=_WHAT)
                continue
            members.append((index, action, member))
        if members:
            sent = [action for _, action, _ in members]
            body = json_body({"eventDefinitionKey": sent[0].event_definition_key, "members": [m for *_, m in members]})
            results = await self._send(sent, body)
            outcomes.update({index: result for (index, _, _), result in zip(members, results, strict=True)})
        return [outcomes[index] for index in range(len(actions))]

    async def _send(self, actions: list[PlannedAction], body: bytes) -> list[DeliveryOutcome]:
        keys = joined_keys([action.key for action in actions])

        async def attempt() -> AttemptResult:
            return await self._requests.post(self._url, body, idempotency_key=keys)

        label = f"async journey batch of {len(actions)} (first action {actions[0].key})"
        settlement = await self._retrier.settle(attempt, label=label)
        if not settlement.delivered:
            return [outcome_from(action, settlement, what=_WHAT) for action in actions]
        return member_outcomes(actions, settlement)


def member_outcomes(actions: list[PlannedAction], settlement: Settlement) -> list[DeliveryOutcome]:
    """Map the answer's ``members`` (same order as sent) back to the actions."""
    payload = settlement.payload if isinstance(settlement.payload, dict) else {}
    members = payload.get("members")
    request_id = payload.get("requestId")
    if not isinstance(members, list) or len(members) != len(actions):
        return _unlisted_members(actions, settlement, payload)
    outcomes = []
    for action, member in zip(actions, members, strict=True):
        member = member if isinstance(member, dict) else {}
        if member.get("errorcode") is not None or member.get("eventInstanceId") is None:
            reason = (
                f"async batch {request_id} did not queue the contact: "
                f"errorcode {member.get('errorcode')}: {member.get('message') or 'no message'}"
            )
            outcomes.append(failed(action, FailureKind.PERMANENT, reason, attempts=settlement.attempts, what=_WHAT))
        else:
            delivered = DeliveryOutcome(
                action,
                DeliveryStatus.DELIVERED,
                settlement.attempts,
                response_id=str(member["eventInstanceId"]),
            )
            outcomes.append(logged(delivered, what=_WHAT))
    return outcomes


def _unlisted_members(
    actions: list[PlannedAction], settlement: Settlement, payload: dict[str, Any]
) -> list[DeliveryOutcome]:
    """Accepted, but the answer does not list the members: trust ``notQueuedCount`` when it is 0.

    Otherwise we cannot tell which contacts were queued; resending could enter some twice, so the
    actions fail permanently (dead-lettered for a person to check with the request id).
    """
    if payload.get("notQueuedCount") == 0:
        return [logged(DeliveryOutcome(a, DeliveryStatus.DELIVERED, settlement.attempts), what=_WHAT) for a in actions]
    reason = (
        f"async batch {payload.get('requestId')} was accepted but its answer does not say which "
        f"contacts were queued (notQueuedCount={payload.get('notQueuedCount')})"
    )
    return [failed(a, FailureKind.PERMANENT, reason, attempts=settlement.attempts, what=_WHAT) for a in actions]
