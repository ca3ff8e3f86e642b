"""Why a rule did or did not fire for an event: ``explain_rule`` / ``explain_rules``.

    explanation = explain_rule(rule, event, state)      # state: EntityState | None (None: a new entity)
    explanation.verdict, explanation.fired               # "condition false", False
    explanation.condition.children[0].actual              # ValuePreview("string", "'admin'")
    explanation.to_json()

The engine itself decides ``fired``: the rules are compiled and evaluated on a copy of the state,
so the explanation's verdict is what the pipeline would do. The per-node tree is computed with the
same operator table; the state given is never modified.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence

from shared.events.models import Event
from shared.rules.compiler import CompiledRuleSet, compile_ruleset
from shared.rules.cooldown import last_fired
from shared.rules.explain_conditions import explain_condition
from shared.rules.explain_models import (
    ConditionExplanation,
    CooldownExplanation,
    RuleExplanation,
    StateExplanation,
    WhenExplanation,
)
from shared.rules.explain_state import explain_stateful_parts
from shared.rules.explain_values import format_duration
from shared.rules.models import RuleDefinition
from shared.rules.templates import format_datetime
from shared.store.models import EntityState

log = logging.getLogger(__name__)


def explain_rule(rule: RuleDefinition, event: Event, state: EntityState | None) -> RuleExplanation:
    """Explain one rule on its own (no other rule can stop it)."""
    return explain_rules([rule], event, state)[0]


def explain_rules(
    rules: Sequence[RuleDefinition],
    event: Event,
    state: EntityState | None,
    *,
    ruleset: CompiledRuleSet | None = None,
) -> list[RuleExplanation]:
    """Explain every rule of a set for ``event``, highest priority first (the engine's order)."""
    ordered = sorted(rules, key=lambda rule: (-rule.priority, rule.id))
    fired = engine_firings(ruleset or compile_ruleset(ordered), event, state)
    stopper: str | None = None
    explanations: list[RuleExplanation] = []
    for rule in ordered:
        explanation = _explain_one(rule, event, state, fired=rule.id in fired, stopped_by=stopper)
        explanations.append(explanation)
        if explanation.fired and rule.stop_after_match and stopper is None:
            stopper = rule.id
    return explanations


def engine_firings(ruleset: CompiledRuleSet, event: Event, state: EntityState | None) -> list[str]:
    """The ids the engine fires for ``event`` on a copy of ``state`` (a fresh one when ``None``)."""
    working = EntityState(
        entity=event.entity,
        data=copy.deepcopy(state.data) if state is not None else {},
        etag=state.etag if state is not None else None,
    )
    return [match.rule_id for match in ruleset.evaluate(event, working)]


def _explain_one(
    rule: RuleDefinition, event: Event, state: EntityState | None, *, fired: bool, stopped_by: str | None
) -> RuleExplanation:
    when = explain_when(rule, event)
    tree = explain_condition(rule.condition, event) if rule.condition is not None else None
    condition_result = tree.result if tree is not None else True
    cooldown = explain_cooldown(rule, event, state)
    stateful = explain_stateful_parts(rule, event, state)
    notes = () if state is not None or not rule.is_stateful else ("no state given: explained as a new entity",)
    return RuleExplanation(
        rule_id=rule.id,
        priority=rule.priority,
        enabled=rule.enabled,
        fired=fired,
        verdict=_verdict(rule, when, tree, cooldown, stateful, fired=fired, stopped_by=stopped_by),
        when=when,
        condition=tree,
        condition_result=condition_result,
        cooldown=cooldown,
        stateful=stateful,
        notes=notes,
    )


def _verdict(
    rule: RuleDefinition,
    when: WhenExplanation,
    tree: ConditionExplanation | None,
    cooldown: CooldownExplanation | None,
    stateful: tuple[StateExplanation, ...],
    *,
    fired: bool,
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
    if cooldown is not None and cooldown.suppressed:
        return f"suppressed: {cooldown.reason}"
    if stopped_by is not None:
        return f"skipped: {stopped_by} fired first and has stop_after_match"
    waiting = [part.summary for part in stateful]
    return "does not fire" + (f": {'; '.join(waiting)}" if waiting else "")


def explain_when(rule: RuleDefinition, event: Event) -> WhenExplanation:
    types = tuple(rule.when.types or ("*",))
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
    if pattern == "*":
        return True
    if pattern.endswith("*"):
        return event_type.startswith(pattern[:-1])
    return pattern == event_type


def explain_cooldown(rule: RuleDefinition, event: Event, state: EntityState | None) -> CooldownExplanation | None:
    if rule.cooldown is None:
        return None
    fired = last_fired(state, rule.id) if state is not None else None
    if fired is None:
        reason = "never fired for this entity"
        return CooldownExplanation(rule.cooldown, None, None, suppressed=False, reason=reason)
    until = fired + rule.cooldown
    suppressed = event.time < until
    if event.time < fired:
        reason = f"the event ({format_datetime(event.time)}) is older than the last firing"
    elif suppressed:
        reason = f"cool-down {format_duration(rule.cooldown)} runs until {format_datetime(until)}"
    else:
        reason = f"cool-down ended at {format_datetime(until)}"
    reason += f" (last fired {format_datetime(fired)})"
    return CooldownExplanation(rule.cooldown, fired, until, suppressed=suppressed, reason=reason)
