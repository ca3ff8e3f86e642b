"""Read rule files: YAML or JSON, one rule per file or a list under ``rules:``.

YAML is read as data only (safe loader) with two changes that avoid classic surprises: dates stay
strings (the rule compiler types them; stored rules stay JSON), and only ``true``/``false`` are
booleans (``on``, ``no``, ``yes`` stay strings). Duplicate keys are an error, not a silent overwrite.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from shared.rules.errors import RuleFileError

RULE_FILE_SUFFIXES = (".yaml", ".yml", ".json")


class _RuleYamlLoader(yaml.SafeLoader):
    """SafeLoader without timestamps and YAML 1.1 yes/no/on/off booleans; rejects duplicate keys."""


_RuleYamlLoader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_RuleYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _construct_mapping_once(loader: _RuleYamlLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if isinstance(key, str) and key in seen:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping", node.start_mark, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key if isinstance(key, str) else id(key_node))
    return loader.construct_mapping(node)


_RuleYamlLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping_once)


@dataclass(frozen=True, slots=True)
class LoadedRule:
    """One raw rule and where it was written (``line`` is 1-based)."""

    raw: Any
    file: Path
    line: int | None = None


def load_rule_files(path: Path) -> list[dict[str, Any]]:
    """Raw rules from a file or a directory (``*.yaml``, ``*.yml``, ``*.json``, sorted, recursive)."""
    return [loaded.raw for loaded in load_rule_documents(path)]


def load_rule_documents(path: Path) -> list[LoadedRule]:
    """Like ``load_rule_files``, keeping each rule's file and line. Raises ``RuleFileError``."""
    path = Path(path)
    if path.is_dir():
        files = sorted(
            p for p in path.rglob("*") if p.is_file() and p.suffix in RULE_FILE_SUFFIXES and not p.name.startswith(".")
        )
        return [rule for file in files for rule in _load_file(file)]
    if not path.exists():
        raise RuleFileError(path, "no such file or directory")
    return _load_file(path)


def _load_file(file: Path) -> list[LoadedRule]:
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleFileError(file, f"cannot read: {exc}") from None
    if file.suffix == ".json":
        return _split(file, _parse_json(file, text), lines=None)
    return _load_yaml(file, text)


def _parse_json(file: Path, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RuleFileError(file, f"invalid JSON: {exc.msg}", line=exc.lineno) from None


def _load_yaml(file: Path, text: str) -> list[LoadedRule]:
    loader = _RuleYamlLoader(text)
    try:
        node = loader.get_single_node()
        document = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "invalid YAML"
        raise RuleFileError(file, f"invalid YAML: {problem}", line=mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise RuleFileError(file, f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    return _split(file, document, lines=_rule_lines(node))


def _rule_lines(node: yaml.Node | None) -> list[int] | None:
    """1-based start line of each rule in a YAML document, in the order ``_split`` yields them."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if getattr(key_node, "value", None) == "rules" and isinstance(value_node, yaml.SequenceNode):
                return [item.start_mark.line + 1 for item in value_node.value]
        return [node.start_mark.line + 1]
    if isinstance(node, yaml.SequenceNode):
        return [item.start_mark.line + 1 for item in node.value]
    return None


def _split(file: Path, document: Any, *, lines: list[int] | None) -> list[LoadedRule]:
    if document is None:
        return []
    if isinstance(document, dict) and "rules" in document:
        extra = sorted(str(key) for key in document if key != "rules")
        if extra:
            raise RuleFileError(file, f"unexpected top-level keys next to 'rules': {', '.join(extra)}")
        document = document["rules"]
        if not isinstance(document, list):
            raise RuleFileError(file, "'rules' must be a list of rules")
    items = document if isinstance(document, list) else [document]
    if not isinstance(document, list | dict):
        raise RuleFileError(file, "expected a rule (a mapping) or a list of rules under 'rules:'")
    positions = lines if lines is not None and len(lines) == len(items) else [None] * len(items)
    return [LoadedRule(item, file, line) for item, line in zip(items, positions, strict=True)]
