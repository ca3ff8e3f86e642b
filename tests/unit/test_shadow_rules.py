"""Shadow rules (``mode: shadow``): evaluated with their own state, counted, recorded in the delivery
audit with ``outcome=shadow`` — and never planned or sent, at no store request per event."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.events.models import RawEvent
from shared.pipeline import BatchReport, PipelineDeps, fire_due_deadlines, process_batch, retry_pending_outbox
from shared.pipeline.dry_run import dry_run
from shared.rules import compile_ruleset, validate_rules
from shared.store import AuditOutcome, DeliveryQuery
from shared.store.sqlite import SqliteStore
from tests.fakes import FixedRuleSource, RecordingSender

JOURNEY = {"kind": "journey_entry", "event_definition_key": "APIEvent-signin-help", "contact_key": "{entity}"}
FAILED = {"types": ["AzureActiveDirectory/UserLoginFailed"]}


def burst(rule_id: str, threshold: int, **extra: Any) -> dict[str, Any]:
    """Failed sign-ins counted in a 30-minute sliding window: fires at ``threshold``."""
    window = {"aggregate": "count", "size": "PT30M", "kind": "sliding", "op": "ge", "value": threshold}
    return {"id": rule_id, "when": FAILED, "window": window, "rearm": True, "action": JOURNEY, **extra}


def failed_sign_in(record_id: str, user: str, minute: int) -> bytes:
    return json.dumps(
        {
            "CreationTime": f"2026-11-20T10:{minute:02d}:00", "Id": record_id, "Operation": "UserLoginFailed",
            "OrganizationId": "tenant-1", "RecordType": 15, "ResultStatus": "Failed", "UserKey": "k",
            "UserType": 0, "Workload": "AzureActiveDirectory", "UserId": user,
        }
    ).encode()  # fmt: skip


def deps_for(
    store: SqliteStore, rules: list[dict[str, Any]], sender: RecordingSender, states: Any = None
) -> PipelineDeps:
    return PipelineDeps(
        rules=FixedRuleSource(compile_ruleset(validate_rules(rules).rules, version=1)),
        states=states or store.states, dedupe=store.dedupe, deadletters=store.deadletters, sender=sender,
    )  # fmt: skip


def process_and_relay(deps: PipelineDeps, bodies: list[bytes]) -> tuple[BatchReport, BatchReport]:
    batch = [RawEvent(body=body, partition="0", sequence_number=i) for i, body in enumerate(bodies)]

    async def scenario() -> tuple[BatchReport, BatchReport]:
        report = await process_batch(batch, deps)
        return report, await retry_pending_outbox(deps, now=datetime.now(UTC), grace=timedelta(0))

    return asyncio.run(scenario())


def test_a_shadow_rule_is_counted_and_recorded_but_never_planned_or_sent(
    store: SqliteStore, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN the live burst rule (three failures) and its shadow variant (two failures)
    rules = [burst("burst", 3), burst("pair", 2, mode="shadow")]
    sender = RecordingSender()
    caplog.set_level(logging.INFO, logger="shared.audit")
    # WHEN alice fails to sign in three times
    report, delivered = process_and_relay(
        deps_for(store, rules, sender), [failed_sign_in(f"f{m}", "alice@contoso.example", m) for m in (0, 5, 10)]
    )
    # THEN the shadow rule fired at the second failure and the live rule at the third: both counted
    assert report.matches_by_rule == {"pair": 1, "burst": 1}
    assert report.shadow_matches_by_rule == {"pair": 1}
    assert (report.rule_matches, report.actions_planned, report.actions_shadowed) == (2, 1, 1)
    assert report.invariant_problems() == []
    # AND only the live rule's action was planned and sent
    assert [action.rule_id for action in sender.sent] == ["burst"]
    assert delivered.actions_delivered == 1
    # AND the shadow rule's would-be action is in the audit with outcome shadow, and logged at INFO
    outcomes = {(r.rule_id, r.outcome, r.event_id, r.attempts) for r in store.deliveries.find(DeliveryQuery())}
    assert outcomes == {("pair", AuditOutcome.SHADOW, "f5", 0), ("burst", AuditOutcome.DELIVERED, "f10", 1)}
    shadow_logs = [r for r in caplog.records if getattr(r, "outcome", None) == "shadow"]
    assert [(r.levelno, r.rule_id) for r in shadow_logs] == [(logging.INFO, "pair")]  # type: ignore[attr-defined]


def test_a_shadow_rule_keeps_its_own_state_beside_the_live_rule(store: SqliteStore) -> None:
    # GIVEN the two windows WHEN two failures are processed
    process_and_relay(
        deps_for(store, [burst("burst", 3), burst("pair", 2, mode="shadow")], RecordingSender()),
        [failed_sign_in(f"f{m}", "alice@contoso.example", m) for m in (0, 5)],
    )
    # THEN the entity's state holds one window per rule id, each with both failures
    state = asyncio.run(store.states.load_states(["alice@contoso.example"]))["alice@contoso.example"]
    assert set(state.data["rules"]) == {"burst", "pair"}


def test_stop_after_match_of_a_shadow_rule_stops_no_live_rule(store: SqliteStore) -> None:
    # GIVEN a shadow rule of higher priority with stop_after_match, and a live rule below it
    rules = [
        {"id": "shadow-first", "mode": "shadow", "priority": 10, "stop_after_match": True, "when": FAILED,
         "action": JOURNEY},
        {"id": "live-second", "when": FAILED, "action": JOURNEY},
    ]  # fmt: skip
    sender = RecordingSender()
    # WHEN an event matches both
    report, _ = process_and_relay(deps_for(store, rules, sender), [failed_sign_in("f0", "bob@contoso.example", 0)])
    # THEN both fired, and the live rule's action was sent
    assert report.matches_by_rule == {"shadow-first": 1, "live-second": 1}
    assert [action.rule_id for action in sender.sent] == ["live-second"]


def test_shadow_firings_of_a_batch_cost_one_store_write_and_no_outbox(store: SqliteStore) -> None:
    # GIVEN a stateless shadow rule and a store that counts every call of its state port
    calls: list[str] = []

    class Counting:
        def __getattr__(self, name: str) -> object:
            calls.append(name)
            return getattr(store.states, name)

    rules = [{"id": "every-failure", "mode": "shadow", "when": FAILED, "action": JOURNEY}]
    deps = deps_for(store, rules, RecordingSender(), states=Counting())
    # WHEN 100 users' failures, all matching, are processed
    batch = [RawEvent(body=failed_sign_in(f"f{i}", f"user-{i}@x.example", 0), partition="0", sequence_number=i)
             for i in range(100)]  # fmt: skip
    report = asyncio.run(process_batch(batch, deps))
    # THEN the 100 shadow firings were recorded with one store request, and nothing went to the outbox
    assert (report.actions_shadowed, report.actions_planned) == (100, 0)
    assert calls == ["record_deliveries"]
    assert len(store.deliveries.find(DeliveryQuery(limit=500))) == 100
    assert asyncio.run(store.states.pending_outbox()) == []


def test_a_shadow_absence_rule_fired_by_the_timer_is_recorded_not_planned(store: SqliteStore) -> None:
    # GIVEN a shadow absence rule: a failed sign-in and no successful one within 10 minutes
    rule = {
        "id": "no-recovery", "mode": "shadow", "action": JOURNEY,
        "absence": {"after": FAILED, "missing": {"types": ["AzureActiveDirectory/UserLoggedIn"]}, "within": "PT10M"},
    }  # fmt: skip
    deps = deps_for(store, [rule], RecordingSender())
    asyncio.run(process_batch([RawEvent(body=failed_sign_in("f0", "dan@x.example", 0), partition="0")], deps))
    # WHEN the timer runs after the deadline
    report = asyncio.run(fire_due_deadlines(deps, now=datetime(2026, 11, 20, 11, 0, tzinfo=UTC)))
    # THEN the deadline fired as a shadow firing: recorded, nothing in the outbox
    assert (report.rule_matches, report.actions_shadowed, report.actions_planned) == (1, 1, 0)
    [record] = store.deliveries.find(DeliveryQuery())
    assert (record.rule_id, record.outcome) == ("no-recovery", AuditOutcome.SHADOW)
    assert asyncio.run(store.states.pending_outbox()) == []


def test_the_dry_run_marks_shadow_firings() -> None:
    # GIVEN the live and shadow burst rules WHEN three failures are replayed
    ruleset = compile_ruleset(validate_rules([burst("burst", 3), burst("pair", 2, mode="shadow")]).rules)
    report = dry_run(ruleset, [failed_sign_in(f"f{m}", "eve@x.example", m) for m in (0, 5, 10)])
    # THEN each firing says its rule's mode
    assert [(f.rule_id, f.mode) for f in report.firings] == [("pair", "shadow"), ("burst", "live")]
    assert report.firings[0].to_json()["mode"] == "shadow"


def test_mode_is_live_or_shadow() -> None:
    checked = validate_rules([burst("burst", 3, mode="dark")])
    assert [(e.rule_id, e.path) for e in checked.errors] == [("burst", "$.mode")]
    assert validate_rules([burst("burst", 3)]).rules[0].mode == "live"
