"""Generate the rule schemas from the pydantic models: the OpenAPI components and ``rules.schema.json``.

    python -m squall.schemas           # rewrite openapi/rules-api.yaml's generated part and openapi/rules.schema.json
    python -m squall.schemas --check   # exit 1 (naming the stale file) when either differs from the models
    make schemas                       # the same as the first line

Nothing here is written by hand: ``RuleDefinition.model_json_schema()`` gives every rule schema
(conditions, patterns, actions), so a model change reaches the documents by running this again; a
unit test fails while the committed files differ from what the models generate.

- ``openapi/rules-api.yaml``: the paths and the answer schemas are hand-written; everything after
  the ``GENERATED_MARK`` line (at the end of ``components.schemas``) is generated: ``StoredRule``
  (a rule as stored and listed: ``id`` required), ``Rule`` (a request body: ``id`` may be left out)
  and the schemas they reference.
- ``openapi/rules.schema.json``: a JSON Schema (2020-12) for editors, of a rule file: one rule, a
  list of rules, or ``{rules: [...]}``.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from shared.rules import RuleDefinition

ROOT = Path(__file__).resolve().parents[1]
OPENAPI_PATH = ROOT / "openapi" / "rules-api.yaml"
EDITOR_SCHEMA_PATH = ROOT / "openapi" / "rules.schema.json"
GENERATED_MARK = (
    "    # --- generated from the pydantic rule models by `make schemas` (python -m squall.schemas);"
    " do not edit below ---"
)
EDITOR_SCHEMA_ID = "urn:squall:schema:rule-file"


def _model_schema(ref_template: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the rule's own schema, the schemas it references by name)."""
    schema = RuleDefinition.model_json_schema(ref_template=ref_template, mode="validation")
    definitions = schema.pop("$defs", {})
    return schema, definitions


def openapi_component_schemas() -> dict[str, Any]:
    """``StoredRule``, ``Rule`` and every schema they reference, for ``components.schemas``."""
    stored, definitions = _model_schema("#/components/schemas/{model}")
    body = copy.deepcopy(stored)
    body["required"] = [name for name in body.get("required", []) if name != "id"]
    if not body["required"]:
        del body["required"]
    body["title"] = "Rule"
    body["description"] = (
        "A trigger rule as a request body (docs/rules.md); `id` may be left out (it is taken from the path)."
    )
    stored["title"] = "StoredRule"
    return {"StoredRule": stored, "Rule": body, **dict(sorted(definitions.items()))}


def editor_schema() -> dict[str, Any]:
    """A JSON Schema for rule files (one rule, a list, or ``{rules: [...]}``), for editors."""
    rule, definitions = _model_schema("#/$defs/{model}")
    definitions = {"RuleDefinition": rule, **dict(sorted(definitions.items()))}
    one = {"$ref": "#/$defs/RuleDefinition"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": EDITOR_SCHEMA_ID,
        "title": "Squall rule file",
        "description": "One trigger rule, a list of rules, or a list under `rules` (docs/rules.md).",
        "oneOf": [
            one,
            {"type": "array", "items": one},
            {
                "type": "object",
                "required": ["rules"],
                "additionalProperties": False,
                "properties": {"rules": {"type": "array", "items": one}},
            },
        ],
        "$defs": definitions,
    }


def render_editor_schema() -> str:
    return json.dumps(editor_schema(), indent=2, ensure_ascii=False) + "\n"


def render_openapi(current: str) -> str:
    """``current`` (the OpenAPI document's text) with everything after ``GENERATED_MARK`` regenerated."""
    head, found, _ = current.partition(GENERATED_MARK)
    if not found:
        raise SystemExit(f"{OPENAPI_PATH}: the line {GENERATED_MARK.strip()!r} is missing; put it last under "
                         "components.schemas")  # fmt: skip
    dumped = yaml.safe_dump(openapi_component_schemas(), sort_keys=False, allow_unicode=True, width=100)
    indented = "".join(f"    {line}" if line.strip() else line for line in dumped.splitlines(keepends=True))
    return head + GENERATED_MARK + "\n" + indented


def stale_files() -> list[Path]:
    """The generated files whose committed text differs from what the models generate."""
    stale = []
    if OPENAPI_PATH.read_text(encoding="utf-8") != render_openapi(OPENAPI_PATH.read_text(encoding="utf-8")):
        stale.append(OPENAPI_PATH)
    if not EDITOR_SCHEMA_PATH.exists() or EDITOR_SCHEMA_PATH.read_text(encoding="utf-8") != render_editor_schema():
        stale.append(EDITOR_SCHEMA_PATH)
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m squall.schemas", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="Only check; exit 1 when a file is stale.")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        for path in stale:
            print(f"{path.relative_to(ROOT)} is stale: run `make schemas`", file=sys.stderr)
        return 1 if stale else 0
    OPENAPI_PATH.write_text(render_openapi(OPENAPI_PATH.read_text(encoding="utf-8")), encoding="utf-8")
    EDITOR_SCHEMA_PATH.write_text(render_editor_schema(), encoding="utf-8")
    print(f"wrote {OPENAPI_PATH.relative_to(ROOT)} (generated schemas) and {EDITOR_SCHEMA_PATH.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
