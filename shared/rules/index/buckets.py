"""The candidate index: which rules can match an event, in priority order, cheaply.

Rules are keyed by event type (exact types in a dict, ``Prefix/*`` patterns in a list) and source.
The first event of each (source, type) builds a ``Bucket`` that is then reused, so selecting the
candidates of an event is one dict lookup. Inside a bucket, rules whose condition starts with a
string test on a field are *dispatched* on that field instead of checked: equality (``tenant eq
contoso``, ``attributes.result_status in [failed]``) by a dict lookup of the event's value,
``starts_with``/``ends_with`` by a lookup of the value's prefix/suffix (see ``dispatchers.py``).
A dispatched rule is a candidate only when the lookup hits, and then checks only the rest of its
condition. So the cost of an event follows the rules that can match it, not the size of the set.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from itertools import chain

from shared.events.models import Event
from shared.rules.compiled import CompiledRule
from shared.rules.conditions.compiler import compile_condition
from shared.rules.definitions.conditions import AllCondition, AnyCondition, Condition, NotCondition
from shared.rules.index.candidates import Candidate, CandidateList
from shared.rules.index.dispatchers import Dispatcher, build_dispatcher, text_field_table
from shared.rules.index.keys import DispatchKey, dispatch_keys

#: (source, type) buckets kept; a stream with more distinct types rebuilds instead of growing.
MAX_BUCKETS = 4096
#: Fields one bucket dispatches on, and cached candidate lists for events hitting several of them.
MAX_DISPATCH_FIELDS = 6
MAX_COMBINATIONS = 4096
#: A lookup costs about one field test: dispatch a field only when it is expected to skip this many.
MIN_DISPATCH_BENEFIT = 1.0






class Bucket:
    """The candidates for one (source, type): dispatched groups plus the rules checked always."""

    def __init__(self, rules: Sequence[CompiledRule]) -> None:
        self.has_stateful = any(rule.is_stateful for rule in rules)
        dispatchers, unkeyed = _build_dispatchers(rules)
        self._unkeyed = unkeyed
        self._always = CandidateList.of(unkeyed)
        self._lookups = tuple(dispatchers)
        self._tables: tuple[tuple[Callable[[Event], object], Callable[[object], CandidateList | None]], ...] = ()
        self._combined: dict[tuple[CandidateList, ...], CandidateList] = {}
        #: The candidates when they do not depend on the event (nothing to dispatch on), else None.
        self.fixed: CandidateList | None = None if dispatchers else self._always
        if len(dispatchers) > 1:  # text-field equality tables first, without their dispatcher's frame
            tables = [text_field_table(dispatcher) for dispatcher in dispatchers]
            self._tables = tuple(table for table in tables if table is not None)
            self._lookups = tuple(d for d, table in zip(dispatchers, tables, strict=True) if table is None)
        if len(dispatchers) == 1:  # the commonest shape: one lookup, no loop
            only, always = dispatchers[0], self._always
            self.select = lambda event: only(event) or always  # type: ignore[method-assign]
            table = text_field_table(dispatchers[0])
            if table is not None:  # ``tenant in [...]``: the value is text or None, one dict lookup
                read, get = table
                self.select = lambda event: get(read(event)) or always  # type: ignore[method-assign]

    def select(self, event: Event) -> CandidateList:
        """The candidates for ``event``: text-field equality tables read directly (no dispatcher frame),
        then the other dispatchers; several hits merge (the same in any order)."""
        found: CandidateList | None = None
        more: list[CandidateList] | None = None
        for read, get in self._tables:
            hit = get(read(event))
            if hit is not None:
                if found is None:
                    found = hit
                elif more is None:
                    more = [found, hit]
                else:
                    more.append(hit)
        for lookup in self._lookups:
            hit = lookup(event)
            if hit is not None:
                if found is None:
                    found = hit
                elif more is None:
                    more = [found, hit]
                else:
                    more.append(hit)
        if more is not None:
            return self._combine(tuple(more))
        return self._always if found is None else found

    def candidates(self, event: Event) -> tuple[Candidate, ...]:
        return self.select(event).all

    def _combine(self, hits: tuple[CandidateList, ...]) -> CandidateList:
        found = self._combined.get(hits)
        if found is None:
            found = CandidateList.of(chain(self._unkeyed, *(hit.keyed for hit in hits)))
            if len(self._combined) >= MAX_COMBINATIONS:
                self._combined.clear()
            self._combined[hits] = found
        return found


def _build_dispatchers(rules: Sequence[CompiledRule]) -> tuple[list[Dispatcher], list[Candidate]]:
    """Peel off dispatchable rules field by field (the most useful first); return the rest unkeyed."""
    remaining = list(rules)
    groups: list[tuple[str, str, dict[str, list[Candidate]]]] = []
    while len(groups) < MAX_DISPATCH_FIELDS:
        choice = _most_useful_dispatch(remaining)
        if choice is None:
            break
        field, kind = choice
        keyed: dict[str, list[Candidate]] = defaultdict(list)
        rest: list[CompiledRule] = []
        for rule in remaining:
            key = _key_for(rule, field, kind)
            if key is None:
                rest.append(rule)
                continue
            residual = Candidate(rule, compile_condition(key.residual))
            for value in key.values:
                keyed[value].append(residual)
        groups.append((field, kind, keyed))
        remaining = rest
    unkeyed = [Candidate(rule, rule.check) for rule in remaining]
    dispatchers = [_dispatcher(field, kind, keyed, unkeyed) for field, kind, keyed in groups]
    return dispatchers, unkeyed


def _dispatcher(field: str, kind: str, keyed: dict[str, list[Candidate]], unkeyed: list[Candidate]) -> Dispatcher:
    def merge(hits: list[CandidateList]) -> CandidateList:
        dispatched = list(chain.from_iterable(hit.keyed for hit in hits))
        return CandidateList.of(chain(unkeyed, dispatched), keyed=dispatched)

    whole = [Candidate(c.rule, c.rule.check) for group in keyed.values() for c in group]
    return build_dispatcher(
        field,
        kind,
        {value: CandidateList.of(chain(unkeyed, group), keyed=group) for value, group in keyed.items()},
        unexpected=CandidateList.of(chain(unkeyed, whole), keyed=whole),
        merge=merge,
    )


def _key_for(rule: CompiledRule, field: str, kind: str) -> DispatchKey | None:
    return next((k for k in dispatch_keys(rule.definition.condition) if k.field == field and k.kind == kind), None)


def _most_useful_dispatch(rules: Sequence[CompiledRule]) -> tuple[str, str] | None:
    """The (field, kind) whose lookup is expected to skip the most field tests, if worth a lookup.

    A rule keyed on ``n`` of the ``D`` distinct values the rules name for a field is skipped for
    about ``1 - n/(2D)`` of the events (the named values and as many unnamed ones assumed equally
    likely), and a skipped rule saves the field tests of its condition: ``tenant in [one of 300]``
    nearly always, ``attributes.workload eq SharePoint`` (one of 6) less, and a lone rule's
    ``entity in [...]`` about half the time, which pays when its other tests are costly.
    """
    keys: dict[tuple[str, str], list[tuple[frozenset[str], int]]] = defaultdict(list)
    for rule in rules:
        leaves = _leaf_count(rule.definition.condition)
        for key in dispatch_keys(rule.definition.condition):
            keys[(key.field, key.kind)].append((key.values, leaves))
    best, best_benefit = None, MIN_DISPATCH_BENEFIT
    for field_kind, value_sets in keys.items():
        distinct = 2 * len(frozenset().union(*(values for values, _ in value_sets)))
        benefit = sum((1 - min(1.0, len(values) / distinct)) * leaves for values, leaves in value_sets)
        if benefit >= best_benefit:
            best, best_benefit = field_kind, benefit
    return best


def _leaf_count(condition: Condition | None) -> int:
    """The field tests in ``condition``: what checking it costs, roughly (a skipped rule saves them)."""
    if isinstance(condition, AllCondition):
        return sum(_leaf_count(child) for child in condition.all)
    if isinstance(condition, AnyCondition):
        return sum(_leaf_count(child) for child in condition.any)
    if isinstance(condition, NotCondition):
        return _leaf_count(condition.not_)
    return 1


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
