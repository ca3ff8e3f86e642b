"""Per-instance cache of the compiled rule set, refreshed by a cheap version check."""

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
    a running instance picks up a pushed rule set without a restart.
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
        version = await self._store.ruleset_version(self._name)
        self._checked_at = self._clock()
        if self._compiled is not None and self._compiled.version == version:
            return
        snapshot = await self._store.load_ruleset(self._name)
        checked = validate_rules(snapshot.rules)
        for error in checked.errors:  # validated on write; this only guards hand-edited stores
            log.error(
                "stored rule %s invalid at %s: %s (skipped)", error.rule_id, error.path, error.message,
                extra=log_ids(rule_id=error.rule_id),
            )  # fmt: skip
        self._compiled = compile_ruleset(checked.rules, version=snapshot.version)
        log.info("rule set %s version %s compiled: %d rules", self._name, snapshot.version, len(checked.rules))
