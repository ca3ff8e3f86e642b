"""Replay dead letters: event letters go through the real pipeline again.

By default against the store the letters belong to (its rule set, entity state and de-duplication:
``deadletter_store_replay.py``); with ``--rules DIR``, via the local runtime on a fresh store, as
below. Action letters are re-sent by ``squall/commands/deadletter_actions.py``.

With ``--rules DIR``, each event letter becomes one RawEvent with its original provenance (partition, sequence number,
offset, enqueued time) and is run as its own batch by ``squall.local_runtime.run_local``, so every
letter's outcome is known. A letter is deleted only after its event was processed: normalized now,
or dead-lettered again — then the new letters (attempts counted on) are written first and kept.
Whatever raises before that (invalid rules, store or destination down) deletes nothing.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from shared.events.models import RawEvent
from shared.pipeline.report import BatchReport
from shared.settings import Settings
from shared.store.deadletter_archive import DeadLetterArchive
from shared.store.models import DeadLetter
from shared.store.ports import Store
from shared.store.sqlite import SqliteStore
from squall.commands.deadletter_actions import action_deliverer, resend_action_letters
from squall.commands.deadletter_models import ReplayOutcome, ReplayResult, ReplayStatus
from squall.commands.deadletter_store_replay import replay_events_in_store
from squall.local_destinations import MarketingCloudUrls
from squall.local_runtime import run_local

#: Letters replayed per local run; progress is committed (new letters written, old deleted) per chunk.
CHUNK = 100


async def replay_letters(
    archive: DeadLetterArchive,
    letters: Sequence[DeadLetter],
    *,
    rules_dir: Path | None,
    sfmc_url: MarketingCloudUrls | str | None,
    settings: Settings,
    dry_run: bool = False,
    store: Store | None = None,
    store_name: str = "the store",
) -> ReplayResult:
    """Replay ``letters`` (stored, with ids) from ``archive``; ``dry_run`` changes no letter.

    Event letters go through the pipeline: against ``store`` (its rules and state) when
    ``rules_dir`` is ``None``, else on a fresh store with the rules of ``rules_dir``. Action letters
    are re-sent (``deadletter_actions``), checked against and recorded in ``store``'s de-duplication.
    """
    if dry_run and sfmc_url is not None:
        raise ValueError("a dry run sends to the local stub only; leave out sfmc_url")
    if rules_dir is None and store is None:
        raise ValueError("replaying against the store needs the store; or give rules_dir")
    result = ReplayResult()
    events = [letter for letter in letters if letter.kind == "event"]
    actions = [letter for letter in letters if letter.kind != "event"]
    if actions:
        outcomes, received = await resend_action_letters(
            archive, actions, sfmc_url=sfmc_url, settings=settings, dry_run=dry_run,
            dedupe=store.dedupe if store is not None else None, states=store.states if store is not None else None,
        )  # fmt: skip
        result.outcomes.extend(outcomes)
        result.add_stub_received(received)
    if events and store is not None and rules_dir is None:
        async with action_deliverer(sfmc_url, settings) as (deliverer, _, stub):
            result.outcomes.extend(
                await replay_events_in_store(
                    archive, events, store=store, store_name=store_name, sender=deliverer, settings=settings,
                    result=result, dry_run=dry_run,
                )
            )  # fmt: skip
            result.add_stub_received(stub.received() if stub is not None else None)
    elif events and rules_dir is not None:
        with tempfile.TemporaryDirectory(prefix="squall-replay-") as workdir:
            replay_db = Path(workdir) / "replay.db"
            for start in range(0, len(events), CHUNK):
                chunk = events[start : start + CHUNK]
                outcomes = await _replay_chunk(
                    archive, chunk, replay_db, result, rules_dir, sfmc_url, settings, dry_run
                )
                result.outcomes.extend(outcomes)
    order = {_id(letter): index for index, letter in enumerate(letters)}
    result.outcomes.sort(key=lambda outcome: order[outcome.letter_id])
    return result


async def _replay_chunk(
    archive: DeadLetterArchive,
    chunk: Sequence[DeadLetter],
    replay_db: Path,
    result: ReplayResult,
    rules_dir: Path,
    sfmc_url: MarketingCloudUrls | str | None,
    settings: Settings,
    dry_run: bool,
) -> list[ReplayOutcome]:
    reports: list[BatchReport] = []
    run = await run_local(
        ([raw_event_of(letter)] for letter in chunk),
        rules_dir=rules_dir,
        sfmc_url=sfmc_url,
        settings=settings,
        store_path=replay_db,
        push_rules=True,
        on_batch=reports.append,
    )
    result.report += run.report
    result.add_stub_received(run.stub_received)
    produced = await _take_new_letters(replay_db)
    per_letter = _attribute(chunk, reports, produced)
    outcomes: list[ReplayOutcome] = []
    for letter, new_letters in zip(chunk, per_letter, strict=True):
        status = ReplayStatus.DEAD_LETTERED_AGAIN if new_letters else ReplayStatus.PROCESSED
        reasons = tuple(new.reason for new in new_letters)
        outcomes.append(ReplayOutcome(_id(letter), letter.kind, status, reasons))
    if not dry_run:
        await archive.write([new for new_letters in per_letter for new in new_letters])
        for letter in chunk:
            await archive.delete(_id(letter))
    return outcomes


def raw_event_of(letter: DeadLetter) -> RawEvent:
    """The event letter as the hub delivered it: the original bytes and provenance."""
    return RawEvent(
        body=letter.payload,
        partition=letter.partition,
        sequence_number=letter.sequence_number,
        offset=letter.offset,
        enqueued_time=letter.enqueued_time,
    )


async def _take_new_letters(replay_db: Path) -> list[DeadLetter]:
    """The letters the replay run wrote (oldest first), removed from its store for the next chunk."""
    store = SqliteStore(replay_db)
    try:
        letters = await store.deadletters.list(limit=1_000_000)
        for letter in letters:
            await store.deadletters.delete(_id(letter))
    finally:
        await store.close()
    return letters


def _attribute(
    chunk: Sequence[DeadLetter], reports: Sequence[BatchReport], produced: list[DeadLetter]
) -> list[list[DeadLetter]]:
    """Which new letters each replayed letter caused: its batch wrote as many as it counted reasons.

    Event letters that come back get the old letter's attempts plus one.
    """
    counts = [sum(report.dead_letter_reasons.values()) for report in reports]
    if len(counts) != len(chunk) or sum(counts) != len(produced):
        raise RuntimeError(f"replay produced {len(produced)} dead letters but the batch reports count {sum(counts)}")
    attributed: list[list[DeadLetter]] = []
    position = 0
    for letter, count in zip(chunk, counts, strict=True):
        mine = produced[position : position + count]
        position += count
        attributed.append([_carry_over(letter, new) for new in mine])
    return attributed


def _carry_over(old: DeadLetter, new: DeadLetter) -> DeadLetter:
    attempts = old.attempts + 1 if new.kind == "event" else new.attempts
    return replace(new, attempts=attempts, id=None, created_at=None)


def _id(letter: DeadLetter) -> str:
    if letter.id is None:
        raise ValueError("only stored dead letters (with an id) can be replayed")
    return letter.id
