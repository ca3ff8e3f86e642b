"""Re-send action letters: actions whose delivery failed, rebuilt from the letter and delivered again.

A delivery failure's letter holds the planned action (kind, destination, contact key, data and what
its kind needs: event definition key, data extension and row keys, detail type) and its idempotency
key; it is re-sent to its destination: with ``--sfmc-url``, through the same router the pipeline
uses (Marketing Cloud with the ``SFMC_*`` credentials, ``SQUALL_WEBHOOKS``, ``SQUALL_EVENTBRIDGE``);
without it, to local receivers (the stub's journeys, rows and webhook receiver; moto's EventBridge
when installed). Each settled re-send gets its delivery-audit record (``shared/pipeline/audit.py``:
the INFO log record, and the store's ``deliveries`` row when replaying against a store).
Delivered: the letter is deleted. Failed again: a new letter (attempts added up)
replaces it. A destination down for everyone (``DestinationUnavailable``) deletes only the letters
whose actions were delivered, then raises.

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
from contextlib import AsyncExitStack, ExitStack, asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime

from pydantic import SecretStr

from shared.actions import ActionKind, DeliveryOutcome, DeliveryStatus, PlannedAction, action_from_json
from shared.actions.destinations import destination_catalog
from shared.actions.errors import DestinationUnavailable
from shared.actions.ports import ActionSender
from shared.actions.routing import open_action_sender
from shared.actions.sfmc import MarketingCloudConfig
from shared.pipeline.audit import DeliveryAudit
from shared.settings import Settings
from shared.store.deadletter_archive import DeadLetterArchive
from shared.store.models import DeadLetter
from shared.store.ports import DedupeStore, StateStore
from squall.commands.deadletter_models import ReplayOutcome, ReplayStatus
from squall.eventbridge_local import LocalEventBridge, moto_available
from squall.local_destinations import (
    MarketingCloudUrls,
    count_receipts,
    local_destination_settings,
    open_local_sender,
)
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
        contact_key = str(record["contact_key"])
        return action_from_json(
            {
                "entity": contact_key,
                "destination": "sfmc",
                **{name: value for name, value in record.items() if value is not None},
                "key": letter.action_key,
                "rule_id": letter.rule_id,
                "event_id": letter.event_id,
                "contact_key": contact_key,
                "data": record.get("data") or {},
            }
        )
    except (ValueError, KeyError, TypeError):
        return None


async def resend_action_letters(
    archive: DeadLetterArchive,
    letters: Sequence[DeadLetter],
    *,
    sfmc_url: MarketingCloudUrls | str | None,
    settings: Settings,
    dry_run: bool = False,
    dedupe: DedupeStore | None = None,
    states: StateStore | None = None,
) -> tuple[list[ReplayOutcome], int | None]:
    """Outcomes per letter (in order) and, when sent to the local stub, how many it received.

    ``dedupe`` is the store's de-duplication: keys already there are not re-sent, and delivered keys
    are remembered there before their letter is deleted. ``states`` keeps the audit records.
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
        names = [action for _, action in todo]
        async with action_deliverer(sfmc_url, settings, actions=names) as (deliverer, concurrency, receivers):
            settle = _Settlement(archive, dedupe, settings.dedupe_ttl_s, dry_run)
            settle.audit, settle.states = DeliveryAudit(settings.audit_entity), states
            await settle.send_each(deliverer, todo, concurrency)
            received = receivers.received() if receivers is not None else None
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
        self.audit = DeliveryAudit()
        self.states: StateStore | None = None  # where the audit records are kept, when replaying on a store

    async def send_each(
        self, deliverer: ActionSender, todo: Sequence[tuple[DeadLetter, PlannedAction]], concurrency: int
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
        await self.audit.write(self.states, self.audit.settled([outcome], at=datetime.now(UTC)))
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


class LocalReceivers:
    """The local stub (and moto's bus) a replay without ``--sfmc-url`` sends to."""

    def __init__(self, stub: MarketingCloudStub, bus: LocalEventBridge | None) -> None:
        self.stub, self.bus = stub, bus

    def received(self) -> int:
        return count_receipts(self.stub, self.bus).total


@asynccontextmanager
async def action_deliverer(
    sfmc_url: MarketingCloudUrls | str | None, settings: Settings, *, actions: Sequence[PlannedAction] = ()
) -> AsyncIterator[tuple[ActionSender, int, LocalReceivers | None]]:
    """The router to every destination: with ``sfmc_url``, Marketing Cloud there (SFMC_* credentials)
    and the configured webhooks and EventBridge buses; without, local receivers that accept every key —
    the stub, its webhook receiver for every webhook name (of ``actions`` and SQUALL_WEBHOOKS), and
    moto's bus for every EventBridge name when moto is installed. Also: the most requests in flight."""
    concurrency = MarketingCloudConfig.model_fields["max_concurrency"].default
    if sfmc_url is not None:
        urls = MarketingCloudUrls.of(sfmc_url)
        target = settings.model_copy(
            update={"sfmc_auth_base_url": urls.auth_base_url, "sfmc_rest_base_url": urls.rest_base_url}
        )
        async with open_action_sender(target) as router:
            yield router, concurrency, None
        return
    secret = secrets.token_urlsafe(24)  # a throwaway credential for the local stub only
    buses = sorted({a.destination for a in actions if a.kind is ActionKind.EVENTBRIDGE})
    webhooks = sorted({a.destination for a in actions if a.kind is ActionKind.WEBHOOK} | _configured_webhooks(settings))
    with ExitStack() as receivers:
        stub = receivers.enter_context(MarketingCloudStub(client_id=LOCAL_CLIENT_ID, client_secret=secret))
        bus = receivers.enter_context(LocalEventBridge()) if buses and moto_available() else None
        local = local_destination_settings(stub, webhooks, bus, buses)
        local_settings = settings.model_copy(
            update={
                "sfmc_auth_base_url": stub.auth_base_url, "sfmc_rest_base_url": stub.rest_base_url,
                "sfmc_client_id": LOCAL_CLIENT_ID, "sfmc_client_secret": SecretStr(secret),
                "webhooks": local.get("SQUALL_WEBHOOKS"), "eventbridge": local.get("SQUALL_EVENTBRIDGE"),
                "webhook_secrets": SecretStr(local["SQUALL_WEBHOOK_SECRETS"]) if webhooks else None,
            }
        )  # fmt: skip
        async with AsyncExitStack() as senders:
            yield await open_local_sender(local_settings, senders), concurrency, LocalReceivers(stub, bus)


def _configured_webhooks(settings: Settings) -> set[str]:
    try:
        names = destination_catalog(settings)[ActionKind.WEBHOOK.value]
    except ValueError:
        return set()
    return set(names or ())
