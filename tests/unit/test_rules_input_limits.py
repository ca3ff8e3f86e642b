"""Rule input is bounded: alias bombs, deep nesting, NaN/Infinity, file and rule-set sizes (docs/rules.md, "Limits")."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from shared.rules import (
    JsonTextError,
    RuleFileError,
    load_rule_files,
    parse_json_text,
    ruleset_size_problem,
    validate_rules,
)
from shared.rules.authoring.json_text import nesting_depth
from shared.rules.authoring.limits import (
    MAX_ALIAS_VALUES,
    MAX_NESTING_DEPTH,
    MAX_RULE_FILE_BYTES,
    MAX_RULESET_BYTES,
    NOT_FINITE,
)

#: Far more than a linear read needs; a billion-value expansion or a quadratic scan blows through it.
GENEROUS_SECONDS = 1.0
TOO_DEEP = "at most 100 levels of mappings and lists are allowed"


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def alias_bomb() -> str:
    """A rule whose action data is 9^9 (387 million) strings, written in under 1 KB of YAML."""
    lines = ["id: bomb", 'when: {types: ["X/Y"]}', "x0: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    previous = "a"
    for level, anchor in enumerate("bcdefghi", 1):
        lines.append(f"x{level}: &{anchor} [" + ", ".join([f"*{previous}"] * 9) + "]")
        previous = anchor
    lines.append("action: {kind: journey_entry, event_definition_key: K, data: {X: *i}}")
    return "\n".join(lines) + "\n"


def nested_yaml(levels: int) -> str:
    return "id: deep\ncondition: " + "{not: " * levels + "{field: entity, op: exists}" + "}" * levels + "\n"


def rule_with_data(data: dict[str, Any]) -> dict[str, Any]:
    return {"id": "r", "action": {"kind": "journey_entry", "event_definition_key": "K", "data": data}}


# --- YAML aliases --------------------------------------------------------------------------------


def test_a_billion_laughs_alias_bomb_is_refused_promptly_with_one_line(tmp_path: Path) -> None:
    # GIVEN a 1 KB YAML file whose aliases expand to 387 million values
    text = alias_bomb()
    assert len(text) < 1024
    path = write(tmp_path, "bomb.yaml", text)
    # WHEN it is read
    started = time.perf_counter()
    with pytest.raises(RuleFileError) as refused:
        load_rule_files(path)
    # THEN it is refused while composing, with the file, the line of the alias and the limit
    assert time.perf_counter() - started < GENEROUS_SECONDS
    assert str(refused.value).startswith(f"{path}:")
    assert "aliases stand for more than 10,000 values in this file" in refused.value.message
    assert "\n" not in str(refused.value)


def test_an_alias_used_a_few_times_still_works(tmp_path: Path) -> None:
    # GIVEN two rules sharing one condition through an anchor
    text = (
        "rules:\n"
        "  - id: a\n    condition: &person {field: entity, op: matches, value: '@'}\n"
        "    action: {kind: journey_entry, event_definition_key: K}\n"
        "  - id: b\n    condition: *person\n    action: {kind: journey_entry, event_definition_key: K}\n"
    )
    # WHEN read and validated THEN both rules hold the condition
    rules = load_rule_files(write(tmp_path, "shared.yaml", text))
    assert rules[0]["condition"] == rules[1]["condition"] == {"field": "entity", "op": "matches", "value": "@"}
    assert validate_rules(rules).ok


def test_an_alias_to_its_own_container_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "cycle.yaml", "id: r\nx: &loop [1, *loop]\n")
    with pytest.raises(RuleFileError, match=r"alias \*loop refers to a mapping or list that contains it"):
        load_rule_files(path)


def test_an_alias_that_would_nest_too_deeply_where_it_is_used_is_refused(tmp_path: Path) -> None:
    # GIVEN a 60-level structure, anchored, then used 60 levels down (120 levels once expanded)
    deep = "[" * 60 + "]" * 60
    text = f"id: r\nx: &deep {deep}\ny: " + "[" * 60 + "*deep" + "]" * 60 + "\n"
    with pytest.raises(RuleFileError, match=r"nested too deeply \(1\d\d levels\): " + TOO_DEEP):
        load_rule_files(write(tmp_path, "r.yaml", text))


# --- nesting -------------------------------------------------------------------------------------


@pytest.mark.parametrize("levels", [300, 5000])
def test_deep_yaml_is_refused_before_recursion_with_the_limit(tmp_path: Path, levels: int) -> None:
    # GIVEN YAML nested far past the limit (300 levels used to print a RecursionError traceback)
    path = write(tmp_path, "deep.yaml", nested_yaml(levels))
    # WHEN read  THEN one line with file, line and the documented limit
    with pytest.raises(RuleFileError) as refused:
        load_rule_files(path)
    assert str(refused.value) == f"{path}:2: nested too deeply: {TOO_DEEP}"


def test_deep_flow_sequences_in_yaml_are_refused_too(tmp_path: Path) -> None:
    path = write(tmp_path, "deep.yaml", "id: r\nx: " + "[" * 1000 + "]" * 1000 + "\n")
    with pytest.raises(RuleFileError, match=TOO_DEEP):
        load_rule_files(path)


def test_deep_json_is_refused_before_parsing_with_the_limit(tmp_path: Path) -> None:
    # GIVEN JSON nested 10^5 levels (json.loads would raise RecursionError)
    path = write(tmp_path, "deep.json", '{"id": "r", "x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    # WHEN read  THEN one line naming the depth found and the limit
    with pytest.raises(RuleFileError) as refused:
        load_rule_files(path)
    assert str(refused.value) == f"{path}: nested too deeply (100001 levels): {TOO_DEEP}"


def test_json_and_yaml_exactly_at_the_limit_are_read(tmp_path: Path) -> None:
    # GIVEN 100 levels in all (the rule mapping counts as one)  WHEN read  THEN accepted
    inner = "[" * (MAX_NESTING_DEPTH - 1) + "]" * (MAX_NESTING_DEPTH - 1)
    assert load_rule_files(write(tmp_path, "edge.json", '{"id": "r", "x": ' + inner + "}"))
    assert load_rule_files(write(tmp_path, "edge.yaml", "id: r\nx: " + inner + "\n"))


def test_a_deep_or_cyclic_raw_rule_is_one_error_not_a_recursion_error() -> None:
    # GIVEN raw rules from Python: one nested 10,000 levels, one that contains itself
    deep: list[Any] = []
    for _ in range(10_000):
        deep = [deep]
    cyclic: dict[str, Any] = {"id": "c", "description": "x"}
    cyclic["x"] = cyclic
    # WHEN validated  THEN one error each, at the top field, with the limit
    checked = validate_rules([{"id": "d", "x": deep}, cyclic])
    assert [(e.rule_id, e.path, e.message) for e in checked.errors] == [
        ("d", "$.x", f"nested too deeply: {TOO_DEEP}"),
        ("c", "$.x", f"nested too deeply: {TOO_DEEP}"),
    ]


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("1", 0),
        ('"[[["', 0),
        ('[["]"]]', 2),
        ('["\\"[", [1]]', 2),
        ('["\\\\", [[1]]]', 3),  # an escaped backslash ends before the quote
        ('{"a": {"b": [1, {"c": 2}]}}', 4),
    ],
)
def test_nesting_depth_ignores_brackets_inside_strings(text: str, depth: int) -> None:
    assert nesting_depth(text) == depth


@pytest.mark.parametrize(
    "text",
    ['"' + '\\"' * 1_000_000, '"\\' * 1_000_000, "[" * 1_000_000],
    ids=["unterminated-string-of-escaped-quotes", "quote-backslash-pairs", "one-million-brackets"],
)
def test_nesting_depth_is_linear_on_hostile_text(text: str) -> None:
    started = time.perf_counter()
    nesting_depth(text)
    assert time.perf_counter() - started < GENEROUS_SECONDS


# --- NaN and Infinity ----------------------------------------------------------------------------


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_json_text_refuses_numbers_json_cannot_carry(literal: str) -> None:
    with pytest.raises(JsonTextError, match="NaN and Infinity are not JSON numbers"):
        parse_json_text('{"data": {"Score": ' + literal + "}}")


@pytest.mark.parametrize("literal", [".nan", ".inf", "-.inf", "1.0e+999"])
def test_yaml_nan_and_infinity_in_action_data_are_refused_with_their_path(tmp_path: Path, literal: str) -> None:
    # GIVEN action data that passed validation and then dead-lettered every match
    text = f"id: r\naction:\n  kind: journey_entry\n  event_definition_key: K\n  data: {{Score: {literal}}}\n"
    # WHEN validated  THEN refused at the value's path
    checked = validate_rules(load_rule_files(write(tmp_path, "r.yaml", text)))
    assert [(e.path, e.message) for e in checked.errors] == [("$.action.data.Score", NOT_FINITE)]


def test_a_json_rule_file_with_nan_is_refused_with_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, "r.json", json.dumps(rule_with_data({"Score": float("nan")})))
    with pytest.raises(RuleFileError, match="^.*r.json: NaN: NaN and Infinity are not JSON numbers"):
        load_rule_files(path)


def test_yaml_tags_json_cannot_hold_are_refused_by_validation(tmp_path: Path) -> None:
    text = "id: r\naction: {kind: journey_entry, event_definition_key: K, data: {Blob: !!binary aGk=}}\n"
    checked = validate_rules(load_rule_files(write(tmp_path, "r.yaml", text)))
    assert [e.path for e in checked.errors] == ["$.action.data.Blob"]


def test_a_number_too_long_for_python_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError, match="a number has too many digits"):
        load_rule_files(write(tmp_path, "r.yaml", "id: r\npriority: " + "9" * 5000 + "\n"))
    with pytest.raises(RuleFileError, match="a number has too many digits"):
        load_rule_files(write(tmp_path, "r.json", '{"id": "r", "priority": ' + "9" * 5000 + "}"))


# --- sizes ---------------------------------------------------------------------------------------


def test_a_rule_file_over_the_size_limit_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    path = write(tmp_path, "big.yaml", "# " + "x" * MAX_RULE_FILE_BYTES + "\nid: r\n")
    with pytest.raises(RuleFileError) as refused:
        load_rule_files(path)
    assert str(refused.value) == f"{path}: larger than 1,048,576 bytes, the limit for one rule file: split it"


def test_a_rule_set_over_the_size_limit_is_named_with_its_size() -> None:
    # GIVEN rules whose descriptions add up past the limit
    rules = [{"id": f"r{i}", "description": "x" * 100_000} for i in range(16)]
    # WHEN measured  THEN the problem names the size, the limit and what to do
    problem = ruleset_size_problem(rules)
    assert problem is not None
    assert problem.startswith("the rule set is 1,60") and f"at most {MAX_RULESET_BYTES:,} can be stored" in problem
    assert ruleset_size_problem(rules[:14]) is None


def test_docs_state_the_limits_the_code_enforces() -> None:
    # GIVEN docs/rules.md's "Limits" section  THEN it names each limit with the code's number
    docs = (Path(__file__).resolve().parents[2] / "docs" / "rules.md").read_text(encoding="utf-8")
    section = docs.split("\n## Limits\n", 1)[1].split("\n## ", 1)[0]
    for stated in (
        f"{MAX_RULE_FILE_BYTES:,} bytes",
        f"{MAX_RULESET_BYTES:,} bytes as stored JSON",
        f"{MAX_NESTING_DEPTH} levels of mappings and lists",
        f"at most {MAX_ALIAS_VALUES:,} values",
    ):
        assert stated in section, stated
