"""The outbox: planned actions committed with their entity's state, delivered afterwards, once.

An ``Outbox`` holds what delivery needs (the sender, the state store that keeps the entries, the
dedupe store that remembers what was delivered, and for how long); ``deliver(entries, ledger)``
sends what was never delivered, a chunk at a time, and books every outcome in the ledger.
``process_batch`` and the timer (``scheduled.py``) both deliver through it.

Keys in the dedupe store: ``event:<id>`` (an event already processed), ``sending:<key>`` (an action
whose request went out: it may have been delivered) and ``action:<key>`` (an action delivered); the
ledger adds ``rejected:`` for messages already parked.
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
#: Marks an action whose request may be in flight; delivered or failed, ``action:`` or nothing follows.
SENDING_KEY_PREFIX = "sending:"


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
        """Deliver entries not delivered before, a chunk at a time, settling each request as it ends.

        Entries read back from the store (``created_at`` set) are an earlier attempt's: they count
        as recovered, and as uncertain when that attempt had them in flight. Raises
        ``BatchRetryRequired`` when the destination is down for everyone, after recording what did
        get through; what was not delivered stays in the outbox (counted pending).
        """
        unique = list({e.key: e for e in entries}.values())
        if not unique:
            return
        recovered = [e for e in unique if e.created_at is not None]
        seen = await self.dedupe.seen(
            [ACTION_KEY_PREFIX + e.key for e in unique] + [SENDING_KEY_PREFIX + e.key for e in recovered]
        )
        done_before = [e for e in unique if ACTION_KEY_PREFIX + e.key in seen]
        in_flight = sum(SENDING_KEY_PREFIX + e.key in seen and ACTION_KEY_PREFIX + e.key not in seen for e in recovered)
        ledger.recovered(sum(e.created_at is not None for e in entries), uncertain=in_flight)
        ledger.skipped_duplicate(len(entries) - len(unique) + len(done_before))
        await self.states.complete_outbox(done_before)
        todo = [e for e in unique if ACTION_KEY_PREFIX + e.key not in seen]
        for start in range(0, len(todo), self.chunk):
            chunk = todo[start : start + self.chunk]
            try:
                await self._deliver_chunk(chunk, ledger)
            except BatchRetryRequired:
                ledger.pending(len(todo) - start - len(chunk))  # the chunks never tried
                raise

    async def _deliver_chunk(self, entries: list[OutboxEntry], ledger: BatchLedger) -> None:
        """One chunk. Each request's actions are marked in flight (``sending:``) just before it goes
        out and settled the moment it ends (delivered key remembered, entry completed), so a crash
        leaves exactly the requests in flight unsettled — and the next attempt knows them and counts
        them uncertain."""
        todo = {e.key: e for e in entries}
        done: set[str] = set()

        async def sending(actions: Sequence[PlannedAction]) -> None:
            await self.dedupe.remember([SENDING_KEY_PREFIX + a.key for a in actions], ttl_s=self.ttl_s)

        async def settle(outcomes: Sequence[DeliveryOutcome], *, keep_retryable: bool = True) -> None:
            fresh = [o for o in outcomes if o.action.key in todo and o.action.key not in done]
            finished = await self._record(fresh, todo, ledger, keep_retryable=keep_retryable)
            done.update(entry.key for entry in finished)
            await self.states.complete_outbox(finished)

        failure: DestinationUnavailable | None = None
        try:
            outcomes = await self.sender.deliver(
                [action_from_json(e.action) for e in entries], on_sending=sending, on_settled=settle
            )
        except DestinationUnavailable as exc:
            failure = exc
            outcomes = list(getattr(exc, "outcomes", ()))
        # A retryable failure is final only when the destination is up for others; when it is down
        # for everyone, the entry stays in the outbox for the replay.
        await settle(outcomes, keep_retryable=failure is not None)
        ledger.pending(len(todo) - len(done))
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
        """Book the outcomes; the entries they finish (delivered, or failed for good)."""
        delivered = [o.action.key for o in outcomes if o.status is DeliveryStatus.DELIVERED]
        if delivered:
            await self.dedupe.remember([ACTION_KEY_PREFIX + key for key in delivered], ttl_s=self.ttl_s)
            ledger.delivered(len(delivered))
        finished = [todo[key] for key in delivered]
        for outcome in outcomes:
            if outcome.status is DeliveryStatus.FAILED and not (keep_retryable and outcome.retryable):
                ledger.delivery_failed(outcome)
                finished.append(todo[outcome.action.key])
        return finished
