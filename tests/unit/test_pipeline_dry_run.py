"""Dry run: events replayed through a rule set on a virtual clock; firings reported, nothing delivered."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.actions.planning import idempotency_key
from shared.pipeline.dry_run import DryRun, dry_run, longest_wait
from shared.rules import CompiledRuleSet, compile_ruleset, validate_rules

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def o365_record(
    record_id: str, *, user: str = "ada@contoso.com", minutes: int = 0, operation: str = "TeamsSessionStarted"
) -> bytes:
    """A raw O365 audit record as the Management Activity API sends it."""
    record = {
        "Id": record_id,
        "CreationTime": (T0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S"),
        "Workload": "MicrosoftTeams",
        "Operation": operation,
        "RecordType": 25,
        "UserId": user,
        "UserType": 0,
        "OrganizationId": "tenant-1",
    }
    return json.dumps(record).encode()


def rules(*raw: dict[str, Any], version: int = 3) -> CompiledRuleSet:
    checked = validate_rules(list(raw))
    assert checked.errors == [], checked.errors
    return compile_ruleset(checked.rules, version=version)


def teams_rule(rule_id: str = "teams-first", **fields: Any) -> dict[str, Any]:
    return {
        "id": rule_id,
        "when": {"source": "o365", "types": ["MicrosoftTeams/TeamsSessionStarted"]},
        "action": {"kind": "journey_entry", "event_definition_key": "APIEvent-teams", "contact_key": "c-{entity}"},
        **fields,
    }


def test_firings_carry_time_rule_entity_event_and_the_planned_keys() -> None:
    # GIVEN one rule and two events of two users
    ruleset = rules(teams_rule())
    # WHEN replayed
    report = dry_run(ruleset, [o365_record("e1"), o365_record("e2", user="bob@contoso.com", minutes=5)])
    # THEN each firing has the event time and the idempotency/contact keys plan_actions would use
    assert [firing.to_json() for firing in report.firings] == [
        {
            "time": "2024-05-01T08:00:00Z",
            "rule_id": "teams-first",
            "entity": "ada@contoso.com",
            "event_id": "e1",
            "action_key": idempotency_key("teams-first", "e1", "journey_entry", "sfmc"),
            "contact_key": "c-ada@contoso.com",
            "trigger": "event",
            "error": None,
            "kind": "journey_entry",
            "destination": "sfmc",
            "payload": {"ContactKey": "c-ada@contoso.com", "EventDefinitionKey": "APIEvent-teams", "Data": {}},
            "mode": "live",
        },
        {
            "time": "2024-05-01T08:05:00Z",
            "rule_id": "teams-first",
            "entity": "bob@contoso.com",
            "event_id": "e2",
            "action_key": idempotency_key("teams-first", "e2", "journey_entry", "sfmc"),
            "contact_key": "c-bob@contoso.com",
            "trigger": "event",
            "error": None,
            "kind": "journey_entry",
            "destination": "sfmc",
            "payload": {"ContactKey": "c-bob@contoso.com", "EventDefinitionKey": "APIEvent-teams", "Data": {}},
            "mode": "live",
        },
    ]
    assert (report.events, report.rejections, report.duplicates) == (2, [], 0)


def test_cooldown_state_is_kept_per_entity_in_event_time() -> None:
    # GIVEN a rule with a one-hour cool-down
    ruleset = rules(teams_rule(cooldown="PT1H"))
    # WHEN ada sends three events (0, 30, 61 minutes) and bob one (30 minutes)
    bodies = [
        o365_record("e1"),
        o365_record("e2", minutes=30),
        o365_record("e3", user="bob@contoso.com", minutes=30),
        o365_record("e4", minutes=61),
    ]
    report = dry_run(ruleset, bodies)
    # THEN ada fires at 0 and 61 (30 is inside the cool-down), bob fires on his own
    assert [(f.event_id, f.entity) for f in report.firings] == [
        ("e1", "ada@contoso.com"),
        ("e3", "bob@contoso.com"),
        ("e4", "ada@contoso.com"),
    ]


def test_duplicates_are_skipped_and_rejections_reported_with_their_line() -> None:
    ruleset = rules(teams_rule())
    report = dry_run(ruleset, [o365_record("e1"), b"{not json", b"", o365_record("e1"), b'{"a": 1}'])
    assert [f.event_id for f in report.firings] == ["e1"]
    assert report.duplicates == 1
    assert [(r.line, r.reason.split(":")[0]) for r in report.rejections] == [(2, "invalid JSON"), (5, "unknown format")]


def test_canonical_events_are_accepted_as_squall_normalize_prints_them() -> None:
    canonical = {
        "id": "c1",
        "source": "o365",
        "type": "MicrosoftTeams/TeamsSessionStarted",
        "time": "2024-05-01T08:00:00Z",
        "entity": "ada@contoso.com",
        "tenant": None,
        "attributes": {"workload": "MicrosoftTeams"},
    }
    report = dry_run(rules(teams_rule()), [json.dumps(canonical).encode()])
    assert [(f.event_id, f.time) for f in report.firings] == [("c1", T0)]


def test_an_action_that_cannot_be_planned_is_reported_with_the_reason_and_no_key() -> None:
    # GIVEN a rule whose contact key needs a field the event lacks
    rule = teams_rule(action={"kind": "journey_entry", "event_definition_key": "K", "contact_key": "{attributes.Nope}"})
    report = dry_run(rules(rule), [o365_record("e1")])
    (firing,) = report.firings
    assert (firing.action_key, firing.contact_key) == (None, None)
    assert firing.error == "action not planned: template field 'attributes.Nope' is missing or null"


def absence_rule(**fields: Any) -> dict[str, Any]:
    """A session started and no message sent within an hour: fired on time alone."""
    return {
        "id": "silent-after-session",
        "absence": {
            "after": {"types": ["MicrosoftTeams/TeamsSessionStarted"]},
            "missing": {"types": ["MicrosoftTeams/MessageSent"]},
            "within": "PT1H",
        },
        "action": {"kind": "journey_entry", "event_definition_key": "APIEvent-nudge"},
        **fields,
    }


def test_event_clock_fires_absence_deadlines_at_the_end_with_no_later_event() -> None:
    # GIVEN an absence rule and two users who each start a session and send nothing
    ruleset = rules(absence_rule())
    # WHEN replayed on the event clock
    report = dry_run(ruleset, [o365_record("e1"), o365_record("e2", user="bob@contoso.com", minutes=5)])
    # THEN both deadlines fire on the virtual clock, at their own time, for the events that armed them
    assert [(f.rule_id, f.entity, f.event_id, f.trigger, f.time) for f in report.firings] == [
        ("silent-after-session", "ada@contoso.com", "e1", "deadline", T0 + timedelta(hours=1)),
        ("silent-after-session", "bob@contoso.com", "e2", "deadline", T0 + timedelta(hours=1, minutes=5)),
    ]
    assert report.ended_at == T0 + timedelta(hours=1, minutes=5)  # last event + within
    assert report.firings[0].action_key == idempotency_key("silent-after-session", "e1", "journey_entry", "sfmc")


def test_allowed_lateness_extends_the_horizon_and_the_deadline() -> None:
    report = dry_run(rules(absence_rule(allowed_lateness="PT10M")), [o365_record("e1")])
    assert [f.time for f in report.firings] == [T0 + timedelta(hours=1)]  # fired_at: the deadline itself
    assert report.ended_at == T0 + timedelta(hours=1, minutes=10)


def test_a_missing_event_in_time_cancels_the_deadline() -> None:
    bodies = [o365_record("e1"), o365_record("e2", minutes=30, operation="MessageSent")]
    assert dry_run(rules(absence_rule()), bodies).firings == []


def test_deadlines_fire_before_a_later_event_of_another_entity() -> None:
    # GIVEN ada's deadline at 09:00 and bob's event at 10:00 which re-arms nothing for ada
    fired_before: list[int] = []
    run = DryRun(rules(absence_rule()), clock="event")
    run.feed(o365_record("e1"))
    run.feed(o365_record("e2", user="bob@contoso.com", minutes=120))
    fired_before.append(len(run.report.firings))
    # THEN ada's deadline fired when the clock reached bob's event, before the run finished
    assert fired_before == [1]
    assert run.report.firings[0].entity == "ada@contoso.com"
    assert [f.entity for f in run.finish().firings] == ["ada@contoso.com", "bob@contoso.com"]


def test_wall_clock_fires_only_what_is_due_by_now() -> None:
    early = dry_run(rules(absence_rule()), [o365_record("e1")], clock="wall", wall_clock=lambda: T0)
    late_now = datetime(2030, 1, 1, tzinfo=UTC)
    late = dry_run(rules(absence_rule()), [o365_record("e1")], clock="wall", wall_clock=lambda: late_now)
    assert early.firings == [] and early.ended_at == T0
    assert [(f.event_id, f.time) for f in late.firings] == [("e1", T0 + timedelta(hours=1))]


def test_longest_wait_counts_absences_only() -> None:
    definitions = validate_rules([teams_rule(cooldown="P30D"), absence_rule(allowed_lateness="PT5M")]).rules
    assert longest_wait(definitions) == timedelta(hours=1, minutes=5)
    assert longest_wait(definitions[:1]) == timedelta(0)
