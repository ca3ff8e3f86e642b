"""Why a rule did or did not fire for an event: ``explain_rule`` / ``explain_rules``.

    explanation = explain_rule(rule, event, state)      # state: EntityState | None (None: a new entity)
    explanation.verdict, explanation.fired               # "condition false", False
    explanation.condition.children[0].actual              # ValuePreview("string", "'admin'")
    explanation.to_json()

The engine itself decides ``fired``: the rules are compiled and evaluated on a copy of the state,
so the verdict is what the pipeline would do (windows, sequences, machines and suppression
included). A second evaluation without the suppression entries tells "suppressed" from "did not
match". The per-node tree uses the same operator table; ``state.`` fields are read from the state
as the engine left it after the event (what rules of lower priority than a machine or window see).
``edge`` names the edge case that decided the verdict, if one did (``explain/edges.py``).
The state given is never modified.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

from shared.events.models import Event
from shared.rules.compiled import CompiledRule
from shared.rules.definitions.rule import RuleDefinition
from shared.rules.engine.compiler import compile_ruleset
from shared.rules.engine.ruleset import CompiledRuleSet
from shared.rules.explain.conditions import FieldReader, explain_condition, field_reader
from shared.rules.explain.edges import EdgeCase, decisive_edge
from shared.rules.explain.models import (
    ConditionExplanation,
    CooldownExplanation,
    RuleExplanation,
    StateExplanation,
    WhenExplanation,
)
from shared.rules.explain.state import explain_stateful_parts
from shared.rules.language.durations import format_duration
from shared.rules.language.times import format_datetime
from shared.rules.stateful.pattern import type_matches as any_type_matches
from shared.rules.stateful.program import index_type_patterns
from shared.rules.stateful.suppression import forget_suppression, last_fired
from shared.store.models import EntityState


@dataclass(frozen=True, slots=True)
class _Run:
    """One event through the engine: the states around it and what fired (with and without suppression)."""

    ruleset: CompiledRuleSet
    event: Event
    before: EntityState
    after: EntityState
    fired: frozenset[str]
    read: FieldReader
    state: EntityState | None

    def fires_unsuppressed(self, rule_id: str) -> bool:
        """Whether ``rule_id`` fires when its own cool-down, rate and re-arm entries are forgotten."""
        state = _copy(self.state, self.event.entity)
        forget_suppression(state, rule_id)
        return any(match.rule_id == rule_id for match in self.ruleset.evaluate(self.event, state))


def explain_rule(rule: RuleDefinition, event: Event, state: EntityState | None) -> RuleExplanation:
    """Explain one rule on its own (no other rule can stop it). A rule that reads another rule's
    ``state.`` needs the whole set: use ``explain_rules(rules, ..., only=rule.id)``."""
    return explain_rules([rule], event, state)[0]


def explain_rules(
    rules: Sequence[RuleDefinition],
    event: Event,
    state: EntityState | None,
    *,
    only: str | None = None,
    ruleset: CompiledRuleSet | None = None,
) -> list[RuleExplanation]:
    """Explain the rules of a set for ``event`` (all, or the one with id ``only``), in engine order.

    Raises ``InvalidRuleSet`` when the rules cannot be compiled together (see ``compile_ruleset``).
    """
    ordered = sorted(rules, key=lambda rule: (-rule.priority, rule.id))
    run = _run_engine(ruleset or compile_ruleset(ordered), event, state)
    compiled = {rule.id: rule for rule in run.ruleset.rules}
    stopper: str | None = None
    explanations: list[RuleExplanation] = []
    for rule in ordered:
        if only is None or rule.id == only:
            explanations.append(_explain_one(rule, compiled.get(rule.id), run, stopped_by=stopper))
        if stopper is None and rule.stop_after_match and rule.id in run.fired:
            stopper = rule.id
    return explanations


def _run_engine(ruleset: CompiledRuleSet, event: Event, state: EntityState | None) -> _Run:
    before = _copy(state, event.entity)
    after = _copy(state, event.entity)
    fired = frozenset(match.rule_id for match in ruleset.evaluate(event, after))
    read = field_reader(event, lambda text: ruleset.state_value(text, after, event.time))
    return _Run(ruleset, event, before, after, fired, read, state)


def _copy(state: EntityState | None, entity: str) -> EntityState:
    if state is None:
        return EntityState(entity=entity)
    return EntityState(entity=state.entity, data=copy.deepcopy(state.data), etag=state.etag, due_at=state.due_at)


def _explain_one(
    rule: RuleDefinition, compiled: CompiledRule | None, run: _Run, *, stopped_by: str | None
) -> RuleExplanation:
    event = run.event
    when = explain_when(rule, event)
    tree = explain_condition(rule.condition, event, read=run.read) if rule.condition is not None else None
    stateful = explain_stateful_parts(
        rule,
        event,
        program=compiled.program if compiled is not None else None,
        before=run.before,
        after=run.after,
        read=run.read,
    )
    cooldown = explain_cooldown(rule, event, run.before)
    notes: tuple[str, ...] = ()
    if not run.before.data and rule.is_stateful:
        notes = ("no state given (or empty): explained as a new entity",)
    fired = rule.id in run.fired
    passed = when.matched and (tree is None or tree.result is True)
    suppressible = rule.cooldown is not None or rule.max_per_period is not None or rule.rearm
    suppressed = not fired and passed and suppressible and compiled is not None and run.fires_unsuppressed(rule.id)
    program = compiled.program if compiled is not None else None
    edge = None
    if when.matched and rule.enabled:
        case = EdgeCase(rule, event, program, run.before, run.after, fired, tree, stopped_by, run.read)
        edge = decisive_edge(case)
    return RuleExplanation(
        rule_id=rule.id,
        priority=rule.priority,
        enabled=rule.enabled,
        fired=fired,
        verdict=_verdict(
            rule, when, tree, cooldown, stateful, fired=fired, suppressed=suppressed, stopped_by=stopped_by
        ),
        when=when,
        condition=tree,
        condition_result=tree.result if tree is not None else True,
        cooldown=cooldown,
        stateful=stateful,
        notes=notes,
        edge=edge,
    )


def _verdict(
    rule: RuleDefinition,
    when: WhenExplanation,
    tree: ConditionExplanation | None,
    cooldown: CooldownExplanation | None,
    stateful: tuple[StateExplanation, ...],
    *,
    fired: bool,
    suppressed: bool,
    stopped_by: str | None,
) -> str:
    if fired:
        return "fires"
    if not rule.enabled:
        return "disabled"
    if not when.matched:
        return f"not a candidate: {when.reason}"
    if tree is not None and tree.result is None:
        return f"condition failed (counts as no match): {tree.error}"
    if tree is not None and not tree.result:
        return "condition false"
    if suppressed:
        reasons = [cooldown.reason] if cooldown is not None and cooldown.suppressed else []
        reasons += [part.summary for part in stateful if part.kind in ("max_per_period", "rearm")]
        return "suppressed" + (f": {'; '.join(reasons)}" if reasons else "")
    if stopped_by is not None:
        return f"skipped: {stopped_by} fired first and has stop_after_match"
    waiting = [part.summary for part in stateful if part.kind not in ("max_per_period", "rearm")]
    return "does not fire" + (f": {'; '.join(waiting)}" if waiting else "")


def explain_when(rule: RuleDefinition, event: Event) -> WhenExplanation:
    """The index's view: the rule's source, and its types (or, without them, its steps' types)."""
    types = index_type_patterns(rule)
    pattern = next((p for p in types if type_matches(p, event.type)), None)
    reason = None
    if rule.when.source is not None and rule.when.source != event.source:
        reason = f"source {event.source!r} is not {rule.when.source!r}"
    elif pattern is None:
        reason = f"type {event.type!r} matches none of {', '.join(types)}"
    return WhenExplanation(
        matched=reason is None,
        source=rule.when.source,
        event_source=event.source,
        types=types,
        event_type=event.type,
        matched_pattern=pattern,
        reason=reason,
    )


def type_matches(pattern: str, event_type: str) -> bool:
    """The index's rule: ``*``, an exact type, or a prefix ending in ``*``."""
    return any_type_matches((pattern,), event_type)


def explain_cooldown(rule: RuleDefinition, event: Event, state: EntityState | None) -> CooldownExplanation | None:
    if rule.cooldown is None:
        return None
    fired = last_fired(state, rule.id) if state is not None else None
    if fired is None:
        reason = "never fired for this entity"
        return CooldownExplanation(rule.cooldown, None, None, suppressed=False, reason=reason)
    until = fired + rule.cooldown
    suppressed = event.time < until
    if event.time == until:
        reason = f"cool-down {format_duration(rule.cooldown)} ends exactly at {format_datetime(until)}: over"
    elif event.time < fired:
        reason = f"the event ({format_datetime(event.time)}) is older than the last firing"
    elif suppressed:
        reason = f"cool-down {format_duration(rule.cooldown)} runs until {format_datetime(until)}"
    else:
        reason = f"cool-down ended at {format_datetime(until)}"
    reason += f" (last fired {format_datetime(fired)})"
    return CooldownExplanation(rule.cooldown, fired, until, suppressed=suppressed, reason=reason)
