"""Per-instance cache of the compiled rule set and the suppression list, refreshed by cheap version checks."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from shared.log_fields import log_ids
from shared.rules.authoring.validation import validate_rules
from shared.rules.engine.compiler import compile_ruleset
from shared.rules.engine.ruleset import CompiledRuleSet
from shared.store.ports import RuleStore

log = logging.getLogger(__name__)


class RuleSetCache:
    """Hands out the compiled rule set; re-reads it only when the stored version moves.

    The version check costs one small read and runs at most every ``check_interval_s`` seconds, so
    a running instance picks up a pushed rule set without a restart. The suppression list is cached
    the same way, beside it (one more small read per check, never one per event or batch): the set
    hands it out as ``CompiledRuleSet.suppressed``, and a change is in force from the next check.
    """

    def __init__(
        self,
        store: RuleStore,
        name: str,
        *,
        check_interval_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._name = name
        self._interval = check_interval_s
        self._clock = clock
        self._compiled: CompiledRuleSet | None = None
        self._suppressed: frozenset[str] = frozenset()
        self._suppression_version = 0
        self._checked_at = float("-inf")
        self._lock = asyncio.Lock()

    async def current(self) -> CompiledRuleSet:
        if self._compiled is not None and self._clock() - self._checked_at < self._interval:
            return self._compiled
        async with self._lock:
            if self._compiled is None or self._clock() - self._checked_at >= self._interval:
                await self._refresh()
        assert self._compiled is not None
        return self._compiled

    async def _refresh(self) -> None:
        version, suppression = await asyncio.gather(
            self._store.ruleset_version(self._name), self._store.suppression_version()
        )
        if suppression != self._suppression_version:
            listed = await self._store.load_suppression()
            self._suppressed, self._suppression_version = listed.hashes, listed.version
            log.info("suppression list version %s loaded: %d entities", listed.version, len(listed.hashes))
        if self._compiled is None or self._compiled.version != version:
            self._compiled = await self._compile()
        self._compiled.suppressed = self._suppressed
        self._checked_at = self._clock()

    async def _compile(self) -> CompiledRuleSet:
        snapshot = await self._store.load_ruleset(self._name)
        checked = validate_rules(snapshot.rules)
        for error in checked.errors:  # validated on write; this only guards hand-edited stores
            log.error(
                "stored rule %s invalid at %s: %s (skipped)", error.rule_id, error.path, error.message,
                extra=log_ids(rule_id=error.rule_id),
            )  # fmt: skip
        compiled = compile_ruleset(checked.rules, version=snapshot.version)
        log.info("rule set %s version %s compiled: %d rules", self._name, snapshot.version, len(checked.rules))
        return compiled
