"""`squall rules validate|explain` on hostile input: one line saying what to fix, exit 1, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.functional.test_rules_cli import squall
from tests.unit.test_rules_input_limits import alias_bomb, nested_yaml

TOO_DEEP = "at most 100 levels of mappings and lists are allowed"


def one_line_failure(*args: str) -> str:
    """Run squall; assert exit 1 and a single line of output in all; return it."""
    result = squall(*args)
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 1, output
    assert "Traceback" not in output and len(output.splitlines()) == 1, output
    return output


def test_an_alias_bomb_fails_validate_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb())
    line = one_line_failure("rules", "validate", str(path))
    assert line.startswith(f"error: {path}:") and "aliases stand for more than 10,000 values" in line


@pytest.mark.parametrize(("name", "text"), [
    ("deep.yaml", nested_yaml(300)),
    ("deep.json", '{"id": "r", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"),
])
def test_deep_nesting_fails_validate_with_one_line_naming_the_limit(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    line = one_line_failure("rules", "validate", str(path))
    assert line.startswith(f"error: {path}") and line.endswith(TOO_DEEP)


def test_nan_in_action_data_fails_validate_at_its_path(tmp_path: Path) -> None:
    path = tmp_path / "nan.yaml"
    path.write_text("id: r\naction: {kind: journey_entry, event_definition_key: K, data: {Score: .nan}}\n")
    result = squall("rules", "validate", str(path))
    assert result.returncode == 1
    assert result.stdout.startswith("r  $.action.data.Score  NaN and Infinity are not JSON numbers")
    assert result.stderr.strip() == "1 of 1 rules invalid"


def test_a_pattern_re2_cannot_run_fails_validate_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "backref.yaml"
    path.write_text(
        "id: r\ncondition: {field: entity, op: matches, value: '(a)\\1'}\n"
        "action: {kind: journey_entry, event_definition_key: K}\n"
    )
    result = squall("rules", "validate", str(path))
    assert result.returncode == 1
    assert result.stdout == (
        "r  $.condition.value  invalid regular expression for RE2 (linear-time matching): "
        f"invalid escape sequence: \\1 (back-references are not supported)  ({path}:1)\n"
    )


def test_rules_too_large_for_one_rule_set_fail_validate_with_one_line(tmp_path: Path) -> None:
    # GIVEN two files, each within the file limit, together past the rule-set limit
    for part in (1, 2):
        rules = [{"id": f"r{part}-{i}", "description": "x" * 100_000,
                  "action": {"kind": "journey_entry", "event_definition_key": "K"}} for i in range(8)]
        (tmp_path / f"part{part}.json").write_text(json.dumps(rules))
    line = one_line_failure("rules", "validate", str(tmp_path))
    assert line.startswith(f"error: {tmp_path}: the rule set is 1,6") and "at most 1,500,000 can be stored" in line


def test_a_deep_state_file_fails_explain_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "event.json").write_text(json.dumps(
        {"id": "e", "source": "json", "type": "t", "time": "2024-05-01T00:00:00Z", "entity": "x"}
    ))
    (tmp_path / "state.json").write_text("[" * 100_000 + "]" * 100_000)
    line = one_line_failure("rules", "explain", "rules", str(tmp_path / "event.json"),
                            "--state", str(tmp_path / "state.json"))
    assert line.endswith(TOO_DEEP)
