"""The stateful examples in docs/rules.md are valid rules, together (one reads another's state)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from shared.rules import compile_ruleset, validate_rules

DOC = Path(__file__).resolve().parents[2] / "docs" / "rules.md"


def stateful_examples() -> list[dict[str, object]]:
    section = DOC.read_text().split("## Stateful rules", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```yaml\n(.*?)```", section, flags=re.DOTALL)
    return [yaml.safe_load(block) for block in blocks if block.startswith("id:")]


def test_every_stateful_example_in_the_docs_validates_and_compiles() -> None:
    examples = stateful_examples()
    checked = validate_rules(examples)
    assert checked.errors == []
    assert {rule.pattern for rule in checked.rules} == {"window", "sequence", "absence", "machine", None}
    compile_ruleset(checked.rules, version=1)
