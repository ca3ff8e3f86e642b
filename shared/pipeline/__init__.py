"""The pipeline: one batch of raw events -> rules -> committed state and outbox -> delivered actions.

    report = await process_batch(raw_events, deps)   # BatchReport; raises BatchRetryRequired
"""

from __future__ import annotations

from shared.pipeline.batch import BatchRetryRequired, PipelineDeps, RuleSetSource, process_batch

__all__ = ["BatchRetryRequired", "PipelineDeps", "RuleSetSource", "process_batch"]
