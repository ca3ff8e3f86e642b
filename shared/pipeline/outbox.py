"""The outbox relay: what the batches planned, delivered beside ingestion, once.

``process_batch`` only writes the outbox (one document per batch). Delivery reads it: in Azure the
Cosmos DB change feed of the outbox container (``functions/outbox_relay.py``) hands new documents
to ``relay_outbox``, and the timer (``scheduled.retry_pending_outbox``) takes whatever is older
than its grace; locally a relay task does both. ``Outbox.deliver(entries, ledger)`` sends entries
a chunk at a time: each request's entries are marked in flight (``sending_at``, one write per
outbox document) just before it goes out and settled (tombstoned in their document) the moment it
ends, so a crash leaves exactly the requests in flight unsettled — the next deliverer finds them
marked and counts them uncertain. Each settled action (delivered, or failed for good) gets its
delivery-audit record (``audit.py``) as its request settles: the request's records in one write.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.actions.errors import DestinationUnavailable
from shared.actions.models import DeliveryOutcome, DeliveryStatus, PlannedAction, action_from_json, action_to_json
from shared.actions.ports import ActionSender
from shared.pipeline.audit import DeliveryAudit
from shared.pipeline.deps import BatchRetryRequired, PipelineDeps
from shared.pipeline.ledger import BatchLedger
from shared.store.models import OutboxEntry
from shared.store.ports import StateStore


def outbox_entries(actions: Iterable[PlannedAction], *, batch: str = "") -> list[OutboxEntry]:
    return [OutboxEntry(entity=a.entity, key=a.key, action=action_to_json(a), batch=batch) for a in actions]


@dataclass(frozen=True, slots=True)
class Outbox:
    """Delivery of outbox entries: not twice, and nothing lost when a destination is down."""

    sender: ActionSender
    states: StateStore
    chunk: int = 500  # actions per call to the sender: it groups them into requests (async journeys by 100)
    audit: DeliveryAudit = DeliveryAudit()

    @classmethod
    def of(cls, deps: PipelineDeps) -> Outbox:
        return cls(sender=deps.sender, states=deps.states, audit=deps.audit)

    async def deliver(
        self, entries: Sequence[OutboxEntry], ledger: BatchLedger, *, uncertain_before: datetime | None = None
    ) -> None:
        """Deliver these entries (read from the outbox), a chunk at a time, settling each request as
        it ends. Every entry counts as recovered (taken from the outbox), and as uncertain when an
        earlier deliverer had marked it in flight (before ``uncertain_before``, when given). Raises
        ``BatchRetryRequired`` when the destination is down for everyone, after recording what did
        get through; what was not delivered stays in the outbox (counted pending)."""
        unique = list({(e.doc, e.key): e for e in entries}.values())
        marked = [e.sending_at for e in unique if e.sending_at is not None]
        uncertain = sum(uncertain_before is None or at < uncertain_before for at in marked)
        ledger.recovered(len(entries), uncertain=uncertain)
        ledger.skipped_duplicate(len(entries) - len(unique))
        for start in range(0, len(unique), self.chunk):
            chunk = unique[start : start + self.chunk]
            try:
                await self._deliver_chunk(chunk, ledger)
            except BatchRetryRequired:
                ledger.pending(len(unique) - start - len(chunk))  # the chunks never tried
                raise

    async def _deliver_chunk(self, entries: list[OutboxEntry], ledger: BatchLedger) -> None:
        todo = {e.key: e for e in entries}
        done: set[str] = set()

        async def sending(actions: Sequence[PlannedAction]) -> None:
            marked = [todo[a.key] for a in actions if a.key in todo]
            await self.states.mark_sending(marked, at=datetime.now(UTC))

        async def settle(outcomes: Sequence[DeliveryOutcome], *, keep_retryable: bool = True) -> None:
            fresh = [o for o in outcomes if o.action.key in todo and o.action.key not in done]
            finished = self._record(fresh, todo, ledger, keep_retryable=keep_retryable)
            done.update(entry.key for entry in finished)
            ended = {entry.key for entry in finished}
            settled = [o for o in fresh if o.action.key in ended]
            await self.audit.write(self.states, self.audit.settled(settled, at=datetime.now(UTC)))
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
        # for everyone, the entry stays in the outbox for a later delivery.
        await settle(outcomes, keep_retryable=failure is not None)
        ledger.pending(len(todo) - len(done))
        if failure is not None:
            raise BatchRetryRequired(str(failure), retry_after=failure.retry_after) from failure

    @staticmethod
    def _record(
        outcomes: Sequence[DeliveryOutcome],
        todo: dict[str, OutboxEntry],
        ledger: BatchLedger,
        *,
        keep_retryable: bool,
    ) -> list[OutboxEntry]:
        """Book the outcomes; the entries they finish (delivered, or failed for good)."""
        delivered = [o.action.key for o in outcomes if o.status is DeliveryStatus.DELIVERED]
        ledger.delivered(len(delivered))
        finished = [todo[key] for key in delivered]
        for outcome in outcomes:
            if outcome.status is DeliveryStatus.FAILED and not (keep_retryable and outcome.retryable):
                ledger.delivery_failed(outcome)
                finished.append(todo[outcome.action.key])
        return finished
