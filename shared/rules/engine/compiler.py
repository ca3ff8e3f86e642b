"""``compile_ruleset``: validated rules in, an indexed, ready-to-run ``CompiledRuleSet`` out."""

from __future__ import annotations

from collections.abc import Sequence

from shared.rules.authoring.validation import lint_stateful_rules
from shared.rules.compiled import CompiledRule
from shared.rules.conditions.compiler import compile_condition
from shared.rules.conditions.state_split import event_filter
from shared.rules.definitions.rule import RuleDefinition
from shared.rules.engine.ruleset import CompiledRuleSet
from shared.rules.errors import InvalidRuleSet
from shared.rules.stateful.program import build_program, index_type_patterns

__all__ = ["compile_rule", "compile_ruleset"]


def compile_rule(definition: RuleDefinition) -> CompiledRule:
    indexed = event_filter(definition.condition)
    filter_definition = (
        definition if indexed is definition.condition else definition.model_copy(update={"condition": indexed})
    )
    return CompiledRule(
        id=definition.id,
        priority=definition.priority,
        source=definition.when.source,
        type_patterns=index_type_patterns(definition),
        check=compile_condition(indexed),
        cooldown=definition.cooldown,
        stop_after_match=definition.stop_after_match and not definition.shadow,  # a shadow rule stops nothing
        action=definition.action,  # type: ignore[arg-type]  # None only for machines, which plan on_enter
        definition=filter_definition,
        program=build_program(definition),
        shadow=definition.shadow,
    )


def compile_ruleset(rules: Sequence[RuleDefinition], *, version: int = 0) -> CompiledRuleSet:
    """Compile the enabled rules (disabled ones are left out).

    Raises ``InvalidRuleSet`` on duplicate ids and on what ``validate_rules`` would reject across
    rules (a ``state.`` field naming no machine or window, an unreachable state ...).
    """
    ids = [rule.id for rule in rules]
    duplicates = sorted({rule_id for rule_id in ids if ids.count(rule_id) > 1})
    if duplicates:
        raise InvalidRuleSet(f"duplicate rule ids: {', '.join(duplicates)}")
    problems = lint_stateful_rules(rules)
    if problems:
        raise InvalidRuleSet("; ".join(str(problem) for problem in problems))
    return CompiledRuleSet([compile_rule(rule) for rule in rules if rule.enabled], version=version)






