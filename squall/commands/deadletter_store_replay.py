"""Replay event letters against the store they came from: its stored rule set, entity state and de-duplication.

This is the default of ``squall deadletter replay`` (``--rules DIR`` runs a fresh store instead, see
``deadletter_replay.py``). Because the entity state is the store's, a contact in cool-down is not
re-entered, and windows and sequences continue where they are.

Each letter is its own batch through ``process_batch``, whose actions are then delivered from the
letter's own outbox document, and is settled before the next starts: its new letters (if it is
dead-lettered again) are written, then it is deleted. Re-running a replay that was killed is safe:

- the event carries a partition of its own (``deadletter:<letter id>``, sequence 0), so the
  per-entity replay guard applies it to the state at most once, and its outbox document
  (``deadletter:<letter id>:0``) merges by action key: a rerun delivers what the first attempt
  planned and did not deliver, and nothing it did;
- ``rejected:`` keys are never seen, so a rejection is always parked;
- the new letters it produces are kept in memory until the letter settles (a rejection is never
  skipped as "parked before"), so none is lost: a kill between writing them and deleting the old
  letter leaves at most one extra copy.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from shared.actions.errors import DeliveryError
from shared.actions.ports import ActionSender
from shared.events.models import RawEvent
from shared.pipeline import BatchReport, BatchRetryRequired, EventTimePolicy, PipelineDeps, process_batch
from shared.pipeline.audit import DeliveryAudit
from shared.pipeline.batch import batch_name
from shared.pipeline.ledger import BatchLedger
from shared.pipeline.outbox import Outbox
from shared.rules import RuleSetCache
from shared.settings import Settings
from shared.store.deadletter_archive import DeadLetterArchive
from shared.store.errors import RuleSetNotFound, StoreError
from shared.store.models import DeadLetter
from shared.store.ports import DedupeStore, Store
from shared.wiring import normalize_options_from
from squall.commands.deadletter_models import ReplayOutcome, ReplayResult, ReplayStatus

REJECTED_KEY_PREFIX = "rejected:"
EVENT_KEY_PREFIX = "event:"


class LetterScopedDedupe:
    """The store's de-duplication as one letter's replay sees it.

    ``action:`` keys are shared with the pipeline (delivered once, whoever delivered it); ``event:``
    keys are scoped to the letter; ``rejected:`` keys are never seen, so a rejection is always parked.
    """

    def __init__(self, dedupe: DedupeStore, letter_id: str) -> None:
        self._dedupe = dedupe
        self._scope = f"replay:{letter_id}:"

    def _scoped(self, keys: Iterable[str]) -> dict[str, str]:
        mapped: dict[str, str] = {}
        for key in keys:
            if key.startswith(REJECTED_KEY_PREFIX):
                continue
            mapped[self._scope + key if key.startswith(EVENT_KEY_PREFIX) else key] = key
        return mapped

    async def seen(self, keys: Iterable[str]) -> set[str]:
        mapped = self._scoped(keys)
        return {mapped[key] for key in await self._dedupe.seen(mapped)} if mapped else set()

    async def remember(self, keys: Iterable[str], *, ttl_s: int) -> None:
        mapped = self._scoped(keys)
        if mapped:
            await self._dedupe.remember(list(mapped), ttl_s=ttl_s)


class CollectedLetters:
    """The dead-letter sink of a replay: letters are held until their old letter settles."""

    def __init__(self) -> None:
        self.letters: list[DeadLetter] = []

    async def write(self, letters: Sequence[DeadLetter]) -> None:
        self.letters.extend(letters)

    def take(self) -> list[DeadLetter]:
        taken, self.letters = self.letters, []
        return taken


async def replay_events_in_store(
    archive: DeadLetterArchive,
    letters: Sequence[DeadLetter],
    *,
    store: Store,
    store_name: str,
    sender: ActionSender,
    settings: Settings,
    result: ReplayResult,
    dry_run: bool,
) -> list[ReplayOutcome]:
    """Replay event letters one by one against ``store``; each settles before the next starts."""
    await _require_ruleset(store, settings.ruleset, store_name)
    sink = CollectedLetters()
    rules = RuleSetCache(store.rules, settings.ruleset)
    outcomes: list[ReplayOutcome] = []
    for letter in letters:
        letter_id = _id(letter)
        deps = PipelineDeps(
            rules=rules, states=store.states, dedupe=LetterScopedDedupe(store.dedupe, letter_id),
            deadletters=sink, sender=sender, normalize_options=normalize_options_from(settings),
            dedupe_ttl_s=settings.dedupe_ttl_s,
            event_time=EventTimePolicy(max_skew=settings.max_clock_skew, max_age=settings.max_event_age),
            audit=DeliveryAudit(settings.audit_entity),
        )  # fmt: skip
        raw = _raw_event_of(letter)
        try:
            report = await process_batch([raw], deps)
            report += await _deliver_planned(deps, batch_name([raw], []))
        except BatchRetryRequired as down:
            raise DeliveryError(
                f"{down}; letter {letter_id} and the ones after it are kept: replay them again later"
            ) from down
        result.report += report
        new_letters = [_carry_over(letter, new) for new in sink.take()]
        status = ReplayStatus.DEAD_LETTERED_AGAIN if new_letters else ReplayStatus.PROCESSED
        outcomes.append(ReplayOutcome(letter_id, letter.kind, status, tuple(new.reason for new in new_letters)))
        if not dry_run:
            await archive.write(new_letters)
            await archive.delete(letter_id)
    return outcomes


async def _deliver_planned(deps: PipelineDeps, batch: str) -> BatchReport:
    """Deliver what the letter's batch planned (now, or in a killed earlier replay of it)."""
    ledger = BatchLedger()
    entries = await deps.states.pending_outbox(limit=10_000, batch=batch)
    await Outbox.of(deps).deliver(entries, ledger)
    return ledger.report


async def _require_ruleset(store: Store, name: str, store_name: str) -> None:
    try:
        await store.rules.load_ruleset(name)
    except RuleSetNotFound as missing:
        raise StoreError(
            f"no rule set {name!r} is stored in {store_name} (SQUALL_RULESET): push one with "
            f"`squall rules push DIR --store {store_name}`, or replay with the rules of a folder: --rules DIR"
        ) from missing


def _raw_event_of(letter: DeadLetter) -> RawEvent:
    """The letter's bytes with a partition of its own, so the state's replay guard applies it once."""
    return RawEvent(
        body=letter.payload,
        partition=f"deadletter:{_id(letter)}",
        sequence_number=0,
        offset=letter.offset,
        enqueued_time=letter.enqueued_time,
    )


def _carry_over(old: DeadLetter, new: DeadLetter) -> DeadLetter:
    """A letter produced by the replay keeps the old letter's provenance; an event letter counts an attempt."""
    attempts = old.attempts + 1 if new.kind == "event" else new.attempts
    if new.kind != "event":
        return replace(new, attempts=attempts, id=None, created_at=None)
    return replace(
        new, attempts=attempts, id=None, created_at=None,
        partition=old.partition, sequence_number=old.sequence_number, offset=old.offset,
    )  # fmt: skip


def _id(letter: DeadLetter) -> str:
    if letter.id is None:
        raise ValueError("only stored dead letters (with an id) can be replayed")
    return letter.id
