"""process_batch: counts add up, bad input is dead-lettered, duplicates and replays are skipped; the
batch only plans (the outbox), and the relay (``relay``: the timer's retry with no grace, as the
local runtime runs it) delivers."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from shared.events import NormalizeOptions
from shared.events.models import RawEvent
from shared.pipeline import BatchReport, BatchRetryRequired, PipelineDeps, process_batch, retry_pending_outbox
from shared.rules import compile_ruleset, validate_rules
from shared.store.sqlite import SqliteStore
from tests.fakes import DownAfterSender, FixedRuleSource, RecordingSender, counting_store_calls

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


def deps_for(store: SqliteStore, sender: RecordingSender) -> PipelineDeps:
    ruleset = compile_ruleset(validate_rules(RULES).rules, version=1)
    return PipelineDeps(
        rules=FixedRuleSource(ruleset),
        states=store.states,
        dedupe=store.dedupe,
        deadletters=store.deadletters,
        sender=sender,
    )


def relay(store: SqliteStore, sender: RecordingSender | DownAfterSender) -> BatchReport:
    """What the outbox relay does beside ingestion: deliver everything pending."""
    return asyncio.run(retry_pending_outbox(deps_for(store, sender), now=datetime.now(UTC), grace=timedelta(0)))


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
    # WHEN the batch is processed, and the relay delivers what it planned
    report = asyncio.run(process_batch(batch, deps_for(store, sender)))
    assert sender.sent == []  # ingestion never waits on a destination
    relay(store, sender)
    # THEN every event is either normalized or dead-lettered, and the good ones matched
    assert report.events_in == 5
    assert report.events_normalized == 2
    assert report.events_dead_lettered == 3
    assert report.events_in == report.events_normalized + report.events_dead_lettered
    assert sorted(a.rule_id for a in sender.sent) == ["any-teams", "copilot-first-use"]
    letters = asyncio.run(store.deadletters.list())
    assert sorted(letter.sequence_number for letter in letters) == [1, 2, 3]
    assert all(letter.partition == "1" and letter.reason for letter in letters)
    assert [letter.entity for letter in letters] == [None, None, None]  # refused records name no entity


def test_cooldown_state_is_written_once_per_entity_and_suppresses_repeat(store: SqliteStore) -> None:
    # GIVEN one user's three Copilot interactions within the 30-day cool-down
    sender = RecordingSender()
    batch = [raw(record(f"c{i}", "u1", "Copilot", "CopilotInteraction", minute=i), i) for i in range(3)]
    # WHEN processed
    report = asyncio.run(process_batch(batch, deps_for(store, sender)))
    relay(store, sender)
    # THEN the journey is entered once, the state read and written once for that one entity
    assert [a.contact_key for a in sender.sent] == ["u1"]
    assert (report.state_reads, report.state_writes) == (1, 1)
    # AND a later batch for the same user is still inside the cool-down
    asyncio.run(
        process_batch([raw(record("c9", "u1", "Copilot", "CopilotInteraction", minute=30), 9)], deps_for(store, sender))
    )
    relay(store, sender)
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
    relay(store, sender)
    # THEN it is acted on once
    assert len(sender.sent) == 1
    assert (first.events_duplicate, again.events_duplicate) == (1, 1)


def test_a_batch_replayed_by_another_process_plans_nothing_twice(store: SqliteStore) -> None:
    # GIVEN a batch processed and delivered by one process (which then died)
    sender = RecordingSender()
    batch = [raw(record(f"r{i}", f"u{i}", "MicrosoftTeams", "TeamCreated"), i) for i in range(3)]
    batch.append(raw(record("rc", "u0", "Copilot", "CopilotInteraction"), 3))
    asyncio.run(process_batch(batch, deps_for(store, sender)))
    relay(store, sender)
    # WHEN another process (no memory of recent ids) gets the same batch from the checkpoint
    replay = asyncio.run(process_batch(batch, deps_for(store, sender)))
    later = relay(store, sender)
    # THEN its actions merge into the batch's outbox document: nothing is pending, nothing sent again
    # (u0's events were applied to its state: skipped; u1's and u2's are planned again, same keys)
    assert replay.actions_planned == 2
    assert later.actions_recovered == 0
    assert sorted(a.contact_key for a in sender.sent) == ["u0", "u0", "u1", "u2"]


def test_a_batch_that_matches_nothing_makes_no_store_request(store: SqliteStore) -> None:
    # GIVEN a store that counts every call of its ports
    calls: list[str] = []
    deps = deps_for(store, RecordingSender())
    counted = counting_store_calls(deps, calls)
    # WHEN a batch of events that no rule takes is processed
    batch = [raw(record(f"x{i}", f"u{i}", "Exchange", "MailItemsAccessed"), i) for i in range(100)]
    report = asyncio.run(process_batch(batch, counted))
    # THEN nothing was read or written: cost follows matches, not events
    assert (report.events_normalized, report.rule_matches) == (100, 0)
    assert calls == []


def test_failed_delivery_is_dead_lettered_with_reason(store: SqliteStore) -> None:
    sender = RecordingSender(fail_rules=frozenset({"any-teams"}))
    planned = asyncio.run(
        process_batch([raw(record("f", "u1", "MicrosoftTeams", "TeamCreated"))], deps_for(store, sender))
    )
    report = relay(store, sender)
    assert planned.actions_planned == 1
    assert (report.actions_failed, report.actions_dead_lettered) == (1, 1)
    assert asyncio.run(store.states.pending_outbox()) == []
    [letter] = asyncio.run(store.deadletters.list())
    assert (letter.kind, letter.rule_id, letter.reason) == ("action", "any-teams", "permanent: 400 test")
    assert letter.entity == "u1"  # what `squall state delete u1` finds it by


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


def test_a_destination_down_never_stops_ingestion_and_the_relay_sends_only_the_rest(store: SqliteStore) -> None:
    # GIVEN ten matching events and a destination that goes down after three deliveries
    batch = [raw(record(f"dn{i}", f"u{i}", "MicrosoftTeams", "TeamCreated"), i) for i in range(10)]
    down = DownAfterSender(up_for=3)
    # WHEN the batch is processed  THEN ingestion completes: the actions wait in the outbox
    planned = asyncio.run(process_batch(batch, deps_for(store, down)))
    assert (planned.actions_planned, planned.actions_pending) == (10, 10)
    # WHEN the relay delivers while the destination goes down
    with pytest.raises(BatchRetryRequired) as raised:
        relay(store, down)
    # THEN it stops with the destination's hint and its counts, nothing parked
    assert raised.value.retry_after == 30
    assert raised.value.report is not None and raised.value.report.actions_delivered == 3
    assert asyncio.run(store.deadletters.list()) == []
    assert asyncio.run(store.states.outbox_backlog())[0] == 7
    # WHEN the destination is back and the relay runs again
    sender = RecordingSender()
    retried = relay(store, sender)
    # THEN only the seven undelivered actions are sent, and the outbox is empty
    assert len(sender.sent) == 7
    assert sorted(a.contact_key for a in down.sent + sender.sent) == sorted(f"u{i}" for i in range(10))
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


def test_the_timer_leaves_young_entries_and_marks_in_flight_to_their_deliverer(store: SqliteStore) -> None:
    # GIVEN two planned actions: one just planned, one a deliverer marked in flight a moment ago
    sender = RecordingSender()
    batch = [raw(record(f"t{i}", f"u{i}", "MicrosoftTeams", "TeamCreated"), i) for i in range(2)]
    asyncio.run(process_batch(batch, deps_for(store, sender)))
    [first, second] = asyncio.run(store.states.pending_outbox())
    asyncio.run(store.states.mark_sending([second], at=datetime.now(UTC) + timedelta(minutes=4)))
    # WHEN the timer runs within the grace of the mark  THEN it takes only the unmarked entry
    later = datetime.now(UTC) + timedelta(minutes=5)
    report = asyncio.run(retry_pending_outbox(deps_for(store, sender), now=later))
    assert [a.key for a in sender.sent] == [first.key]
    assert report.actions_uncertain == 0
    # WHEN it runs after the mark's grace  THEN it takes the marked one too, counted uncertain
    report = asyncio.run(retry_pending_outbox(deps_for(store, sender), now=later + timedelta(minutes=5)))
    assert [a.key for a in sender.sent] == [first.key, second.key]
    assert (report.actions_recovered, report.actions_uncertain) == (1, 1)


def test_an_action_that_cannot_be_planned_is_parked_naming_its_entity(store: SqliteStore) -> None:
    # GIVEN a rule whose action needs a field the event lacks
    rule = {**RULES[1], "id": "needs-field",
            "action": {**RULES[1]["action"], "data": {"Missing": "{attributes.Nope}"}}}  # type: ignore[dict-item]
    deps = deps_for(store, RecordingSender())
    deps = PipelineDeps(rules=FixedRuleSource(compile_ruleset(validate_rules([rule]).rules, version=1)),
                        states=deps.states, dedupe=deps.dedupe, deadletters=deps.deadletters, sender=deps.sender)
    # WHEN u7's event matches it
    asyncio.run(process_batch([raw(record("t1", "u7", "MicrosoftTeams", "TeamCreated"))], deps))
    # THEN the event is parked as an action letter that names u7 (`squall state delete u7` finds it)
    [letter] = asyncio.run(store.deadletters.list())
    assert (letter.kind, letter.rule_id, letter.entity) == ("action", "needs-field", "u7")
