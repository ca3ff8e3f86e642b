"""process_batch: counts add up, bad input is dead-lettered, duplicates and replays are skipped."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from shared.events import NormalizeOptions
from shared.events.models import RawEvent
from shared.pipeline import BatchRetryRequired, PipelineDeps, process_batch, retry_pending_outbox
from shared.rules import compile_ruleset, validate_rules
from shared.store.sqlite import SqliteStore
from tests.fakes import DownAfterSender, FixedRuleSource, RecordingSender

RULES = [
    {
        "id": "copilot-first-use",
        "when": {"source": "o365", "types": ["Copilot/CopilotInteraction"]},
        "cooldown": "30d",
        "action": {
            "kind": "journey_entry",
            "event_definition_key": "APIEvent-copilot",
            "contact_key": "{entity}",
        },
    },
    {
        "id": "any-teams",
        "when": {"types": ["MicrosoftTeams/*"]},
        "action": {
            "kind": "journey_entry",
            "event_definition_key": "APIEvent-teams",
            "contact_key": "{entity}",
        },
    },
]


def record(record_id: str, user: str, workload: str, operation: str, minute: int = 0) -> bytes:
    return json.dumps(
        {
            "CreationTime": f"2026-11-20T10:{minute:02d}:00",
            "Id": record_id,
            "Operation": operation,
            "OrganizationId": "tenant-1",
            "RecordType": 261,
            "ResultStatus": "Succeeded",
            "UserKey": "k",
            "UserType": 0,
            "Workload": workload,
            "UserId": user,
        }
    ).encode()


def raw(body: bytes, sequence: int = 0) -> RawEvent:
    return RawEvent(body=body, partition="1", sequence_number=sequence)


@pytest.fixture
def store() -> Iterator[SqliteStore]:
    db = SqliteStore(":memory:")
    yield db
    asyncio.run(db.close())


def deps_for(store: SqliteStore, sender: RecordingSender) -> PipelineDeps:
    ruleset = compile_ruleset(validate_rules(RULES).rules, version=1)
    return PipelineDeps(
        rules=FixedRuleSource(ruleset),
        states=store.states,
        dedupe=store.dedupe,
        deadletters=store.deadletters,
        sender=sender,
    )


def test_counts_add_up_and_bad_input_is_dead_lettered_with_provenance(store: SqliteStore) -> None:
    # GIVEN a batch of good records, invalid JSON, a record without Id and an oversized body
    sender = RecordingSender()
    batch = [
        raw(record("a", "u1", "Copilot", "CopilotInteraction"), 0),
        raw(b"{not json", 1),
        raw(
            json.dumps({"Workload": "Exchange", "Operation": "Send", "CreationTime": "2026-11-20T10:00:00"}).encode(),
            2,
        ),
        raw(b"[" + b" " * (1024 * 1024 + 10) + b"]", 3),
        raw(record("b", "u2", "MicrosoftTeams", "TeamsSessionStarted"), 4),
    ]
    # WHEN the batch is processed
    report = asyncio.run(process_batch(batch, deps_for(store, sender)))
    # THEN every event is either normalized or dead-lettered, and the good ones matched
    assert report.events_in == 5
    assert report.events_normalized == 2
    assert report.events_dead_lettered == 3
    assert report.events_in == report.events_normalized + report.events_dead_lettered
    assert sorted(a.rule_id for a in sender.sent) == ["any-teams", "copilot-first-use"]
    letters = asyncio.run(store.deadletters.list())
    assert sorted(letter.sequence_number for letter in letters) == [1, 2, 3]
    assert all(letter.partition == "1" and letter.reason for letter in letters)


def test_cooldown_state_is_written_once_per_entity_and_suppresses_repeat(store: SqliteStore) -> None:
    # GIVEN one user's three Copilot interactions within the 30-day cool-down
    sender = RecordingSender()
    batch = [raw(record(f"c{i}", "u1", "Copilot", "CopilotInteraction", minute=i), i) for i in range(3)]
    # WHEN processed
    report = asyncio.run(process_batch(batch, deps_for(store, sender)))
    # THEN the journey is entered once, the state read and written once for that one entity
    assert [a.contact_key for a in sender.sent] == ["u1"]
    assert (report.state_reads, report.state_writes) == (1, 1)
    # AND a later batch for the same user is still inside the cool-down
    asyncio.run(
        process_batch([raw(record("c9", "u1", "Copilot", "CopilotInteraction", minute=30), 9)], deps_for(store, sender))
    )
    assert len(sender.sent) == 1


def test_stateless_events_do_not_touch_entity_state(store: SqliteStore) -> None:
    sender = RecordingSender()
    report = asyncio.run(
        process_batch([raw(record("t", "u1", "MicrosoftTeams", "TeamCreated"))], deps_for(store, sender))
    )
    assert report.rule_matches == 1
    assert (report.state_reads, report.state_writes) == (0, 0)


def test_duplicate_event_ids_are_processed_once_within_and_across_batches(store: SqliteStore) -> None:
    # GIVEN the same record twice in a batch, then again in a replayed batch
    sender = RecordingSender()
    deps = deps_for(store, sender)
    first = asyncio.run(
        process_batch(
            [
                raw(record("d", "u1", "MicrosoftTeams", "TeamCreated")),
                raw(record("d", "u1", "MicrosoftTeams", "TeamCreated")),
            ],
            deps,
        )
    )
    again = asyncio.run(process_batch([raw(record("d", "u1", "MicrosoftTeams", "TeamCreated"))], deps))
    # THEN it is acted on once
    assert len(sender.sent) == 1
    assert (first.events_duplicate, again.events_duplicate) == (1, 1)


def test_failed_delivery_is_dead_lettered_with_reason(store: SqliteStore) -> None:
    sender = RecordingSender(fail_rules=frozenset({"any-teams"}))
    report = asyncio.run(
        process_batch([raw(record("f", "u1", "MicrosoftTeams", "TeamCreated"))], deps_for(store, sender))
    )
    assert (report.actions_planned, report.actions_failed, report.actions_dead_lettered) == (1, 1, 1)
    [letter] = asyncio.run(store.deadletters.list())
    assert (letter.kind, letter.rule_id, letter.reason) == ("action", "any-teams", "permanent: 400 test")


def test_message_property_and_batch_option_override_the_configured_format(store: SqliteStore) -> None:
    # GIVEN plain-JSON bodies with a field map configured: one message marked squall-format=json
    sender = RecordingSender()
    body = json.dumps({"eventId": "p-1", "name": "MicrosoftTeams/TeamCreated", "ts": 1763632800, "user": "u9"})
    deps = deps_for(store, sender)
    deps = PipelineDeps(
        rules=deps.rules, states=deps.states, dedupe=deps.dedupe, deadletters=deps.deadletters, sender=sender,
        normalize_options=NormalizeOptions(
            json_field_map={"id": "eventId", "type": "name", "time": "ts", "entity": "user"}
        ),
    )  # fmt: skip
    forced = RawEvent(body=body.encode(), partition="1", sequence_number=1, properties={"squall-format": "json"})
    plain = RawEvent(body=body.replace("p-1", "p-2").encode(), partition="1", sequence_number=2)
    # WHEN the batch is processed with the configured format (auto)  THEN both normalize
    assert asyncio.run(process_batch([forced, plain], deps)).events_normalized == 2
    # WHEN the batch is forced to o365  THEN the unmarked message is rejected, the marked one still
    # normalizes: the message's own property wins over the batch option
    forced_o365 = asyncio.run(process_batch([plain, forced], deps, source="o365"))
    assert (forced_o365.events_normalized, forced_o365.events_dead_lettered) == (1, 1)


def test_destination_down_for_everyone_raises_for_a_replay_that_sends_only_the_rest(store: SqliteStore) -> None:
    # GIVEN ten matching events and a destination that goes down after three deliveries
    batch = [raw(record(f"dn{i}", f"u{i}", "MicrosoftTeams", "TeamCreated"), i) for i in range(10)]
    down = DownAfterSender(up_for=3)
    # WHEN the batch is processed
    with pytest.raises(BatchRetryRequired) as raised:
        asyncio.run(process_batch(batch, deps_for(store, down)))
    # THEN the host is told to replay it, with the destination's hint and this attempt's counts
    assert raised.value.retry_after == 30
    assert raised.value.report is not None and raised.value.report.actions_delivered == 3
    assert asyncio.run(store.deadletters.list()) == []  # nothing parked: it can still succeed
    # WHEN the host replays the batch once the destination is back, and the timer runs
    sender = RecordingSender()
    replay = asyncio.run(process_batch(batch, deps_for(store, sender)))
    later = datetime.now(UTC) + timedelta(minutes=5)
    retried = asyncio.run(retry_pending_outbox(deps_for(store, sender), now=later))
    # THEN the replay applies nothing twice, the timer sends only the seven undelivered actions, and
    # the outbox is empty
    assert (replay.events_duplicate, replay.actions_delivered) == (10, 0)
    assert sorted(a.contact_key for a in sender.sent) == [f"u{i}" for i in range(3, 10)]
    assert (retried.actions_recovered, retried.actions_delivered) == (7, 7)
    assert asyncio.run(store.states.pending_outbox()) == []


def test_a_replayed_batch_parks_its_rejected_messages_once(store: SqliteStore) -> None:
    # GIVEN a batch with one malformed message, processed, then replayed by the host
    batch = [raw(b"{not json", 1), raw(record("ok", "u1", "MicrosoftTeams", "TeamCreated"), 2)]
    deps = deps_for(store, RecordingSender())
    first = asyncio.run(process_batch(batch, deps))
    again = asyncio.run(process_batch(batch, deps))
    # THEN both attempts count the rejection, and the dead-letter store holds it once
    assert (first.events_dead_lettered, again.events_dead_lettered) == (1, 1)
    assert [letter.sequence_number for letter in asyncio.run(store.deadletters.list())] == [1]


def test_a_replayed_batch_leaves_the_outbox_to_the_timer(store: SqliteStore) -> None:
    # GIVEN a batch whose events were processed before, an action its earlier attempt left in the
    # outbox, and an entry of the same event that the timer committed a moment ago (a deadline fired
    # for it) and is delivering right now
    from shared.actions.models import ActionKind, PlannedAction
    from shared.pipeline.outbox import EVENT_KEY_PREFIX, outbox_entries

    def entry(key: str) -> PlannedAction:
        return PlannedAction(key=key, kind=ActionKind.JOURNEY_ENTRY, rule_id="r", event_id="t1", entity="u1",
                             contact_key="u1", event_definition_key="APIEvent-teams")  # fmt: skip

    sender = RecordingSender()
    batch = [raw(record("t1", "u1", "MicrosoftTeams", "TeamsSessionStarted"), 0)]
    asyncio.run(store.dedupe.remember([EVENT_KEY_PREFIX + "t1"], ttl_s=3600))
    asyncio.run(store.states.save_states([], outbox=outbox_entries([entry("left"), entry("timer-is-sending-it")])))
    # WHEN the batch is replayed
    report = asyncio.run(process_batch(batch, deps_for(store, sender)))
    # THEN it sends nothing: no entry can have two deliverers at once
    assert sender.sent == [] and report.invariant_problems() == []
    # AND the timer, the entries' one deliverer after its grace, delivers both once
    later = datetime.now(UTC) + timedelta(minutes=5)
    retried = asyncio.run(retry_pending_outbox(deps_for(store, sender), now=later))
    assert sorted(a.key for a in sender.sent) == ["left", "timer-is-sending-it"]
    assert (retried.actions_recovered, retried.actions_delivered) == (2, 2)
