"""``RuleSetAdmin``: list, get, put, delete, replace, validate and dry-run the rules of one rule set.

Pure logic over a ``RuleStore``: no HTTP, no CLI. Every write validates the WHOLE resulting rule
set and stores a new version only when it is valid and differs from the stored one; invalid rules
are refused with rule id + path + message (``RulesInvalid``) and never stored.

``if_version`` (an HTTP If-Match) is compared with the stored version just before saving. The
store port has no conditional save, so two writers racing inside that window both succeed with
consecutive versions; the check catches the common case of editing a stale copy.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from shared.events import NormalizeOptions
from shared.rules import (
    DestinationCatalog,
    RuleDefinition,
    RuleError,
    compile_ruleset,
    ruleset_size_problem,
    validate_rules,
)
from shared.rules_admin.diff import diff_rulesets
from shared.rules_admin.dry_run_request import DryRunRequest, evaluate_events
from shared.rules_admin.errors import (
    PushRefused,
    RequestInvalid,
    RuleNotFound,
    RuleSetMissing,
    RulesInvalid,
    VersionMismatch,
    VersionNotFound,
)
from shared.rules_admin.models import (
    DryRunResponse,
    RuleSetDiff,
    RuleSetHistory,
    RuleSetView,
    RuleView,
    SaveOutcome,
    VersionSummary,
)
from shared.store.errors import RuleSetNotFound
from shared.store.models import RuleSetSnapshot
from shared.store.ports import RuleStore

RULESET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
#: Most versions one history answer lists.
MAX_HISTORY = 100


def check_rules(raw: Sequence[Any], destinations: DestinationCatalog | None = None) -> list[RuleDefinition]:
    """The validated rules, or ``RulesInvalid`` with every problem (rule id, path, message).

    Rules are stored as JSON: ``validate_rules`` refuses what JSON cannot hold (``NaN``, YAML's
    ``!!binary``), and a set larger than one stored version may hold is refused as a whole (``$``); an
    action whose destination ``destinations`` does not configure is a problem too.
    """
    checked = validate_rules(raw, destinations=destinations)
    if checked.errors:
        raise RulesInvalid(sorted(checked.errors, key=lambda error: error.index or 0))
    if too_large := ruleset_size_problem(raw):
        raise RulesInvalid([RuleError(None, "$", too_large)])
    return checked.rules


def rules_from_document(body: Any) -> list[Any]:
    """The rules of a posted document: a JSON array of rules or ``{"rules": [...]}``."""
    if isinstance(body, Mapping) and set(body) == {"rules"}:
        body = body["rules"]
    if not isinstance(body, list):
        raise RequestInvalid('expected a JSON array of rules or an object {"rules": [...]}')
    return body


class RuleSetAdmin:
    """Administration of the rule set ``ruleset`` in ``store``; writes check action destinations
    against ``destinations`` (the deployment's, from ``shared.actions.destinations``)."""

    def __init__(self, store: RuleStore, ruleset: str, *, destinations: DestinationCatalog | None = None) -> None:
        if not RULESET_NAME.fullmatch(ruleset):
            raise RequestInvalid(f"rule set name {ruleset!r} is invalid: 1-64 letters, digits, '-', '_', '.'")
        self._store = store
        self.ruleset = ruleset
        self._destinations = destinations

    async def current(self) -> RuleSetView:
        """The newest version (version 0 with no rules when none is stored)."""
        try:
            snapshot = await self._store.load_ruleset(self.ruleset)
        except RuleSetNotFound:
            return RuleSetView(self.ruleset, 0, [])
        return RuleSetView(self.ruleset, snapshot.version, list(snapshot.rules))

    async def get_rule(self, rule_id: str) -> RuleView:
        view = await self.current()
        position = view.find(rule_id)
        if position is None:
            raise RuleNotFound(self.ruleset, rule_id)
        return RuleView(self.ruleset, view.version, view.rules[position])

    async def put_rule(self, rule_id: str, raw: Any, *, if_version: int | None = None) -> SaveOutcome:
        """Create or replace one rule (its ``id`` may be left out; if given it must be ``rule_id``)."""
        rule = _rule_for_id(rule_id, raw)
        view = await self.current()
        self._check_version(view, if_version)
        position = view.find(rule_id)
        rules = list(view.rules)
        if position is None:
            rules.append(rule)
        else:
            rules[position] = rule
        return await self._save(view, rules)

    async def delete_rule(self, rule_id: str, *, if_version: int | None = None) -> SaveOutcome:
        view = await self.current()
        self._check_version(view, if_version)
        position = view.find(rule_id)
        if position is None:
            raise RuleNotFound(self.ruleset, rule_id)
        return await self._save(view, view.rules[:position] + view.rules[position + 1 :])

    async def replace_rules(self, raw: Sequence[Any], *, if_version: int | None = None) -> SaveOutcome:
        """Make the rule set exactly ``raw`` (rules not in it are removed)."""
        view = await self.current()
        self._check_version(view, if_version)
        return await self._save(view, list(raw))

    async def push(self, raw: Sequence[Any], *, prune: bool = False) -> SaveOutcome:
        """``replace_rules`` with the safety a push from files needs: never an empty set, and rules
        are removed only with ``prune`` (``PushRefused`` names them otherwise)."""
        check_rules(raw)
        view = await self.current()
        if not raw:
            stored = f"; version {view.version} holds {len(view.rules)} rule(s)" if view.version else ""
            raise PushRefused(f"no rules to push: refusing to store an empty rule set{stored}")
        diff = diff_rulesets(view.rules, raw)
        if diff.removed and not prune:
            raise PushRefused(
                f"the push would remove {len(diff.removed)} stored rule(s): {', '.join(diff.removed)}; "
                "add --prune to remove them, or add their files",
                removed=diff.removed,
            )
        return await self._save(view, list(raw))

    async def version(self, number: int) -> RuleSetView:
        """Version ``number`` as it was stored; ``VersionNotFound`` when it never was."""
        return _view(await self._snapshot(number))

    async def history(self, *, limit: int = 20) -> RuleSetHistory:
        """The newest ``limit`` versions (at most ``MAX_HISTORY``), newest first, each compared with
        the version before it."""
        limit = max(1, min(limit, MAX_HISTORY))
        snapshots = await self._store.ruleset_history(self.ruleset, limit=limit + 1)
        summaries = [
            _summary(snapshot, snapshots[i + 1] if i + 1 < len(snapshots) else None)
            for i, snapshot in enumerate(snapshots[:limit])
        ]
        newest = snapshots[0].version if snapshots else 0
        return RuleSetHistory(self.ruleset, newest, tuple(summaries))

    async def rollback(self, number: int, *, if_version: int | None = None) -> SaveOutcome:
        """Store version ``number``'s rules again as the newest version (validated as any write;
        nothing is overwritten). ``changed`` False when the newest version already holds them."""
        restored = await self._snapshot(number)
        view = await self.current()
        self._check_version(view, if_version)
        return await self._save(view, list(restored.rules))

    async def preview_replace(self, raw: Sequence[Any]) -> RuleSetDiff:
        """What ``replace_rules(raw)`` would change; ``RulesInvalid`` when it would be refused."""
        check_rules(raw, self._destinations)
        view = await self.current()
        return diff_rulesets(view.rules, raw)

    async def dry_run(self, request: DryRunRequest, *, options: NormalizeOptions) -> DryRunResponse:
        """Evaluate the posted rules (or the stored rule set) against the posted events; send nothing."""
        if request.rules is not None:
            ruleset, name = compile_ruleset(check_rules(request.rules, self._destinations), version=0), None
        else:
            view = await self.current()
            if view.version == 0:
                raise RuleSetMissing(self.ruleset)
            valid = validate_rules(view.rules).rules  # stored rules were validated on write
            ruleset, name = compile_ruleset(valid, version=view.version), self.ruleset
        evaluated = evaluate_events(ruleset, request, options=options)
        return DryRunResponse(name, ruleset.version, request.clock, evaluated.outcomes, evaluated.ended_at)

    async def _save(self, view: RuleSetView, rules: list[Any]) -> SaveOutcome:
        check_rules(rules, self._destinations)
        diff = diff_rulesets(view.rules, rules)
        if not diff.has_changes:
            return SaveOutcome(self.ruleset, view.version, changed=False, diff=diff)
        version = await self._store.save_ruleset(self.ruleset, rules)
        return SaveOutcome(self.ruleset, version, changed=True, diff=diff)

    async def _snapshot(self, number: int) -> RuleSetSnapshot:
        try:
            return await self._store.load_ruleset_version(self.ruleset, number)
        except RuleSetNotFound:
            raise VersionNotFound(self.ruleset, number, await self._store.ruleset_version(self.ruleset)) from None

    def _check_version(self, view: RuleSetView, if_version: int | None) -> None:
        if if_version is not None and if_version != view.version:
            raise VersionMismatch(self.ruleset, expected=if_version, actual=view.version)


def _view(snapshot: RuleSetSnapshot) -> RuleSetView:
    return RuleSetView(snapshot.name, snapshot.version, list(snapshot.rules))


def _summary(snapshot: RuleSetSnapshot, previous: RuleSetSnapshot | None) -> VersionSummary:
    """``snapshot`` compared with the version before it (none before version 1: all added)."""
    diff = diff_rulesets(previous.rules if previous else [], snapshot.rules)
    when = snapshot.created_at.isoformat().replace("+00:00", "Z") if snapshot.created_at else None
    return VersionSummary(
        version=snapshot.version,
        created_at=when,
        rules=len(snapshot.rules),
        added=diff.added,
        removed=diff.removed,
        changed=tuple(change.rule_id for change in diff.changed),
    )


def _rule_for_id(rule_id: str, raw: Any) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise RequestInvalid("a rule must be a JSON object")
    claimed = raw.get("id", rule_id)
    if claimed != rule_id:
        shown = claimed if isinstance(claimed, str) else None
        message = f"id {claimed!r} differs from the rule id in the address, {rule_id!r}"
        raise RulesInvalid([RuleError(shown, "$.id", message, 0)])
    return {"id": rule_id, **{key: value for key, value in raw.items() if key != "id"}}
