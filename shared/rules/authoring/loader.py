"""Read rule files: YAML or JSON, one rule per file or a list under ``rules:``.

YAML is read by ``yaml_text.RuleYamlLoader`` (plain data, dates stay strings, duplicate keys refused),
JSON by ``json_text.parse_json_text``; both hold the input to ``limits.py`` (file size, nesting,
alias expansion, no ``NaN``) and every problem is a ``RuleFileError`` naming the file and, when
known, the line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from shared.rules.authoring.json_text import JsonTextError, parse_json_text
from shared.rules.authoring.limits import MAX_RULE_FILE_BYTES
from shared.rules.authoring.yaml_text import RuleYamlLoader, YamlTooLarge
from shared.rules.errors import RuleFileError

RULE_FILE_SUFFIXES = (".yaml", ".yml", ".json")


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
    text = _read_text(file)
    if file.suffix == ".json":
        try:
            document = parse_json_text(text)
        except JsonTextError as exc:
            raise RuleFileError(file, exc.message, line=exc.line) from None
        return _split(file, document, lines=None)
    return _load_yaml(file, text)


def _read_text(file: Path) -> str:
    """The file's text, read no further than the size limit (a FIFO or device cannot hang the read)."""
    try:
        with file.open("rb") as stream:
            data = stream.read(MAX_RULE_FILE_BYTES + 1)
        if len(data) > MAX_RULE_FILE_BYTES:
            raise RuleFileError(
                file, f"larger than {MAX_RULE_FILE_BYTES:,} bytes, the limit for one rule file: split it"
            )
        return data.decode("utf-8-sig")  # a byte order mark (Windows editors write one) is dropped
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleFileError(file, f"cannot read: {exc}") from None


def _load_yaml(file: Path, text: str) -> list[LoadedRule]:
    loader = RuleYamlLoader(text)
    try:
        node = loader.get_single_node()
        document = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "invalid YAML"
        message = problem if isinstance(exc, YamlTooLarge) else f"invalid YAML: {problem}"
        raise RuleFileError(file, message, line=mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise RuleFileError(file, f"invalid YAML: {exc}") from None
    except ValueError:  # an integer beyond Python's 4,300-digit conversion limit
        raise RuleFileError(file, "invalid YAML: a number has too many digits") from None
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
