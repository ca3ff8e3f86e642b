"""Trigger rules: the public door — definitions, validation, compilation, indexed evaluation, explanations.

raw = load_rule_files(Path("rules"))
checked = validate_rules(raw)            # .rules, .errors (rule_id, path, message)
ruleset = compile_ruleset(checked.rules, version=3)
if ruleset.needs_state(event): ...       # load the entity's state once per batch
matches = ruleset.evaluate(event, state) # list[RuleMatch], priority order

Callers outside ``shared/rules`` import these names from here. Inside, the sub-packages are layers,
bottom to top: ``errors``, ``language`` -> ``definitions`` -> ``authoring`` | ``conditions`` ->
``stateful`` -> ``compiled`` -> ``index`` -> ``engine`` -> ``explain``; nothing imports upward and
no module inside imports this root (tests/unit/test_import_direction.py).
"""

from __future__ import annotations

from shared.rules.authoring.destinations import DestinationCatalog
from shared.rules.authoring.json_text import JsonTextError, parse_json_text
from shared.rules.authoring.limits import ruleset_size_problem
from shared.rules.authoring.lint import lint_rule
from shared.rules.authoring.loader import LoadedRule, load_rule_documents, load_rule_files
from shared.rules.authoring.validation import RuleValidation, validate_rules
from shared.rules.compiled import CompiledRule, RuleMatch
from shared.rules.definitions import (
    ACTION_KINDS,
    ActionSpec,
    AnyAction,
    DataExtensionRowAction,
    EventBridgeAction,
    JourneyEntryAction,
    RuleDefinition,
    WebhookAction,
)
from shared.rules.engine.cache import RuleSetCache
from shared.rules.engine.compiler import compile_rule, compile_ruleset
from shared.rules.engine.ruleset import CompiledRuleSet
from shared.rules.errors import ConditionFailed, InvalidRuleSet, RuleError, RuleFileError
from shared.rules.explain import (
    ConditionExplanation,
    CooldownExplanation,
    RuleExplanation,
    StateExplanation,
    explain_rule,
    explain_rules,
)
from shared.rules.language.durations import format_duration, parse_duration
from shared.rules.language.templates import TemplateFieldMissing, compile_template
from shared.rules.language.times import format_datetime
from shared.rules.stateful.inventory import (
    KEPT_ON_RESET,
    RuleMemory,
    StateInventory,
    forget_rules,
    read_inventory,
    rules_in_state,
)
from shared.rules.stateful.memory import applied_sequences, seen_recently, state_meaning

__all__ = [
    "ACTION_KINDS",
    "KEPT_ON_RESET",
    "RuleMemory",
    "StateInventory",
    "forget_rules",
    "read_inventory",
    "rules_in_state",
    "ActionSpec",
    "AnyAction",
    "DataExtensionRowAction",
    "EventBridgeAction",
    "WebhookAction",
    "DestinationCatalog",
    "CompiledRule",
    "CompiledRuleSet",
    "ConditionExplanation",
    "ConditionFailed",
    "CooldownExplanation",
    "InvalidRuleSet",
    "JourneyEntryAction",
    "JsonTextError",
    "LoadedRule",
    "RuleDefinition",
    "RuleError",
    "RuleExplanation",
    "RuleFileError",
    "RuleMatch",
    "RuleSetCache",
    "RuleValidation",
    "StateExplanation",
    "TemplateFieldMissing",
    "compile_rule",
    "compile_ruleset",
    "compile_template",
    "explain_rule",
    "explain_rules",
    "format_datetime",
    "format_duration",
    "lint_rule",
    "load_rule_documents",
    "load_rule_files",
    "parse_duration",
    "parse_json_text",
    "ruleset_size_problem",
    "applied_sequences",
    "seen_recently",
    "state_meaning",
    "validate_rules",
]
