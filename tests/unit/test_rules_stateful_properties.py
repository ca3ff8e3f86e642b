"""Properties of stateful rules: random definitions never crash validation or compilation; random
event sequences (out of order included) never crash evaluate or fire_due; the state stays JSON and
bounded."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.events.models import Event
from shared.rules import compile_ruleset, validate_rules
from shared.store.models import EntityState
from tests.unit.rule_scenarios import ACTION, T0

TYPES = ["A/a", "B/b", "C/c"]
DURATIONS = ["PT1S", "PT1M", "PT10M", "PT1H", "P1D", "P400D", "0s", "soon", 5]
GOOD_DURATIONS = ["PT1M", "PT10M", "PT1H", "P1D"]
durations = st.one_of(st.sampled_from(GOOD_DURATIONS), st.sampled_from(GOOD_DURATIONS), st.sampled_from(DURATIONS))
FIELDS = ["attributes.n", "attributes.s", "entity", "time", "state.m", "state.w", "state.m.since", "attributes.n.x"]

small_numbers = st.integers(0, 5)
numbers = st.one_of(
    small_numbers,
    small_numbers,
    st.integers(-5, 300),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=3),
)
type_lists = st.lists(st.sampled_from([*TYPES, "A/*", "*", ""]), min_size=0, max_size=2)
leaves = st.fixed_dictionaries(
    {"field": st.sampled_from(FIELDS), "op": st.sampled_from(["eq", "ge", "in", "exists", "matches"])},
    optional={
        "value": st.one_of(
            numbers, st.sampled_from(["trial", "active", "x"]), st.lists(st.sampled_from(["trial", "x"]), max_size=2)
        )
    },
)
conditions = st.one_of(leaves, st.fixed_dictionaries({"all": st.lists(leaves, min_size=1, max_size=2)}))
filters = st.fixed_dictionaries({}, optional={"types": type_lists, "condition": conditions})
step_filters = st.fixed_dictionaries({"types": st.lists(st.sampled_from(TYPES), min_size=1, max_size=2)})
windows = st.fixed_dictionaries(
    {
        "aggregate": st.sampled_from(["count", "sum", "avg", "min", "max", "distinct", "median"]),
        "size": durations,
        "op": st.sampled_from(["ge", "lt", "eq", "ne"]),
        "value": numbers,
    },
    optional={"field": st.sampled_from(FIELDS), "kind": st.sampled_from(["sliding", "tumbling", "hopping"])},
)
sequences = st.fixed_dictionaries(
    {
        "steps": st.lists(filters, min_size=1, max_size=4) | st.lists(step_filters, min_size=2, max_size=4),
        "within": durations,
    }
)
absences = st.fixed_dictionaries({"after": filters, "missing": filters, "within": durations})
state_names = st.sampled_from(["trial", "active", "gone", "Bad"])
machines = st.fixed_dictionaries(
    {
        "initial": state_names,
        "states": st.dictionaries(state_names, st.just({"on_enter": ACTION}) | st.just({}), max_size=3),
    },
    optional={
        "transitions": st.lists(
            st.fixed_dictionaries({"from": state_names, "to": state_names}, optional={"when": filters}), max_size=3
        ),
        "global": st.lists(st.fixed_dictionaries({"to": state_names}, optional={"when": filters}), max_size=1),
    },
)
NAMES = ["trial", "active", "gone"]
moves = st.fixed_dictionaries({"from": st.sampled_from(NAMES), "to": st.sampled_from(NAMES), "when": step_filters})
well_formed_machines = st.fixed_dictionaries(
    {
        "initial": st.just("trial"),
        "states": st.just({"trial": {"on_enter": ACTION}, "active": {"on_enter": ACTION}, "gone": {}}),
        "transitions": st.lists(moves.filter(lambda move: move["from"] != move["to"]), max_size=3).map(
            lambda more: [{"from": "trial", "to": "active", "when": {"types": ["B/b"]}}, *more]
        ),
        "global": st.just([{"to": "gone", "when": {"types": ["C/c"]}}]),
    }
)
patterns = st.one_of(
    st.fixed_dictionaries({"machine": well_formed_machines}),
    st.fixed_dictionaries({"window": windows}),
    st.fixed_dictionaries({"sequence": sequences}),
    st.fixed_dictionaries({"absence": absences}),
    st.fixed_dictionaries({"machine": machines}),
    st.just({}),
)
extras = st.fixed_dictionaries(
    {},
    optional={
        "cooldown": durations,
        "max_per_period": st.fixed_dictionaries({"count": st.integers(-1, 4), "period": durations}),
        "rearm": st.booleans(),
        "allowed_lateness": durations,
        "condition": conditions,
        "when": st.fixed_dictionaries({}, optional={"types": st.lists(st.sampled_from(TYPES), min_size=1, max_size=2)}),
        "priority": st.integers(-2, 2),
        "stop_after_match": st.booleans(),
    },
)


@st.composite
def rule_sets(draw: st.DrawFn) -> list[dict[str, Any]]:
    rules = []
    for rule_id in draw(st.lists(st.sampled_from(["m", "w", "r1", "r2"]), min_size=1, max_size=4, unique=True)):
        parts = {**draw(patterns), **draw(extras)}
        if "machine" in parts and draw(st.integers(0, 3)) > 0:  # mostly well-formed machines
            parts = {key: value for key, value in parts.items() if key not in ("cooldown", "max_per_period", "rearm")}
        elif "machine" not in parts or draw(st.booleans()):
            parts["action"] = ACTION
        rules.append({"id": rule_id, **parts})
    return rules


events = st.lists(
    st.builds(
        lambda kind, minutes, n: (kind, minutes, n),
        st.sampled_from(TYPES),
        st.integers(0, 3 * 24 * 60),
        st.one_of(st.none(), st.integers(-3, 9), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=2)),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules=rule_sets())
def test_random_stateful_definitions_never_crash_validation_and_valid_ones_compile(rules: list[dict[str, Any]]) -> None:
    checked = validate_rules(rules)
    assert len({e.index for e in checked.errors}) + len(checked.rules) == len(rules)
    compile_ruleset(checked.rules, version=1)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules=rule_sets(), feed=events, timer_steps=st.lists(st.integers(0, 4 * 24 * 60), max_size=4))
def test_random_events_never_crash_and_state_stays_json_and_bounded(
    rules: list[dict[str, Any]], feed: list[tuple[str, int, Any]], timer_steps: list[int]
) -> None:
    # GIVEN whatever part of a random rule set is valid
    ruleset = compile_ruleset(validate_rules(rules).rules, version=1)
    state = EntityState(entity="ada")
    # WHEN random events (in random time order) and timer ticks go through it
    for position, (event_type, minutes, n) in enumerate(feed):
        event = Event(
            id=f"e{position}", source="json", type=event_type, time=T0 + timedelta(minutes=minutes),
            entity="ada", attributes={} if n is None else {"n": n, "s": str(n)},
        )  # fmt: skip
        ruleset.needs_state(event)
        ruleset.evaluate(event, state)
        state.data = json.loads(json.dumps(state.data, allow_nan=False))
    for minutes in sorted(timer_steps):
        ruleset.fire_due(state, T0 + timedelta(minutes=minutes))
    # THEN the state is plain JSON, small, and its due_at agrees with the pending deadlines
    text = json.dumps(state.data, allow_nan=False)
    assert len(text) < 8 * 1024 * len(rules)
    assert state.due_at == ruleset.next_deadline(state)
    ruleset.take_late_count()


@settings(max_examples=150, deadline=None)
@given(
    gaps=st.lists(st.integers(0, 400), min_size=1, max_size=60),
    amounts=st.lists(st.integers(-5, 20), min_size=60, max_size=60),
    kind=st.sampled_from(["sliding", "tumbling"]),
    aggregate=st.sampled_from(["count", "sum", "min", "max", "distinct"]),
    threshold=st.integers(0, 12),
)
def test_windows_agree_with_a_brute_force_aggregate_on_in_order_events(
    gaps: list[int], amounts: list[int], kind: str, aggregate: str, threshold: int
) -> None:
    # GIVEN a 10-minute window and events in time order (seconds apart, ties included)
    window = {"aggregate": aggregate, "size": "PT10M", "kind": kind, "op": "ge", "value": threshold}
    if aggregate != "count":
        window["field"] = "attributes.n"
    ruleset = compile_ruleset(validate_rules([{"id": "w", "window": window, "action": ACTION}]).rules)
    state, seen = EntityState(entity="ada"), []
    times = [sum(gaps[: i + 1]) for i in range(len(gaps))]
    for position, (second, amount) in enumerate(zip(times, amounts, strict=False)):
        event = Event(
            id=f"e{position}", source="json", type="A/a", time=T0 + timedelta(seconds=second),
            entity="ada", attributes={"n": amount},
        )  # fmt: skip
        fired = bool(ruleset.evaluate(event, state))
        seen.append((second, amount))
        # THEN it fires exactly when the aggregate over the events in its window reaches the threshold
        if kind == "sliding":
            inside = [n for at, n in seen if second - 600 < at <= second]
        else:
            inside = [n for at, n in seen if at // 600 == second // 600]
        value = {"count": len, "sum": sum, "min": min, "max": max, "distinct": lambda v: len(set(v))}[aggregate](inside)
        assert fired is (value >= threshold)


@settings(max_examples=150, deadline=None)
@given(
    feed=st.lists(st.tuples(st.integers(0, 300), st.sampled_from(TYPES)), max_size=40),
    steps=st.lists(st.sampled_from(TYPES), min_size=2, max_size=4),
)
def test_sequences_agree_with_tracking_every_partial_match(feed: list[tuple[int, str]], steps: list[str]) -> None:
    # GIVEN "steps in order within 10 minutes" and events in time order
    spec = {"steps": [{"types": [step]} for step in steps], "within": "PT10M"}
    ruleset = compile_ruleset(validate_rules([{"id": "s", "sequence": spec, "action": ACTION}]).rules)
    state, runs, second = EntityState(entity="ada"), set(), 0  # runs: every (steps done, start) kept
    for position, (gap, event_type) in enumerate(feed):
        second += gap
        event = Event(
            id=f"e{position}", source="json", type=event_type, time=T0 + timedelta(seconds=second), entity="ada"
        )
        fired = bool(ruleset.evaluate(event, state))
        live = {(done, start) for done, start in runs if second - start <= 600}
        advanced = {(done + 1, start) for done, start in live if steps[done] == event_type}
        completed = any(done == len(steps) for done, _ in advanced)
        # THEN it fires exactly when some partial match completes; then every partial match is cleared
        assert fired is completed
        runs = set() if completed else live | advanced
        if steps[0] == event_type:
            runs.add((1, second))
