"""Candidates: the records the index hands the evaluator — the one module both index/ and engine/ import
(dispatchers and buckets build them, the stateful pass reads them), which breaks the old import circle."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shared.rules.compiled import CompiledRule
from shared.rules.conditions.compiler import Check


@dataclass(frozen=True, slots=True)
class Candidate:
    """A rule as one bucket sees it: ``check`` is its condition minus what dispatch already tested."""

    rule: CompiledRule
    check: Check


@dataclass(frozen=True, slots=True, eq=False)
class CandidateList:
    """Candidates in priority order, and the stateful ones among them (for ``needs_state``).

    ``keyed`` is the dispatched group alone (without the bucket's always-candidates), for merging
    the groups of an event that hits several dispatchers.
    """

    all: tuple[Candidate, ...]
    stateful: tuple[Candidate, ...]
    keyed: tuple[Candidate, ...] = ()
    #: Whether a candidate has a program (window, sequence, machine ...): evaluation goes stateful.
    has_programs: bool = False

    @classmethod
    def of(cls, candidates: Iterable[Candidate], *, keyed: Iterable[Candidate] = ()) -> CandidateList:
        unique = {id(candidate.rule): candidate for candidate in candidates}  # a rule once, first wins
        ordered = tuple(sorted(unique.values(), key=lambda candidate: candidate.rule.order))
        stateful = tuple(c for c in ordered if c.rule.is_stateful)
        has_programs = any(c.rule.program is not None for c in ordered)
        return cls(ordered, stateful, tuple(keyed), has_programs)
