"""The outbox: planned actions committed with their entity's state, delivered afterwards, once.

An ``Outbox`` holds what delivery needs (the sender, the state store that keeps the entries, the
dedupe store that remembers what was delivered, and for how long); ``deliver(entries, ledger)``
sends what was never delivered, a chunk at a time, and books every outcome in the ledger.
``process_batch`` and the timer (``scheduled.py``) both deliver through it.

Keys in the dedupe store: ``event:<id>`` (an event already processed) and ``action:<key>`` (an action
already delivered); the ledger adds ``rejected:`` for messages already parked.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from shared.actions.errors import DestinationUnavailable
from shared.actions.models import DeliveryOutcome, DeliveryStatus, PlannedAction, action_from_json, action_to_json
from shared.actions.ports import ActionSender
from shared.pipeline.deps import BatchRetryRequired, PipelineDeps
from shared.pipeline.ledger import BatchLedger
from shared.store.models import OutboxEntry
from shared.store.ports import DedupeStore, StateStore

EVENT_KEY_PREFIX = "event:"
ACTION_KEY_PREFIX = "action:"


def outbox_entries(actions: Iterable[PlannedAction]) -> list[OutboxEntry]:
    return [OutboxEntry(entity=a.entity, key=a.key, action=action_to_json(a)) for a in actions]


@dataclass(frozen=True, slots=True)
class Outbox:
    """Delivery of committed outbox entries: not twice, and nothing lost when a destination is down."""

    sender: ActionSender
    states: StateStore
    dedupe: DedupeStore
    ttl_s: int
    chunk: int = 64

    @classmethod
    def of(cls, deps: PipelineDeps) -> Outbox:
        return cls(sender=deps.sender, states=deps.states, dedupe=deps.dedupe, ttl_s=deps.dedupe_ttl_s)

    async def deliver(self, entries: Sequence[OutboxEntry], ledger: BatchLedger) -> None:
        """Deliver entries not delivered before, a chunk at a time; remember and complete what settles.

        Raises ``BatchRetryRequired`` when the destination is down for everyone, after recording what
        did get through.
        """
        unique = list({e.key: e for e in entries}.values())
        if not unique:
            return
        done_before = await self.dedupe.seen(ACTION_KEY_PREFIX + e.key for e in unique)
        settled = [e for e in unique if ACTION_KEY_PREFIX + e.key in done_before]
        ledger.skipped_duplicate(len(settled))
        todo = [e for e in unique if ACTION_KEY_PREFIX + e.key not in done_before]
        await self.states.complete_outbox(settled)
        for start in range(0, len(todo), self.chunk):
            await self._deliver_chunk(todo[start : start + self.chunk], ledger)

    async def _deliver_chunk(self, entries: list[OutboxEntry], ledger: BatchLedger) -> None:
        """One chunk: delivered keys are recorded before the next chunk starts, so a crash re-sends at
        most the chunk in flight."""
        todo = {e.key: e for e in entries}
        failure: DestinationUnavailable | None = None
        try:
            outcomes = await self.sender.deliver([action_from_json(e.action) for e in entries])
        except DestinationUnavailable as exc:
            failure = exc
            outcomes = list(getattr(exc, "outcomes", ()))
        # When the destination is down for everyone, retryable failures stay in the outbox for the replay.
        settled = await self._record(outcomes, todo, ledger, keep_retryable=failure is not None)
        await self.states.complete_outbox(settled)
        if failure is not None:
            raise BatchRetryRequired(str(failure), retry_after=failure.retry_after) from failure

    async def _record(
        self,
        outcomes: Sequence[DeliveryOutcome],
        todo: dict[str, OutboxEntry],
        ledger: BatchLedger,
        *,
        keep_retryable: bool,
    ) -> list[OutboxEntry]:
        delivered = [o.action.key for o in outcomes if o.status is DeliveryStatus.DELIVERED]
        await self.dedupe.remember([ACTION_KEY_PREFIX + key for key in delivered], ttl_s=self.ttl_s)
        ledger.delivered(len(delivered))
        settled = [todo[key] for key in delivered if key in todo]
        for outcome in outcomes:
            if outcome.status is DeliveryStatus.FAILED and not (keep_retryable and outcome.retryable):
                ledger.delivery_failed(outcome)
                if outcome.action.key in todo:
                    settled.append(todo[outcome.action.key])
        return settled
