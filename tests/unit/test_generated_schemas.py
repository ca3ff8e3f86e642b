"""The rule schemas in openapi/ are generated from the pydantic models, and say what the models accept.

``python -m squall.schemas`` (``make schemas``) writes them; these tests fail while the committed
files differ from what the models generate, so a model change cannot leave the documents behind.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from shared.rules import load_rule_documents, validate_rules
from squall import schemas

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "rules.md"


def doc_examples() -> list[dict[str, Any]]:
    """Every rule written out in docs/rules.md (the YAML blocks that are one rule)."""
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)
    return [yaml.safe_load(block) for block in blocks if block.startswith("id:")]


def every_rule_kind() -> list[dict[str, Any]]:
    """The docs' examples, the sample set, and the suppression and lateness keys the docs describe."""
    examples = doc_examples()
    window = next(rule for rule in examples if "window" in rule)
    variants = [
        {**window, "id": "window-limited", "max_per_period": {"count": 3, "period": "P7D"},
         "allowed_lateness": "PT5M", "cooldown": "30d"},
    ]  # fmt: skip
    documented = {rule["id"] for rule in examples}
    samples = [loaded.raw for loaded in load_rule_documents(ROOT / "rules") if loaded.raw["id"] not in documented]
    return [*examples, *variants, *samples]


def editor_validator() -> Draft202012Validator:
    document = json.loads(schemas.EDITOR_SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(document)
    return Draft202012Validator(document)


def test_the_committed_schemas_are_what_the_models_generate() -> None:
    # GIVEN the pydantic models  WHEN the schemas are generated  THEN the committed files are identical
    stale = [path.relative_to(ROOT).as_posix() for path in schemas.stale_files()]
    assert stale == [], "run `make schemas` (python -m squall.schemas) and commit the result"


def test_a_changed_model_makes_the_committed_openapi_document_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a model change (a new field on the rule)
    original = schemas.openapi_component_schemas

    def changed() -> dict[str, Any]:
        generated = copy.deepcopy(original())
        generated["StoredRule"]["properties"]["colour"] = {"type": "string"}
        return generated

    monkeypatch.setattr(schemas, "openapi_component_schemas", changed)
    # WHEN the committed files are checked  THEN the OpenAPI document is named stale
    assert schemas.stale_files() == [schemas.OPENAPI_PATH]


def test_the_generated_rule_schema_lists_every_pattern_and_needs_no_action() -> None:
    stored = schemas.openapi_component_schemas()["StoredRule"]
    for key in ("window", "sequence", "absence", "machine", "rearm", "max_per_period", "allowed_lateness"):
        assert key in stored["properties"], key
    assert stored["required"] == ["id"]
    assert "required" not in schemas.openapi_component_schemas()["Rule"]


def test_the_documented_rule_kinds_are_valid_rules_to_the_models() -> None:
    rules = every_rule_kind()
    assert validate_rules(rules).errors == []
    kinds = {key for rule in rules for key in ("window", "sequence", "absence", "machine") if key in rule}
    assert kinds == {"window", "sequence", "absence", "machine"}


@pytest.mark.parametrize("rule", every_rule_kind(), ids=lambda rule: rule["id"])
def test_the_editor_schema_accepts_every_documented_rule_kind(rule: dict[str, Any]) -> None:
    validator = editor_validator()
    # A file may hold one rule, a list, or a list under `rules`
    for document in (rule, [rule], {"rules": [rule]}):
        assert list(validator.iter_errors(document)) == []


@pytest.mark.parametrize(
    ("rule", "why"),
    [
        ({"id": "x", "colour": "red"}, "unknown field"),
        ({"id": "Upper"}, "id pattern"),
        ({"id": "x", "priority": "100"}, "strict types"),
        ({"id": "x", "condition": {"field": "type", "op": "eq", "value": "a", "extra": 1}}, "unknown condition field"),
        ({"id": "x", "window": {"aggregate": "count"}}, "window without size"),
    ],
)
def test_the_editor_schema_refuses_what_the_models_refuse(rule: dict[str, Any], why: str) -> None:
    assert list(editor_validator().iter_errors(rule)), why
    assert validate_rules([rule]).errors, why
