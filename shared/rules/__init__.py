"""Trigger rules: definitions, validation, compilation, indexed evaluation and cool-downs.

raw = load_rule_files(Path("rules"))
checked = validate_rules(raw)            # .rules, .errors (rule_id, path, message)
ruleset = compile_ruleset(checked.rules, version=3)
if ruleset.needs_state(event): ...       # load the entity's state once per batch
matches = ruleset.evaluate(event, state) # list[RuleMatch], priority order
"""

from __future__ import annotations

from shared.rules.compiler import CompiledRule, CompiledRuleSet, RuleMatch, compile_ruleset
from shared.rules.durations import parse_duration
from shared.rules.errors import InvalidRuleSet, RuleError, RuleFileError
from shared.rules.loader import load_rule_files
from shared.rules.models import ActionSpec, JourneyEntryAction, RuleDefinition
from shared.rules.validation import RuleValidation, validate_rules

__all__ = [
    "ActionSpec",
    "CompiledRule",
    "CompiledRuleSet",
    "InvalidRuleSet",
    "JourneyEntryAction",
    "RuleDefinition",
    "RuleError",
    "RuleFileError",
    "RuleMatch",
    "RuleValidation",
    "compile_ruleset",
    "load_rule_files",
    "parse_duration",
    "validate_rules",
]
