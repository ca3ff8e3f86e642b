"""How hard to try one configured destination (a webhook, an event bus): the fields every
destination setting shares, validated once. It satisfies ``retrying.RetrySettings``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class DeliveryTuning(BaseModel):
    """Timeout, concurrency, retries with backoff, and the circuit breaker of one destination."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timeout_s: float = Field(default=10.0, gt=0)
    max_concurrency: int = Field(default=8, ge=1, le=256)
    max_attempts: int = Field(default=5, ge=1, le=50)
    backoff_base_s: float = Field(default=0.2, ge=0)
    backoff_max_s: float = Field(default=10.0, ge=0)
    breaker_failure_threshold: int = Field(default=5, ge=1)
    breaker_reset_s: float = Field(default=30.0, ge=0)
