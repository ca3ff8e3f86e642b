"""The candidate index: which rules can match an event, in priority order, cheaply.

Rules are keyed by event type (exact types in a dict, ``Prefix/*`` patterns in a list) and source.
The first event of each (source, type) builds a ``Bucket`` that is then reused, so selecting the
candidates of an event is one dict lookup. Inside a bucket, rules that test a field for equality
with strings at the top of their condition (``tenant eq contoso``, ``attributes.result_status in
[failed]``) are dispatched by that field's value, so the cost of an event follows the rules that
can match it, not the size of the rule set.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING, Any

from shared.events.models import Event
from shared.rules.conditions import Check, compile_condition, dispatch_keys
from shared.rules.fields import compile_getter, parse_field_path

if TYPE_CHECKING:
    from shared.rules.compiler import CompiledRule

#: (source, type) buckets kept; a stream with more distinct types rebuilds instead of growing.
MAX_BUCKETS = 4096
#: Fields one bucket dispatches on, and cached candidate lists for events hitting several of them.
MAX_DISPATCH_FIELDS = 4
MAX_COMBINATIONS = 4096
#: Dispatching costs a lookup per event; below this many rules on a field, checking them is cheaper.
MIN_DISPATCH_RULES = 4


@dataclass(frozen=True, slots=True)
class Candidate:
    """A rule as one bucket sees it: ``check`` is its condition minus what dispatch already tested."""

    rule: CompiledRule
    check: Check


@dataclass(frozen=True, slots=True)
class CandidateList:
    """Candidates in priority order, and the stateful ones among them (for ``needs_state``)."""

    all: tuple[Candidate, ...]
    stateful: tuple[Candidate, ...]

    @classmethod
    def of(cls, candidates: Iterable[Candidate]) -> CandidateList:
        ordered = tuple(sorted(candidates, key=lambda candidate: candidate.rule.order))
        return cls(ordered, tuple(c for c in ordered if c.rule.is_stateful))


@dataclass(frozen=True, slots=True)
class Dispatcher:
    """Rules keyed by one field's string value. ``merged[v]`` already includes the bucket's unkeyed rules."""

    get: Callable[[Event], Any]
    keyed: dict[str, tuple[Candidate, ...]]
    merged: dict[str, CandidateList]


class Bucket:
    """The candidates for one (source, type).

    Rules with a top-level string equality are dispatched by that field's value (up to
    ``MAX_DISPATCH_FIELDS`` fields, the commonest first); the others are candidates for every event.
    """

    def __init__(self, rules: Sequence[CompiledRule]) -> None:
        self.has_stateful = any(rule.is_stateful for rule in rules)
        self._dispatchers, unkeyed = _build_dispatchers(rules)
        self._unkeyed = unkeyed
        self._always = CandidateList.of(unkeyed)
        self._combined: dict[tuple[str, ...], CandidateList] = {}
        #: The candidates when they do not depend on the event (nothing to dispatch on), else None.
        self.fixed: CandidateList | None = None if self._dispatchers else self._always

    def select(self, event: Event) -> CandidateList:
        hits: list[tuple[Dispatcher, str]] = []
        for dispatcher in self._dispatchers:
            value = dispatcher.get(event)
            if type(value) is str and value in dispatcher.keyed:
                hits.append((dispatcher, value))
        if not hits:
            return self._always
        if len(hits) == 1:
            dispatcher, value = hits[0]
            return dispatcher.merged[value]
        return self._combine(hits)

    def candidates(self, event: Event) -> tuple[Candidate, ...]:
        return self.select(event).all

    def _combine(self, hits: list[tuple[Dispatcher, str]]) -> CandidateList:
        key = tuple(value for _, value in hits)
        found = self._combined.get(key)
        if found is None:
            found = CandidateList.of(chain(self._unkeyed, *(d.keyed[value] for d, value in hits)))
            if len(self._combined) >= MAX_COMBINATIONS:
                self._combined.clear()
            self._combined[key] = found
        return found


def _build_dispatchers(rules: Sequence[CompiledRule]) -> tuple[list[Dispatcher], list[Candidate]]:
    """Peel off dispatchable rules field by field; return the dispatchers and the unkeyed rest."""
    remaining = list(rules)
    keyed_by_field: list[tuple[str, dict[str, list[Candidate]]]] = []
    while len(keyed_by_field) < MAX_DISPATCH_FIELDS:
        field = _commonest_dispatch_field(remaining)
        if field is None:
            break
        keyed: dict[str, list[Candidate]] = defaultdict(list)
        rest: list[CompiledRule] = []
        for rule in remaining:
            key = next((k for k in dispatch_keys(rule.definition.condition) if k.field == field), None)
            if key is None:
                rest.append(rule)
                continue
            residual = Candidate(rule, compile_condition(key.residual))
            for value in key.values:
                keyed[value].append(residual)
        keyed_by_field.append((field, keyed))
        remaining = rest
    unkeyed = [Candidate(rule, rule.check) for rule in remaining]
    dispatchers = [
        Dispatcher(
            get=compile_getter(parse_field_path(field)),
            keyed={value: tuple(candidates) for value, candidates in keyed.items()},
            merged={value: CandidateList.of(candidates + unkeyed) for value, candidates in keyed.items()},
        )
        for field, keyed in keyed_by_field
    ]
    return dispatchers, unkeyed


def _commonest_dispatch_field(rules: Sequence[CompiledRule]) -> str | None:
    """The field most of these rules dispatch on, when enough of them do."""
    counts = Counter(key.field for rule in rules for key in dispatch_keys(rule.definition.condition))
    if not counts:
        return None
    field, count = counts.most_common(1)[0]
    return field if count >= MIN_DISPATCH_RULES else None


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
        #: Built buckets by (source, type); callers on the hot path may read it directly.
        self.buckets: dict[tuple[str, str], Bucket] = {}

    def bucket(self, event: Event) -> Bucket:
        key = (event.source, event.type)
        found = self.buckets.get(key)
        if found is None:
            found = self._build(*key)
            if len(self.buckets) >= MAX_BUCKETS:
                self.buckets.clear()
            self.buckets[key] = found
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
