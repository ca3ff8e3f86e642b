"""What the pipeline is given and what it raises: its dependencies, and the one whole-batch failure.

The caller (``shared/wiring.py``, a test) chooses the adapters; the pipeline sees ports only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from shared.actions.ports import ActionSender
from shared.events import NormalizeOptions
from shared.pipeline.audit import DeliveryAudit
from shared.pipeline.event_time import EventTimePolicy
from shared.pipeline.recent import RecentEventIds
from shared.pipeline.report import BatchReport
from shared.rules import CompiledRuleSet
from shared.store.ports import DeadLetterSink, DedupeStore, StateStore


class RuleSetSource(Protocol):
    """The rule set in force now (``RuleSetCache`` refreshes it by version)."""

    async def current(self) -> CompiledRuleSet: ...


@dataclass(frozen=True, slots=True)
class PipelineDeps:
    """Everything process_batch needs, passed in (adapters are chosen by the caller)."""

    rules: RuleSetSource
    states: StateStore
    dedupe: DedupeStore
    deadletters: DeadLetterSink
    sender: ActionSender
    normalize_options: NormalizeOptions = field(default_factory=NormalizeOptions)
    dedupe_ttl_s: int = 7 * 24 * 3600
    event_time: EventTimePolicy = field(default_factory=EventTimePolicy)
    recent: RecentEventIds = field(default_factory=RecentEventIds)
    audit: DeliveryAudit = field(default_factory=DeliveryAudit)  # how delivery records name entities


class BatchRetryRequired(Exception):
    """A destination is down for everyone: the batch must be replayed (the host's retry policy does).

    What was delivered before is already recorded, so the replay sends only the rest. ``report``
    holds this attempt's counts; ``retry_after`` the destination's hint in seconds.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.report: BatchReport | None = None
