"""load_rule_files: YAML or JSON, one rule or a list, files or directories; precise errors for bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.rules import RuleFileError, load_rule_documents, load_rule_files, validate_rules

ONE_RULE = """\
id: one
action: {kind: journey_entry, event_definition_key: K}
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_yaml_file_may_hold_one_rule(tmp_path: Path) -> None:
    assert load_rule_files(write(tmp_path, "one.yaml", ONE_RULE)) == [
        {"id": "one", "action": {"kind": "journey_entry", "event_definition_key": "K"}}
    ]


def test_a_file_may_hold_a_list_under_rules_with_each_rules_line(tmp_path: Path) -> None:
    text = "rules:\n  - id: a\n    priority: 1\n\n  - id: b\n"
    loaded = load_rule_documents(write(tmp_path, "many.yml", text))
    assert [(rule.raw["id"], rule.line) for rule in loaded] == [("a", 2), ("b", 5)]


def test_a_bare_list_and_json_files_are_accepted(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "- {id: a}\n- {id: b}\n")
    write(tmp_path, "c.json", '{"rules": [{"id": "c"}]}')
    assert [rule["id"] for rule in load_rule_files(tmp_path)] == ["a", "b", "c"]


def test_a_directory_is_read_recursively_in_name_order_skipping_other_files(tmp_path: Path) -> None:
    write(tmp_path, "b.yaml", "id: b\n")
    write(tmp_path, "a/z.yml", "id: az\n")
    write(tmp_path, "notes.md", "id: not-a-rule\n")
    write(tmp_path, ".hidden.yaml", "id: hidden\n")
    write(tmp_path, "empty.yaml", "# nothing yet\n")
    assert [rule["id"] for rule in load_rule_files(tmp_path)] == ["az", "b"]


def test_yaml_dates_and_yes_no_stay_strings_so_rules_stay_json(tmp_path: Path) -> None:
    # GIVEN YAML 1.1 scalars that PyYAML would turn into date and bool objects
    text = (
        "id: r\nsince: 2024-05-01\nat: 2024-05-01T08:00:00Z\nanswer: no\nswitch: on\nflag: true\n"
        "off_flag: False\n"
    )
    # WHEN loaded THEN dates and yes/no/on/off stay text; only true/false are booleans
    (rule,) = load_rule_files(write(tmp_path, "r.yaml", text))
    assert rule == {
        "id": "r",
        "since": "2024-05-01",
        "at": "2024-05-01T08:00:00Z",
        "answer": "no",
        "switch": "on",
        "flag": True,
        "off_flag": False,
    }


def test_unparsable_yaml_names_the_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.yaml", "id: r\naction:\n  kind: journey_entry\n   bad: indent\n")
    with pytest.raises(RuleFileError) as caught:
        load_rule_files(path)
    assert caught.value.file == path and caught.value.line == 4
    assert str(caught.value).startswith(f"{path}:4: invalid YAML")


def test_duplicate_yaml_keys_are_an_error_not_a_silent_overwrite(tmp_path: Path) -> None:
    path = write(tmp_path, "dup.yaml", "id: r\npriority: 1\npriority: 2\n")
    with pytest.raises(RuleFileError, match="duplicate key 'priority'") as caught:
        load_rule_files(path)
    assert caught.value.line == 3


def test_invalid_json_names_the_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.json", '{\n  "id": "r",\n  "priority": ,\n}')
    with pytest.raises(RuleFileError, match="invalid JSON") as caught:
        load_rule_files(path)
    assert caught.value.line == 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules: {id: a}\n", "'rules' must be a list"),
        ("version: 2\nrules: []\n", "unexpected top-level keys next to 'rules': version"),
        ("just text\n", "expected a rule \\(a mapping\\) or a list of rules"),
    ],
)
def test_wrong_document_shapes_are_file_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(RuleFileError, match=message):
        load_rule_files(write(tmp_path, "shape.yaml", text))


def test_missing_path_is_a_file_error(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError, match="no such file"):
        load_rule_files(tmp_path / "nope.yaml")


def test_list_items_that_are_not_rules_reach_validation_as_errors(tmp_path: Path) -> None:
    raw = load_rule_files(write(tmp_path, "odd.yaml", "rules:\n  - 42\n"))
    assert [(e.index, e.message) for e in validate_rules(raw).errors] == [(0, "a rule must be a mapping")]
