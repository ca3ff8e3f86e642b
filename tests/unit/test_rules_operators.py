"""Each operator, on typed values: numbers, strings, booleans, datetimes, durations, fields vs fields."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.events.models import Event
from shared.rules import compile_ruleset, validate_rules

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def event(*, time: datetime = T0, entity: str = "ada@contoso.com", **attributes: Any) -> Event:
    return Event(
        id="evt-1",
        source="o365",
        type="Exchange/Send",
        time=time,
        entity=entity,
        tenant="tenant-1",
        attributes=attributes,
    )


def matches(condition: dict[str, Any], evt: Event) -> bool:
    checked = validate_rules(
        [
            {
                "id": "r",
                "condition": condition,
                "action": {"kind": "journey_entry", "event_definition_key": "K"},
            }
        ]
    )
    assert checked.errors == [], checked.errors
    return bool(compile_ruleset(checked.rules).evaluate(evt, None))


LITERAL_CASES = [
    # (op, value, attribute value, expected)
    ("eq", "succeeded", "succeeded", True),
    ("eq", "succeeded", "failed", False),
    ("eq", 3, 3, True),
    ("eq", 3, 3.0, True),
    ("eq", 1, True, False),  # a boolean is not the number 1
    ("eq", True, True, True),
    ("eq", True, 1, False),
    ("eq", 3, "3", False),  # no implicit string -> number conversion
    ("ne", "succeeded", "failed", True),
    ("ne", "succeeded", "succeeded", False),
    ("lt", 10, 9, True),
    ("lt", 10, 10, False),
    ("le", 10, 10, True),
    ("le", 10, 11, False),
    ("gt", 1.5, 2, True),
    ("gt", 1.5, 1.5, False),
    ("ge", 2, 2, True),
    ("ge", 2, 1, False),
    ("in", ["Send", "MailItemsAccessed"], "Send", True),
    ("in", ["Send", "MailItemsAccessed"], "Create", False),
    ("in", [1, 2], True, False),
    ("in", [True], True, True),
    ("not_in", ["Send"], "Create", True),
    ("not_in", ["Send"], "Send", False),
    ("contains", "EXT", "bob_fabrikam.com#EXT#@contoso.com", True),
    ("contains", "EXT", "bob@contoso.com", False),
    ("contains", "docx", ["xlsx", "docx"], True),
    ("contains", 2, [1, 2, 3], True),
    ("contains", 1, [True], False),
    ("starts_with", "admin@", "admin@contoso.com", True),
    ("starts_with", ["a@", "b@"], "b@contoso.com", True),
    ("starts_with", "admin@", "ada@contoso.com", False),
    ("ends_with", "#EXT#", "bob#EXT#", True),
    ("ends_with", "#EXT#", "bob#EXT#@contoso.com", False),
    ("matches", r"^\d{3}-\d{4}$", "555-1234", True),
    ("matches", r"^\d{3}-\d{4}$", "555-12345", False),
    ("matches", r"Copilot", "Microsoft Copilot in Word", True),  # search, not fullmatch
    ("between", [10, 20], 10, True),
    ("between", [10, 20], 20, True),
    ("between", [10, 20], 21, False),
]


@pytest.mark.parametrize(("op", "value", "actual", "expected"), LITERAL_CASES)
def test_operator_on_literal_gives_expected_result(op: str, value: Any, actual: Any, expected: bool) -> None:
    # GIVEN a leaf with a literal  WHEN evaluated on an event holding `actual`  THEN the result is `expected`
    assert matches({"field": "attributes.x", "op": op, "value": value}, event(x=actual)) is expected


@pytest.mark.parametrize(
    "op", ["eq", "ne", "lt", "in", "not_in", "contains", "starts_with", "matches", "between"]
)
@pytest.mark.parametrize("attributes", [{}, {"x": None}], ids=["missing", "null"])
def test_every_comparison_is_false_on_a_missing_or_null_field(op: str, attributes: dict[str, Any]) -> None:
    # GIVEN a value fitting each operator
    value = {"in": ["a"], "not_in": ["a"], "between": [1, 2], "lt": 1}.get(op, "a")
    # WHEN the field is absent or null THEN no comparison matches (not even ne / not_in)
    assert matches({"field": "attributes.x", "op": op, "value": value}, event(**attributes)) is False


@pytest.mark.parametrize(
    ("condition", "attributes", "expected"),
    [
        ({"field": "attributes.x", "op": "exists"}, {"x": "1.2.3.4"}, True),
        ({"field": "attributes.x", "op": "exists"}, {"x": None}, False),
        ({"field": "attributes.x", "op": "exists"}, {}, False),
        ({"field": "attributes.x", "op": "exists", "value": False}, {}, True),
        ({"field": "attributes.x", "op": "exists", "value": False}, {"x": 0}, False),
        ({"field": "attributes.a.b", "op": "exists"}, {"a": {"b": ""}}, True),
        ({"field": "attributes.a.b", "op": "exists"}, {"a": "not a mapping"}, False),
    ],
)
def test_exists_tests_presence_and_not_null(
    condition: dict[str, Any], attributes: dict[str, Any], expected: bool
) -> None:
    assert matches(condition, event(**attributes)) is expected


def test_nested_attribute_paths_reach_into_objects_and_arrays() -> None:
    # GIVEN a Copilot-like nested record
    evt = event(CopilotEventData={"AppHost": "Word", "Contexts": [{"Type": "docx"}]})
    # WHEN/THEN dotted paths (with array indexes) read nested values
    assert matches({"field": "attributes.CopilotEventData.AppHost", "op": "eq", "value": "Word"}, evt)
    assert matches({"field": "attributes.CopilotEventData.Contexts.0.Type", "op": "eq", "value": "docx"}, evt)
    assert not matches({"field": "attributes.CopilotEventData.Contexts.5.Type", "op": "exists"}, evt)


@pytest.mark.parametrize(
    ("op", "value", "event_time", "expected"),
    [
        ("lt", "2024-05-01T09:00:00Z", T0, True),
        ("lt", "2024-05-01T10:00:00+02:00", T0, False),  # 08:00Z: same instant, offsets respected
        ("le", "2024-05-01T10:00:00+02:00", T0, True),
        ("ge", "2024-05-01", T0, True),  # a date is midnight UTC
        ("eq", "2024-05-01T08:00:00", T0, True),  # no offset means UTC
        ("between", ["2024-04-01", "2024-06-01T00:00:00Z"], T0, True),
        ("between", ["2024-04-01", "2024-04-30"], T0, False),
        ("in", ["2024-05-01T08:00:00Z", "2024-05-02T08:00:00Z"], T0, True),
    ],
)
def test_event_time_compares_as_a_datetime_not_as_text(
    op: str, value: Any, event_time: datetime, expected: bool
) -> None:
    assert matches({"field": "time", "op": op, "value": value}, event(time=event_time)) is expected


def test_iso_datetime_attributes_are_parsed_before_comparing() -> None:
    # GIVEN 10:00+02:00, which sorts after "09:00:00Z" as text but is the earlier instant
    evt = event(LastSeen="2024-05-01T10:00:00+02:00")
    # WHEN compared with a datetime literal THEN the instant decides
    assert matches({"field": "attributes.LastSeen", "op": "lt", "value": "2024-05-01T09:00:00Z"}, evt)


def test_durations_compare_as_timedeltas() -> None:
    # GIVEN durations written in ISO 8601 and in short form
    evt = event(Elapsed="PT90S", Budget="2m")
    # WHEN compared with an ISO duration literal THEN 90 s < 5 min although "PT90S" > "PT5M" as text
    assert matches({"field": "attributes.Elapsed", "op": "lt", "value": "PT5M"}, evt)
    assert matches({"field": "attributes.Budget", "op": "eq", "value": "PT120S"}, evt)
    assert not matches({"field": "attributes.Elapsed", "op": "gt", "value": "PT5M"}, evt)


@pytest.mark.parametrize(
    ("op", "left", "right", "expected"),
    [
        ("eq", "a@contoso.com", "a@contoso.com", True),
        ("eq", "a", "b", False),
        ("eq", 1, "1", False),
        ("ne", "a", "b", True),
        ("lt", 1, 2, True),
        ("ge", 2.5, 2.5, True),
        ("lt", "2024-05-01T10:00:00+02:00", "2024-05-01T09:00:00Z", True),  # instants, not text
        ("gt", "PT5M", "PT90S", True),
        ("contains", "hello world", "world", True),
        ("contains", ["a", "b"], "c", False),
        ("starts_with", "admin@contoso.com", "admin", True),
        ("ends_with", "admin@contoso.com", "contoso.com", True),
    ],
)
def test_field_vs_field_comparison(op: str, left: Any, right: Any, expected: bool) -> None:
    condition = {"field": "attributes.left", "op": op, "value_field": "attributes.right"}
    assert matches(condition, event(left=left, right=right)) is expected


def test_field_vs_field_is_false_when_the_other_field_is_missing() -> None:
    assert not matches(
        {"field": "attributes.left", "op": "eq", "value_field": "attributes.right"}, event(left="a")
    )


def test_field_vs_top_level_field_compares_entity_with_an_attribute() -> None:
    evt = event(entity="ada@contoso.com", ObjectId="ada@contoso.com")
    assert matches({"field": "attributes.ObjectId", "op": "eq", "value_field": "entity"}, evt)


@pytest.mark.parametrize(
    ("condition", "attributes"),
    [
        ({"field": "attributes.x", "op": "lt", "value": 5}, {"x": "secret-five"}),
        ({"field": "attributes.x", "op": "matches", "value": "a"}, {"x": 424242}),
        ({"field": "attributes.x", "op": "starts_with", "value": "a"}, {"x": ["a"]}),
        ({"field": "attributes.x", "op": "ge", "value": "2024-01-01"}, {"x": "secret-not-a-date"}),
        ({"field": "attributes.x", "op": "between", "value": [1, 2]}, {"x": "secret-text"}),
        (
            {"field": "attributes.x", "op": "lt", "value_field": "attributes.y"},
            {"x": 987654, "y": "secret-text"},
        ),
    ],
)
def test_type_surprise_is_no_match_and_one_log_line_without_the_value(
    condition: dict[str, Any], attributes: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN an event whose value does not fit the operator
    evt = event(**attributes)
    # WHEN the rule is evaluated
    with caplog.at_level(logging.WARNING, logger="shared.rules"):
        result = matches(condition, evt)
    # THEN it does not match, and one line names the rule and the event id but not the value
    assert result is False
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 1
    assert "rule r" in lines[0] and "evt-1" in lines[0] and "attributes.x" in lines[0]
    for value in attributes.values():
        assert repr(value) not in lines[0] and (not isinstance(value, str) or value not in lines[0])
