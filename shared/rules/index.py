"""The candidate index: which rules can match an event, in priority order, cheaply.

Rules are keyed by event type (exact types in a dict, ``Prefix/*`` patterns in a list) and source.
The first event of each (source, type) builds a ``Bucket`` that is then reused, so selecting the
candidates of an event is one dict lookup. Inside a bucket, rules that test the same field for
equality with strings (``attributes.workload eq Exchange``, ``tenant in [...]``) are dispatched by
that field's value, so the cost of an event follows the rules that can match it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared.events.models import Event
from shared.rules.conditions import Check, compile_condition, dispatch_keys
from shared.rules.fields import compile_getter, parse_field_path

if TYPE_CHECKING:
    from shared.rules.compiler import CompiledRule

#: (source, type) buckets kept; a stream with more distinct types rebuilds instead of growing.
MAX_BUCKETS = 4096


@dataclass(frozen=True, slots=True)
class Candidate:
    """A rule as one bucket sees it: ``check`` is its condition minus what dispatch already tested."""

    rule: CompiledRule
    check: Check


class Bucket:
    """The candidates for one (source, type), optionally dispatched on one field's string value."""

    def __init__(self, rules: Sequence[CompiledRule]) -> None:
        ordered = sorted(rules, key=lambda rule: rule.order)
        self.has_stateful = any(rule.is_stateful for rule in ordered)
        field = _dispatch_field(ordered)
        self._get: Callable[[Event], Any] | None = None
        self._by_value: dict[str, tuple[Candidate, ...]] = {}
        if field is None:
            self._default = tuple(Candidate(rule, rule.check) for rule in ordered)
            return
        self._get = compile_getter(parse_field_path(field))
        self._default, self._by_value = _dispatch(ordered, field)

    def candidates(self, event: Event) -> tuple[Candidate, ...]:
        if self._get is None:
            return self._default
        value = self._get(event)
        if type(value) is str:
            return self._by_value.get(value, self._default)
        return self._default


def _dispatch_field(rules: Sequence[CompiledRule]) -> str | None:
    """The field most rules of the bucket dispatch on, when at least two do."""
    counts = Counter(key.field for rule in rules for key in dispatch_keys(rule.definition.condition))
    if not counts:
        return None
    field, count = counts.most_common(1)[0]
    return field if count >= 2 else None


def _dispatch(
    ordered: Sequence[CompiledRule], field: str
) -> tuple[tuple[Candidate, ...], dict[str, tuple[Candidate, ...]]]:
    always: list[Candidate] = []
    keyed: dict[str, list[Candidate]] = defaultdict(list)
    for rule in ordered:
        key = next((k for k in dispatch_keys(rule.definition.condition) if k.field == field), None)
        if key is None:
            always.append(Candidate(rule, rule.check))
            continue
        residual = Candidate(rule, compile_condition(key.residual))
        for value in key.values:
            keyed[value].append(residual)
    by_value = {
        value: tuple(sorted(candidates + always, key=lambda c: c.rule.order))
        for value, candidates in keyed.items()
    }
    return tuple(always), by_value


class RuleIndex:
    """Rules by (source, type); ``bucket(event)`` is the entry point."""

    def __init__(self, rules: Sequence[CompiledRule]) -> None:
        self._exact: dict[str, list[CompiledRule]] = defaultdict(list)
        self._prefixes: list[tuple[str, CompiledRule]] = []
        self._any_type: list[CompiledRule] = []
        for rule in rules:
            for pattern in rule.type_patterns:
                if pattern == "*":
                    self._any_type.append(rule)
                elif pattern.endswith("*"):
                    self._prefixes.append((pattern[:-1], rule))
                else:
                    self._exact[pattern].append(rule)
        self._buckets: dict[tuple[str, str], Bucket] = {}

    def bucket(self, event: Event) -> Bucket:
        key = (event.source, event.type)
        found = self._buckets.get(key)
        if found is None:
            found = self._build(*key)
            if len(self._buckets) >= MAX_BUCKETS:
                self._buckets.clear()
            self._buckets[key] = found
        return found

    def _build(self, source: str, event_type: str) -> Bucket:
        matching: dict[str, CompiledRule] = {}
        for rule in self._exact.get(event_type, ()):
            matching[rule.id] = rule
        for prefix, rule in self._prefixes:
            if event_type.startswith(prefix):
                matching[rule.id] = rule
        for rule in self._any_type:
            matching[rule.id] = rule
        return Bucket([rule for rule in matching.values() if rule.source in (None, source)])
