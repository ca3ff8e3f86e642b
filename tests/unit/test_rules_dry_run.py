"""Dry run: events replayed through a rule set on a virtual clock; firings reported, nothing delivered."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.actions.planning import idempotency_key
from shared.events.models import Event
from shared.rules import CompiledRuleSet, RuleMatch, compile_ruleset, validate_rules
from shared.rules.dry_run import DryRun, dry_run
from shared.rules.templates import format_datetime
from shared.store.models import EntityState

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
            "action_key": idempotency_key("teams-first", 3, "e1", "journey_entry"),
            "contact_key": "c-ada@contoso.com",
            "trigger": "event",
            "error": None,
        },
        {
            "time": "2024-05-01T08:05:00Z",
            "rule_id": "teams-first",
            "entity": "bob@contoso.com",
            "event_id": "e2",
            "action_key": idempotency_key("teams-first", 3, "e2", "journey_entry"),
            "contact_key": "c-bob@contoso.com",
            "trigger": "event",
            "error": None,
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


class AbsenceFake:
    """A rule set with ``fire_due``: every event arms a deadline one hour later (a stand-in for an
    absence rule); ``fire_due`` fires the armed deadlines that are due and records each call."""

    def __init__(self, ruleset: CompiledRuleSet) -> None:
        self.inner = ruleset
        self.rules = ruleset.rules
        self.calls: list[tuple[str, datetime]] = []

    def evaluate(self, event: Event, state: EntityState | None) -> list[RuleMatch]:
        assert state is not None
        state.data.setdefault("armed", []).append([format_datetime(event.time + timedelta(hours=1)), event])
        return self.inner.evaluate(event, state)

    def fire_due(self, state: EntityState, now: datetime) -> list[RuleMatch]:
        self.calls.append((state.entity, now))
        due = [item for item in state.data.get("armed", []) if item[0] <= format_datetime(now)]
        state.data["armed"] = [item for item in state.data.get("armed", []) if item not in due]
        return [RuleMatch("absent", 3, event, self.inner.rules[0].action, event.entity) for _, event in due]


def test_event_clock_fires_due_deadlines_before_a_later_event() -> None:
    # GIVEN a rule set whose deadlines fall one hour after each event
    fake = AbsenceFake(rules(teams_rule(condition={"field": "attributes.workload", "op": "eq", "value": "none"})))
    # WHEN ada's second event arrives 90 minutes after her first
    run = DryRun(fake, clock="event")  # type: ignore[arg-type]
    run.feed(o365_record("e1"))
    run.feed(o365_record("e2", minutes=90))
    report = run.finish()
    # THEN the first deadline fired on the virtual clock (at the event time), the second is still pending
    assert [(f.rule_id, f.event_id, f.trigger, f.time) for f in report.firings] == [
        ("absent", "e1", "deadline", T0 + timedelta(minutes=90))
    ]
    assert fake.calls[-1][1] == T0 + timedelta(minutes=90)  # end of horizon: last event time + longest wait (0)
    assert report.deadlines_supported is True


def test_wall_clock_fires_everything_due_by_now_at_the_end() -> None:
    fake = AbsenceFake(rules(teams_rule(condition={"field": "attributes.workload", "op": "eq", "value": "none"})))
    wall = datetime(2030, 1, 1, tzinfo=UTC)
    report = dry_run(fake, [o365_record("e1"), o365_record("e2", minutes=5)], clock="wall", wall_clock=lambda: wall)  # type: ignore[arg-type]
    assert [(f.event_id, f.time) for f in report.firings] == [("e1", wall), ("e2", wall)]
    assert report.ended_at == wall


def test_rule_set_without_fire_due_still_runs_and_says_so() -> None:
    report = dry_run(rules(teams_rule()), [o365_record("e1")])
    if not hasattr(CompiledRuleSet, "fire_due"):
        assert report.deadlines_supported is False
    assert len(report.firings) == 1
