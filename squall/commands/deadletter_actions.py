"""Re-send action letters: actions whose delivery failed, rebuilt from the letter and delivered again.

A delivery failure's letter holds the planned action (kind, destination, contact key, event
definition key, data) and its idempotency key; it is re-sent through ``MarketingCloudDeliverer`` to
``--sfmc-url`` (credentials from the ``SFMC_*`` settings) or to a local stub. Delivered: the letter is
deleted. Failed again: a new letter (attempts added up) replaces it. A destination down for everyone
(``DestinationUnavailable``) deletes only the letters whose actions were delivered, then raises.

A planning failure's letter (no action key; its payload is the event) cannot be re-sent: it is kept.
"""

from __future__ import annotations

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
from squall.commands.deadletter_models import ReplayOutcome, ReplayStatus
from squall.local_runtime import LOCAL_CLIENT_ID
from squall.stub import MarketingCloudStub

PLANNING_FAILURE_KEPT = (
    "planning failed for rule {rule}, so there is no action to re-send; fix the rule, then replay the event"
)
UNREADABLE_ACTION_KEPT = "the payload is not a planned action (kind, contact_key), so it cannot be re-sent"


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
) -> tuple[list[ReplayOutcome], int | None]:
    """Outcomes per letter (in order) and, when sent to the local stub, how many it received."""
    actions = {letter.id: planned_action_of(letter) for letter in letters}
    sendable = [(letter, action) for letter in letters if (action := actions[letter.id]) is not None]
    outcomes: dict[str | None, ReplayOutcome] = {
        letter.id: _kept(letter) for letter in letters if actions[letter.id] is None
    }
    received: int | None = None
    if sendable:
        async with _deliverer(sfmc_url, settings) as (deliverer, stub):
            try:
                delivered = await deliverer.deliver([action for _, action in sendable])
            except DestinationUnavailable as down:
                if not dry_run:
                    await _settle(archive, sendable, [o for o in down.outcomes if _sent(o)])
                raise
            received = len(stub.received()) if stub is not None else None
        if not dry_run:
            await _settle(archive, sendable, delivered)
        outcomes.update(_outcomes(sendable, delivered))
    return [outcomes[letter.id] for letter in letters], received


async def _settle(
    archive: DeadLetterArchive,
    sendable: Sequence[tuple[DeadLetter, PlannedAction]],
    outcomes: Sequence[DeliveryOutcome],
) -> None:
    """Write a new letter for each action that failed again, then delete the replayed letters."""
    by_key = {outcome.action.key: outcome for outcome in outcomes}
    settled = [(letter, by_key[action.key]) for letter, action in sendable if action.key in by_key]
    await archive.write([_failed_again(letter, o) for letter, o in settled if not _sent(o)])
    for letter, _ in settled:
        assert letter.id is not None
        await archive.delete(letter.id)


def _outcomes(
    sendable: Sequence[tuple[DeadLetter, PlannedAction]], delivered: Sequence[DeliveryOutcome]
) -> dict[str | None, ReplayOutcome]:
    by_key = {outcome.action.key: outcome for outcome in delivered}
    result: dict[str | None, ReplayOutcome] = {}
    for letter, action in sendable:
        outcome = by_key[action.key]
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
async def _deliverer(
    sfmc_url: str | None, settings: Settings
) -> AsyncIterator[tuple[MarketingCloudDeliverer, MarketingCloudStub | None]]:
    """To ``sfmc_url`` with the SFMC_* credentials, or to a local stub that accepts every key."""
    if sfmc_url is not None:
        target = settings.model_copy(update={"sfmc_auth_base_url": sfmc_url, "sfmc_rest_base_url": sfmc_url})
        async with MarketingCloudDeliverer(MarketingCloudConfig.from_settings(target)) as deliverer:
            yield deliverer, None
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
            yield deliverer, stub
