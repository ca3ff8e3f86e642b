"""Re-send action letters: actions whose delivery failed, rebuilt from the letter and delivered again.

A delivery failure's letter holds the planned action (kind, destination, contact key, event
definition key, data) and its idempotency key; it is re-sent through ``MarketingCloudDeliverer`` to
``--sfmc-url`` (credentials from the ``SFMC_*`` settings) or to a local stub. Delivered: the letter is
deleted. Failed again: a new letter (attempts added up) replaces it. A destination down for everyone
(``DestinationUnavailable``) deletes only the letters whose actions were delivered, then raises.

A planning failure's letter (no action key; its payload is the event) cannot be re-sent: it is kept.

Each letter is settled as soon as its own request returns: the action is sent alone, at most
``max_concurrency`` (the deliverer's, ``MarketingCloudConfig``, 16 by default) at a time, and once
delivered its key is remembered in the store's de-duplication (``action:<key>``, as the pipeline's
outbox records it) and then its letter deleted. So a replay killed at any moment re-sends on its next
run at most the letters whose requests were in flight — never more than ``max_concurrency`` — and a
letter whose key is already remembered (delivered by an earlier replay or by the pipeline) is
deleted without being sent again.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace

from pydantic import SecretStr

from shared.actions import ActionKind, DeliveryOutcome, DeliveryStatus, PlannedAction
from shared.actions.errors import DestinationUnavailable
from shared.actions.sfmc import MarketingCloudConfig, MarketingCloudDeliverer
from shared.settings import Settings
from shared.store.deadletter_archive import DeadLetterArchive
from shared.store.models import DeadLetter
from shared.store.ports import DedupeStore
from squall.commands.deadletter_models import ReplayOutcome, ReplayStatus
from squall.local_runtime import LOCAL_CLIENT_ID
from squall.stub import MarketingCloudStub

PLANNING_FAILURE_KEPT = (
    "planning failed for rule {rule}, so there is no action to re-send; fix the rule, then replay the event"
)
UNREADABLE_ACTION_KEPT = "the payload is not a planned action (kind, contact_key), so it cannot be re-sent"
ALREADY_DELIVERED = "already delivered (its action key is remembered), not sent again"
#: The key the pipeline's outbox remembers a delivered action by (``shared/pipeline/outbox.py``).
ACTION_KEY_PREFIX = "action:"


def planned_action_of(letter: DeadLetter) -> PlannedAction | None:
    """The action a delivery-failure letter holds, or ``None`` for any other letter."""
    if letter.kind != "action" or not (letter.action_key and letter.rule_id and letter.event_id):
        return None
    try:
        record = json.loads(letter.payload)
        kind = ActionKind(record["kind"])
        contact_key = str(record["contact_key"])
    except (ValueError, KeyError, TypeError):
        return None
    return PlannedAction(
        key=letter.action_key,
        kind=kind,
        rule_id=letter.rule_id,
        event_id=letter.event_id,
        entity=contact_key,
        contact_key=contact_key,
        event_definition_key=record.get("event_definition_key"),
        data=record.get("data") or {},
        destination=record.get("destination") or "sfmc",
    )


async def resend_action_letters(
    archive: DeadLetterArchive,
    letters: Sequence[DeadLetter],
    *,
    sfmc_url: str | None,
    settings: Settings,
    dry_run: bool = False,
    dedupe: DedupeStore | None = None,
) -> tuple[list[ReplayOutcome], int | None]:
    """Outcomes per letter (in order) and, when sent to the local stub, how many it received.

    ``dedupe`` is the store's de-duplication: keys already there are not re-sent, and delivered keys
    are remembered there before their letter is deleted.
    """
    actions = {letter.id: planned_action_of(letter) for letter in letters}
    sendable = [(letter, action) for letter in letters if (action := actions[letter.id]) is not None]
    outcomes: dict[str | None, ReplayOutcome] = {
        letter.id: _kept(letter) for letter in letters if actions[letter.id] is None
    }
    received: int | None = None
    done = await dedupe.seen(ACTION_KEY_PREFIX + a.key for _, a in sendable) if dedupe and sendable else set()
    for letter, action in sendable:
        if ACTION_KEY_PREFIX + action.key in done:
            status, reasons = ReplayStatus.PROCESSED, (ALREADY_DELIVERED,)
            outcomes[letter.id] = ReplayOutcome(str(letter.id), letter.kind, status, reasons)
            if not dry_run:
                await archive.delete(_letter_id(letter))
    todo = [(letter, action) for letter, action in sendable if ACTION_KEY_PREFIX + action.key not in done]
    if todo:
        async with action_deliverer(sfmc_url, settings) as (deliverer, concurrency, stub):
            settle = _Settlement(archive, dedupe, settings.dedupe_ttl_s, dry_run)
            await settle.send_each(deliverer, todo, concurrency)
            received = len(stub.received()) if stub is not None else None
        outcomes.update(_outcomes(settle.settled))
        if settle.down is not None:
            raise settle.down
    return [outcomes[letter.id] for letter in letters], received


class _Settlement:
    """Send each letter's action alone, at most ``concurrency`` at a time; settle each as it returns."""

    def __init__(self, archive: DeadLetterArchive, dedupe: DedupeStore | None, ttl_s: int, dry_run: bool) -> None:
        self.archive, self.dedupe, self.ttl_s, self.dry_run = archive, dedupe, ttl_s, dry_run
        self.settled: list[tuple[DeadLetter, DeliveryOutcome]] = []
        self.down: DestinationUnavailable | None = None

    async def send_each(
        self, deliverer: MarketingCloudDeliverer, todo: Sequence[tuple[DeadLetter, PlannedAction]], concurrency: int
    ) -> None:
        slots = asyncio.Semaphore(concurrency)

        async def one(letter: DeadLetter, action: PlannedAction) -> None:
            async with slots:
                if self.down is not None:
                    return  # the destination is down for everyone: the letter stays for a later replay
                try:
                    (outcome,) = await deliverer.deliver([action])
                except DestinationUnavailable as down:
                    self.down = down
                    outcome = next(o for o in down.outcomes if o.action.key == action.key)
                    if not _sent(outcome):
                        return
                await self.settle(letter, outcome)

        await asyncio.gather(*(one(letter, action) for letter, action in todo))

    async def settle(self, letter: DeadLetter, outcome: DeliveryOutcome) -> None:
        """Delivered: remember the key, then delete the letter. Failed: the new letter, then the delete."""
        self.settled.append((letter, outcome))
        if self.dry_run:
            return
        if _sent(outcome):
            if self.dedupe is not None:
                await self.dedupe.remember([ACTION_KEY_PREFIX + outcome.action.key], ttl_s=self.ttl_s)
        else:
            await self.archive.write([_failed_again(letter, outcome)])
        await self.archive.delete(_letter_id(letter))


def _letter_id(letter: DeadLetter) -> str:
    if letter.id is None:
        raise ValueError("only stored dead letters (with an id) can be replayed")
    return letter.id


def _outcomes(settled: Sequence[tuple[DeadLetter, DeliveryOutcome]]) -> dict[str | None, ReplayOutcome]:
    result: dict[str | None, ReplayOutcome] = {}
    for letter, outcome in settled:
        status = ReplayStatus.PROCESSED if _sent(outcome) else ReplayStatus.DEAD_LETTERED_AGAIN
        reasons = () if _sent(outcome) else (outcome.reason or "delivery failed",)
        result[letter.id] = ReplayOutcome(str(letter.id), letter.kind, status, reasons)
    return result


def _failed_again(letter: DeadLetter, outcome: DeliveryOutcome) -> DeadLetter:
    return replace(
        letter,
        reason=outcome.reason or "delivery failed",
        attempts=letter.attempts + outcome.attempts,
        id=None,
        created_at=None,
    )


def _kept(letter: DeadLetter) -> ReplayOutcome:
    planning = PLANNING_FAILURE_KEPT.format(rule=letter.rule_id or "?")
    reason = UNREADABLE_ACTION_KEPT if letter.action_key else planning
    return ReplayOutcome(str(letter.id), letter.kind, ReplayStatus.KEPT, (reason,))


def _sent(outcome: DeliveryOutcome) -> bool:
    return outcome.status is DeliveryStatus.DELIVERED


@asynccontextmanager
async def action_deliverer(
    sfmc_url: str | None, settings: Settings
) -> AsyncIterator[tuple[MarketingCloudDeliverer, int, MarketingCloudStub | None]]:
    """To ``sfmc_url`` with the SFMC_* credentials, or to a local stub that accepts every key; with
    the deliverer's concurrency (the most requests in flight at once)."""
    if sfmc_url is not None:
        target = settings.model_copy(update={"sfmc_auth_base_url": sfmc_url, "sfmc_rest_base_url": sfmc_url})
        config = MarketingCloudConfig.from_settings(target)
        async with MarketingCloudDeliverer(config) as deliverer:
            yield deliverer, config.max_concurrency, None
        return
    secret = secrets.token_urlsafe(24)  # a throwaway credential for the local stub only
    with MarketingCloudStub(client_id=LOCAL_CLIENT_ID, client_secret=secret) as stub:
        config = MarketingCloudConfig(
            auth_base_url=stub.auth_base_url,
            rest_base_url=stub.rest_base_url,
            client_id=LOCAL_CLIENT_ID,
            client_secret=SecretStr(secret),
        )
        async with MarketingCloudDeliverer(config) as deliverer:
            yield deliverer, config.max_concurrency, stub
