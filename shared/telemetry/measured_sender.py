"""An ActionSender that records delivery metrics around another one (attempts, retries, latency)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence

from shared.actions.errors import DestinationUnavailable
from shared.actions.models import DeliveryOutcome, PlannedAction
from shared.actions.ports import ActionSender, SendingCallback, SettledCallback
from shared.pipeline import PipelineDeps
from shared.telemetry.instruments import record_delivery


class MeasuredSender:
    """Delivers through ``inner`` and records what settled, even when the destination is down."""

    def __init__(self, inner: ActionSender) -> None:
        self.inner = inner

    async def deliver(
        self,
        actions: Sequence[PlannedAction],
        *,
        on_sending: SendingCallback | None = None,
        on_settled: SettledCallback | None = None,
    ) -> list[DeliveryOutcome]:
        started = time.perf_counter()
        try:
            outcomes = await self.inner.deliver(actions, on_sending=on_sending, on_settled=on_settled)
        except DestinationUnavailable as exc:
            record_delivery(list(getattr(exc, "outcomes", ())), duration_s=time.perf_counter() - started)
            raise
        record_delivery(outcomes, duration_s=time.perf_counter() - started)
        return outcomes


def with_delivery_metrics(deps: PipelineDeps) -> PipelineDeps:
    """``deps`` whose sender records delivery metrics (idempotent)."""
    if isinstance(deps.sender, MeasuredSender):
        return deps
    return dataclasses.replace(deps, sender=MeasuredSender(deps.sender))
