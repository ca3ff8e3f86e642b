"""``matches`` runs on RE2: linear time on hostile patterns, refused patterns at write time, ``re.search`` semantics."""

from __future__ import annotations

import time
from typing import Any

import pytest

from shared.events.models import Event
from shared.rules import compile_ruleset, explain_rules, validate_rules
from shared.rules.errors import OperandError
from shared.rules.language.regex import compile_search
from tests.unit.test_rules_operators import event

#: Catastrophic backtracking in Python's ``re``: 24, 26, 28 characters took 1.5, 6.8 and 18 s.
REDOS = r"^(a+)+$"
#: Far more than linear matching needs for the texts below; exponential backtracking cannot meet it.
GENEROUS_SECONDS = 2.0


def rule(value: Any, *, field: str = "attributes.x") -> dict[str, Any]:
    return {
        "id": "r",
        "condition": {"field": field, "op": "matches", "value": value},
        "action": {"kind": "journey_entry", "event_definition_key": "K"},
    }


def fires(value: str, evt: Event) -> bool:
    checked = validate_rules([rule(value)])
    assert checked.errors == [], checked.errors
    return bool(compile_ruleset(checked.rules).evaluate(evt, None))


@pytest.mark.parametrize(
    ("text", "expected"),
    [("a" * 32 + "!", False), ("a" * 10_240, True), ("a" * 10_239 + "!", False)],
    ids=["32-a-then-bang", "10KB-match", "10KB-no-match"],
)
def test_the_redos_rule_evaluates_in_linear_time(text: str, expected: bool) -> None:
    # GIVEN the classic ReDoS rule, which passes validation (RE2 runs it in linear time)
    ruleset = compile_ruleset(validate_rules([rule(REDOS)]).rules)
    # WHEN an event with a long hostile value is evaluated
    started = time.perf_counter()
    fired = bool(ruleset.evaluate(event(x=text), None))
    elapsed = time.perf_counter() - started
    # THEN it answers, and far within a bound that backtracking (minutes for 32 characters) blows through
    assert fired is expected
    assert elapsed < GENEROUS_SECONDS


def test_the_redos_rule_is_linear_on_the_entity_field_shortcut_too() -> None:
    # GIVEN the ReDoS pattern on a top-level field (the one-call shortcut path)
    ruleset = compile_ruleset(validate_rules([rule(REDOS, field="entity")]).rules)
    # WHEN evaluated on 32 a's and a '!'  THEN no match, promptly
    started = time.perf_counter()
    assert ruleset.evaluate(event(entity="a" * 32 + "!"), None) == []
    assert time.perf_counter() - started < GENEROUS_SECONDS


@pytest.mark.parametrize(
    ("pattern", "hint"),
    [
        (r"(a)\1", "invalid escape sequence: \\1 (back-references are not supported)"),
        (r"(?P<n>a)(?P=n)", "invalid perl operator: (?P (back-references are not supported)"),
        (r"^(?=.*@)", "invalid perl operator: (?= (look-around is not supported)"),
        (r"(?<!x)y", "invalid perl operator: (?<! (look-around is not supported)"),
        (r"(?>a+)b", "invalid perl operator: (?>"),
        (r"a++", "bad repetition operator: ++"),
        (r"a{1001}", "invalid repetition size: {1001}"),
        ("(unclosed", "missing ): (unclosed"),
    ],
)
def test_a_pattern_re2_cannot_run_is_refused_at_write_time_with_its_reason(pattern: str, hint: str) -> None:
    # GIVEN a rule whose pattern needs backtracking (or is not a regular expression)
    # WHEN validated
    checked = validate_rules([rule(pattern)])
    # THEN one error at the value, on one line, naming RE2's reason
    [error] = checked.errors
    assert (error.rule_id, error.path) == ("r", "$.condition.value")
    assert error.message == f"invalid regular expression for RE2 (linear-time matching): {hint}"
    assert "\n" not in error.message


def test_a_pattern_with_a_newline_is_reported_on_one_line() -> None:
    with pytest.raises(OperandError) as caught:
        compile_search("(a\nb")
    assert "\n" not in str(caught.value) and "\\n" in str(caught.value)


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("Copilot", "Microsoft Copilot in Word", True),  # search, not full match
        ("^Copilot", "Microsoft Copilot in Word", False),
        (r"^\d{3}-\d{4}$", "555-1234", True),
        (r"^\d{3}-\d{4}$", "555-12345", False),
        ("(?i)copilot", "Microsoft COPILOT", True),  # inline flags
        ("copilot", "Microsoft COPILOT", False),  # case-sensitive by default
        (r"Word\Z", "Copilot in Word", True),  # Python's end of text, rewritten for RE2
        (r"Word\Z", "Word in Copilot", False),
        (r"\\Z", "a\\Z", True),  # an escaped backslash before Z stays a backslash and a Z
        (r"^a{,2}b$", "aab", True),  # Python's {,n} is {0,n} (RE2 would read it as text)
        (r"^a{,2}b$", "aaab", False),
        (r"^a{,}b$", "aaab", True),
        (r"^[{,2}]$", "{", True),  # inside a class it is four characters, as in Python
        (r"^[]{,2}]x$", "]x", True),  # a first ']' is a member, not the end of the class
        (r"^[[:alpha:]]{,2}$", "ab", True),  # an RE2 POSIX class holds a "]" that ends nothing
        ("^é+$", "ééé", True),  # UTF-8 text, counted in characters
        (r"^[^@\s]+@[^@\s]+\.[^@\s]+$", "ada@contoso.com", True),  # the sample rules' pattern
        (r"^[^@\s]+@[^@\s]+\.[^@\s]+$", "S-1-5-18", False),
    ],
)
def test_matches_keeps_re_search_semantics(pattern: str, text: str, expected: bool) -> None:
    assert fires(pattern, event(x=text)) is expected


def test_a_lone_surrogate_in_an_event_is_data_not_an_error() -> None:
    # GIVEN a value holding a lone surrogate (JSON "\ud800" decodes to one)
    # WHEN matched THEN an answer, not UnicodeEncodeError
    assert fires("^x", event(x="x\ud800")) is True
    assert fires("^y", event(x="x\ud800")) is False


def test_one_compiled_expression_serves_every_rule_with_the_same_pattern() -> None:
    assert compile_search(r"^[a-z]+$") is compile_search(r"^[a-z]+$")


def test_explain_decides_matches_with_re2_too() -> None:
    # GIVEN the ReDoS rule and a hostile event  WHEN explained  THEN the verdict comes back promptly
    [definition] = validate_rules([rule(REDOS)]).rules
    started = time.perf_counter()
    [explanation] = explain_rules([definition], event(x="a" * 32 + "!"), None)
    assert explanation.fired is False
    assert time.perf_counter() - started < GENEROUS_SECONDS
