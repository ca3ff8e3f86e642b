"""The YAML reader for rule files: plain data, no surprises, bounded depth and alias expansion.

YAML is read as data only (safe loader) with two changes that avoid classic surprises: dates stay
strings (the rule compiler types them; stored rules stay JSON), and only ``true``/``false`` are
booleans (``on``, ``no``, ``yes`` stay strings). Duplicate keys are an error, not a silent overwrite.

Two bounds are checked while the document is composed, before anything recurses deeper or
expands: nesting at most ``MAX_NESTING_DEPTH`` levels (PyYAML's composer and constructor recurse per
level, so 300 levels used to end in a ``RecursionError``), and aliases standing for at most
``MAX_ALIAS_VALUES`` values in all (a 1 KB "billion laughs" document expands to 10^9 values when a
rule walks it). An alias to the mapping or list that contains it (a cycle) is refused.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from shared.rules.authoring.limits import MAX_ALIAS_VALUES, MAX_NESTING_DEPTH, too_deep_message


class YamlTooLarge(yaml.MarkedYAMLError):
    """The document breaks a limit of ``limits.py``; ``problem`` says which, ``problem_mark`` where."""


class RuleYamlLoader(yaml.SafeLoader):
    """SafeLoader without timestamps and YAML 1.1 yes/no/on/off booleans; rejects duplicate keys;
    bounds nesting and alias expansion while composing."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._deepest = 0  # the deepest level reached (aliases counted at their expanded depth)
        self._values = 0  # values composed so far, each alias counted as the values it stands for
        self._alias_values = 0
        self._measured: dict[str, tuple[int, int]] = {}  # anchor -> (values, levels) of its node

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            self._count_alias(self.peek_event())
            return super().compose_node(parent, index)
        event = self.peek_event()
        self._depth += 1
        if self._depth > MAX_NESTING_DEPTH:
            raise YamlTooLarge(problem=too_deep_message(), problem_mark=event.start_mark)
        outer_deepest, outer_values = self._deepest, self._values
        self._deepest = max(self._deepest, self._depth)
        self._values += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if event.anchor is not None:
            self._measured[event.anchor] = (self._values - outer_values, self._deepest - self._depth)
        self._deepest = max(outer_deepest, self._deepest)
        return node

    def _count_alias(self, event: Any) -> None:
        anchor = getattr(event, "anchor", None)
        if anchor not in self.anchors:
            return  # PyYAML reports the undefined alias
        if anchor not in self._measured:
            raise YamlTooLarge(
                problem=f"alias *{anchor} refers to a mapping or list that contains it (a cycle)",
                problem_mark=event.start_mark,
            )
        values, levels = self._measured[anchor]
        self._values += values
        self._alias_values += values
        if self._alias_values > MAX_ALIAS_VALUES:
            raise YamlTooLarge(
                problem=f"aliases stand for more than {MAX_ALIAS_VALUES:,} values in this file: write them out "
                "or use fewer aliases",
                problem_mark=event.start_mark,
            )
        if self._depth + levels > MAX_NESTING_DEPTH:
            raise YamlTooLarge(problem=too_deep_message(self._depth + levels), problem_mark=event.start_mark)
        self._deepest = max(self._deepest, self._depth + levels)


RuleYamlLoader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
RuleYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _construct_mapping_once(loader: RuleYamlLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if isinstance(key, str) and key in seen:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping", node.start_mark, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key if isinstance(key, str) else id(key_node))
    return loader.construct_mapping(node)


RuleYamlLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping_once)
