"""Rules administration: the logic behind the rules HTTP API and ``squall rules push|list|diff``.

    admin = RuleSetAdmin(store.rules, "default")
    view = await admin.current()                       # RuleSetView(ruleset, version, rules)
    await admin.push(raw_rules, prune=False)           # PushRefused: empty, or would remove rules
    await admin.history(); await admin.rollback(3)     # versions; version 3 stored again as the newest
    outcome = await admin.put_rule("teams", raw)       # validates the whole set; RulesInvalid(errors)
    diff = diff_rulesets(view.rules, proposed)         # added, removed, changed, unchanged
    report = await admin.dry_run(parse_dry_run_request(body), options=NormalizeOptions())

Pure: no HTTP and no azure.functions; errors are typed (``RuleNotFound``, ``RulesInvalid`` ...).
"""

from __future__ import annotations

from shared.rules_admin.admin import MAX_HISTORY, RULESET_NAME, RuleSetAdmin, check_rules, rules_from_document
from shared.rules_admin.diff import diff_rulesets
from shared.rules_admin.dry_run_request import (
    EVENT_FORMATS,
    MAX_DRY_RUN_EVENTS,
    DryRunRequest,
    EvaluatedEvents,
    evaluate_events,
    parse_dry_run_request,
)
from shared.rules_admin.errors import (
    PushRefused,
    RequestInvalid,
    RequestTooLarge,
    RuleNotFound,
    RulesAdminError,
    RuleSetMissing,
    RulesInvalid,
    ServiceMisconfigured,
    VersionMismatch,
    VersionNotFound,
)
from shared.rules_admin.models import (
    DryRunResponse,
    EventOutcome,
    FiringOutcome,
    RuleChange,
    RuleSetDiff,
    RuleSetHistory,
    RuleSetView,
    RuleView,
    SaveOutcome,
    VersionSummary,
)
from shared.rules_admin.request_body import read_json_body

__all__ = [
    "EVENT_FORMATS",
    "MAX_DRY_RUN_EVENTS",
    "MAX_HISTORY",
    "RULESET_NAME",
    "DryRunResponse",
    "DryRunRequest",
    "EvaluatedEvents",
    "EventOutcome",
    "FiringOutcome",
    "PushRefused",
    "RequestInvalid",
    "RequestTooLarge",
    "RuleChange",
    "RuleNotFound",
    "RuleSetAdmin",
    "RuleSetDiff",
    "RuleSetHistory",
    "RuleSetMissing",
    "RuleSetView",
    "RuleView",
    "RulesAdminError",
    "RulesInvalid",
    "SaveOutcome",
    "ServiceMisconfigured",
    "VersionMismatch",
    "VersionNotFound",
    "VersionSummary",
    "check_rules",
    "diff_rulesets",
    "evaluate_events",
    "parse_dry_run_request",
    "read_json_body",
    "rules_from_document",
]
