"""Fakes for tests: small working stand-ins, not mocks."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from shared.actions.errors import DestinationUnavailable
from shared.actions.models import DeliveryOutcome, DeliveryStatus, FailureKind, PlannedAction
from shared.pipeline import PipelineDeps
from shared.rules import CompiledRuleSet


class RecordingSender:
    """Delivers by remembering; actions whose rule id is in ``fail_rules`` fail permanently."""

    def __init__(self, *, fail_rules: frozenset[str] = frozenset()) -> None:
        self.sent: list[PlannedAction] = []
        self.fail_rules = fail_rules

    async def deliver(self, actions: Sequence[PlannedAction], **_: object) -> list[DeliveryOutcome]:
        outcomes = []
        for action in actions:
            if action.rule_id in self.fail_rules:
                outcomes.append(DeliveryOutcome(action, DeliveryStatus.FAILED, 1, reason="permanent: 400 test"))
            else:
                self.sent.append(action)
                outcomes.append(DeliveryOutcome(action, DeliveryStatus.DELIVERED, 1))
        return outcomes


class DownAfterSender:
    """Delivers the first ``up_for`` actions, then the destination is down for everyone: the rest
    fail as retryable and the call raises ``DestinationUnavailable`` carrying every outcome."""

    def __init__(self, *, up_for: int) -> None:
        self.sent: list[PlannedAction] = []
        self.up_for = up_for

    async def deliver(self, actions: Sequence[PlannedAction], **_: object) -> list[DeliveryOutcome]:
        outcomes = []
        for action in actions:
            if len(self.sent) < self.up_for:
                self.sent.append(action)
                outcomes.append(DeliveryOutcome(action, DeliveryStatus.DELIVERED, 1))
            else:
                outcomes.append(
                    DeliveryOutcome(
                        action, DeliveryStatus.FAILED, 1, reason="circuit open", failure=FailureKind.CIRCUIT_OPEN
                    )
                )
        if len(self.sent) < len(actions):
            raise DestinationUnavailable("sfmc is down", destination="sfmc", retry_after=30, outcomes=outcomes)
        return outcomes


class FixedRuleSource:
    """Always the same compiled rule set."""

    def __init__(self, ruleset: CompiledRuleSet) -> None:
        self.ruleset = ruleset

    async def current(self) -> CompiledRuleSet:
        return self.ruleset


class _CountingPort:
    """A port whose every method looked up is named in ``calls`` before the real one runs."""

    def __init__(self, inner: object, calls: list[str]) -> None:
        self._inner = inner
        self._calls = calls

    def __getattr__(self, name: str) -> object:
        self._calls.append(name)
        return getattr(self._inner, name)


def counting_store_calls(deps: PipelineDeps, calls: list[str]) -> PipelineDeps:
    """``deps`` with its state, dedupe and dead-letter ports recording each call in ``calls``: a
    test of what a batch costs in store requests."""
    return dataclasses.replace(
        deps, states=_CountingPort(deps.states, calls), dedupe=_CountingPort(deps.dedupe, calls),  # type: ignore[arg-type]
        deadletters=_CountingPort(deps.deadletters, calls),  # type: ignore[arg-type]
    )  # fmt: skip
