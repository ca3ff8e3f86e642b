"""Properties: no rule dict crashes validation, valid rules always compile, no event crashes evaluation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.actions.planning import plan_actions
from shared.events.models import Event
from shared.rules import ConditionFailed, compile_rule, compile_ruleset, validate_rules
from shared.rules.language.operators import OPERATORS
from shared.store.models import EntityState

FIELDS = [
    "entity",
    "time",
    "tenant",
    "type",
    "id",
    "source",
    "attributes.a",
    "attributes.b",
    "attributes.a.b",
    "attributes.n",
    "attributes.0",
    "bogus",
    "",
    "attributes..x",
]
TEXTS = [
    "",
    "x",
    "succeeded",
    "2024-05-01",
    "2024-05-01T08:00:00Z",
    "2024-02-30",
    "PT5M",
    "P1D",
    "30d",
    "(",
    "^a.*$",
    "#EXT#",
    "{entity}",
    "{attributes.a}",
    "{nope}",
    "{",
    "ada@contoso.com",
]

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(TEXTS),
    st.text(max_size=8),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["a", "b", "n", "x"]), inner, max_size=3)
    ),
    max_leaves=8,
)
leaves = st.fixed_dictionaries(
    {"field": st.sampled_from(FIELDS), "op": st.sampled_from([*OPERATORS, "bogus"])},
    optional={"value": json_values, "value_field": st.sampled_from(FIELDS), "extra": json_scalars},
)
conditions = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.fixed_dictionaries({"all": st.lists(inner, max_size=3)}),
        st.fixed_dictionaries({"any": st.lists(inner, max_size=3)}),
        st.fixed_dictionaries({"not": inner}),
        json_scalars,
    ),
    max_leaves=6,
)
actions = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["journey_entry", "journey_entry", "webhook"]),
        "event_definition_key": st.sampled_from(["APIEvent-x", "", "bad key"]),
    },
    optional={
        "contact_key": st.sampled_from(TEXTS),
        "data": st.dictionaries(st.sampled_from(["A", "B", ""]), json_values, max_size=3),
    },
)
rules = st.fixed_dictionaries(
    {"id": st.sampled_from(["r1", "r2", "r3", "Bad Id", ""]), "action": actions},
    optional={
        "when": st.fixed_dictionaries(
            {},
            optional={
                "source": st.sampled_from(["o365", "json", "nope"]),
                "types": st.lists(
                    st.sampled_from(["Exchange/Send", "Exchange/*", "*", "a*b", ""]), max_size=2
                ),
            },
        ),
        "condition": conditions,
        "cooldown": st.one_of(
            st.sampled_from(["P1D", "1h", "PT0S", "bogus", "P1Y", "99999999999d"]), json_scalars
        ),
        "priority": st.one_of(st.integers(-5, 5), json_scalars),
        "stop_after_match": st.booleans(),
        "enabled": st.one_of(st.booleans(), json_scalars),
        "unknown": json_scalars,
    },
)
WELL_FORMED_LEAVES = [
    {"field": field, "op": op, **operand}
    for field, op, operand in [
        ("attributes.a", "eq", {"value": "x"}),
        ("attributes.a", "ne", {"value": 1}),
        ("attributes.a", "lt", {"value": 5}),
        ("attributes.a", "le", {"value": "2024-05-01"}),
        ("attributes.a", "gt", {"value": "PT5M"}),
        ("attributes.a", "ge", {"value_field": "attributes.b"}),
        ("attributes.a", "in", {"value": ["x", 1, True]}),
        ("attributes.a", "not_in", {"value": ["2024-05-01"]}),
        ("attributes.a", "contains", {"value": "x"}),
        ("attributes.a", "starts_with", {"value": ["a", "b"]}),
        ("attributes.a", "ends_with", {"value_field": "attributes.b"}),
        ("attributes.a", "matches", {"value": "^a"}),
        ("attributes.a.b", "exists", {}),
        ("attributes.a", "between", {"value": ["2024-01-01", "2025-01-01"]}),
        ("time", "between", {"value": ["2024-01-01", "2025-01-01"]}),
        ("attributes.a", "eq", {"value_field": "time"}),
        ("entity", "eq", {"value": "ada@contoso.com"}),
        ("attributes.x", "in", {"value": ["x", "succeeded"]}),
        ("tenant", "eq", {"value": "t1"}),
        ("attributes.n", "eq", {"value": "x"}),
    ]
]
ALL_OPERATOR_RULES = [
    {
        "id": f"leaf-{n}",
        "condition": leaf,
        "cooldown": "PT1M",
        "action": {"kind": "journey_entry", "event_definition_key": "K", "data": {"V": "{attributes.a}"}},
    }
    for n, leaf in enumerate(WELL_FORMED_LEAVES)
]
well_formed_conditions = st.recursive(
    st.sampled_from(WELL_FORMED_LEAVES),
    lambda inner: st.one_of(
        st.fixed_dictionaries({"all": st.lists(inner, min_size=1, max_size=3)}),
        st.fixed_dictionaries({"any": st.lists(inner, min_size=1, max_size=3)}),
        st.fixed_dictionaries({"not": inner}),
    ),
    max_leaves=6,
)
well_formed_rules = st.fixed_dictionaries(
    {
        "id": st.sampled_from(["r1", "r2", "r3", "r4"]),
        "action": st.fixed_dictionaries(
            {
                "kind": st.just("journey_entry"),
                "event_definition_key": st.just("APIEvent-x"),
                "contact_key": st.sampled_from(["{entity}", "{attributes.a}", "c-{id}"]),
                "data": st.dictionaries(
                    st.sampled_from(["A", "B"]), st.sampled_from(TEXTS[:11] + ["{time}"]), max_size=2
                ),
            }
        ),
    },
    optional={
        "when": st.fixed_dictionaries(
            {"types": st.lists(st.sampled_from(["Exchange/Send", "Exchange/*", "*"]), min_size=1, max_size=2)}
        ),
        "condition": well_formed_conditions,
        "cooldown": st.sampled_from(["P1D", "1h", "PT5M"]),
        "priority": st.integers(-3, 3),
        "stop_after_match": st.booleans(),
    },
)
any_rules = st.one_of(rules, well_formed_rules)
events = st.builds(
    Event,
    id=st.text(min_size=1, max_size=5).filter(str.strip),
    source=st.sampled_from(["o365", "json", "cloudevents"]),
    type=st.sampled_from(["Exchange/Send", "Exchange/Create", "MicrosoftTeams/TeamsSessionStarted"]),
    time=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
    entity=st.sampled_from(["ada@contoso.com", "S-1-5-18", "x#EXT#"]),
    tenant=st.none() | st.sampled_from(["t1", "2024-05-01"]),
    attributes=st.dictionaries(st.sampled_from(["a", "b", "n", "x"]), json_values, max_size=4),
)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(raw=st.lists(st.one_of(any_rules, json_values), max_size=4))
def test_random_rule_dicts_never_crash_validation_and_valid_ones_compile(raw: list[Any]) -> None:
    # WHEN anything is validated THEN it returns; every rule is either accepted or has errors
    checked = validate_rules(raw)
    rejected = {error.index for error in checked.errors}
    assert len(checked.rules) + len(rejected) == len(raw)
    assert all(error.path.startswith("$") and error.message for error in checked.errors)
    # AND what passed compiles
    compile_ruleset(checked.rules)


@SETTINGS
@given(raw=st.lists(any_rules, min_size=1, max_size=4), batch=st.lists(events, max_size=5))
def test_random_events_never_crash_evaluation_or_planning(
    raw: list[dict[str, Any]], batch: list[Event]
) -> None:
    ruleset = compile_ruleset(validate_rules(raw).rules)
    state = EntityState(entity="any")
    for event in sorted(batch, key=lambda e: e.time):
        ruleset.needs_state(event)
        matches = ruleset.evaluate(event, state)
        result = plan_actions(matches)
        assert len(result.actions) + len(result.failures) == len(matches)


@SETTINGS
@given(batch=st.lists(events, min_size=1, max_size=8))
def test_every_operator_survives_random_event_values(batch: list[Event]) -> None:
    checked = validate_rules(ALL_OPERATOR_RULES)
    assert checked.errors == []
    ruleset, state = compile_ruleset(checked.rules), EntityState(entity="any")
    for event in sorted(batch, key=lambda e: e.time):
        result = plan_actions(ruleset.evaluate(event, state))
        assert all(action.data["V"] is not None for action in result.actions)


DISPATCHABLE_LEAVES = [
    {"field": field, "op": "eq", "value": value}
    for field in ("tenant", "attributes.x", "attributes.a")
    for value in ("x", "t1", "succeeded")
] + [{"field": "attributes.x", "op": "in", "value": ["x", "succeeded"]}]
keyed_conditions = st.one_of(
    st.sampled_from(DISPATCHABLE_LEAVES),
    st.builds(
        lambda key, rest: {"all": [rest, key]}, st.sampled_from(DISPATCHABLE_LEAVES), well_formed_conditions
    ),
    well_formed_conditions,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    conditions=st.lists(keyed_conditions, min_size=4, max_size=14),
    priorities=st.lists(st.integers(0, 3), min_size=14, max_size=14),
    batch=st.lists(events, min_size=1, max_size=6),
)
def test_indexed_evaluation_equals_checking_every_rule(
    conditions: list[Any], priorities: list[int], batch: list[Event]
) -> None:
    # GIVEN stateless rules, many keyed on the same fields (so the index dispatches on them)
    raw = [
        {
            "id": f"r{n:02d}",
            "priority": priorities[n],
            "when": {"types": ["Exchange/*"]},
            "condition": condition,
            "action": {"kind": "journey_entry", "event_definition_key": "K"},
        }
        for n, condition in enumerate(conditions)
    ]
    definitions = validate_rules(raw).rules
    ruleset = compile_ruleset(definitions)
    reference = sorted((compile_rule(d) for d in definitions), key=lambda rule: rule.order)
    for event in batch:
        # WHEN evaluated through the index and rule by rule
        expected = [
            rule.id
            for rule in reference
            if event.type.startswith("Exchange/") and _passes_or_false(rule.check, event)
        ]
        # THEN the same rules fire in the same order
        assert [match.rule_id for match in ruleset.evaluate(event, None)] == expected


def _passes_or_false(check: Any, event: Event) -> bool:
    try:
        return bool(check(event))
    except ConditionFailed:
        return False
