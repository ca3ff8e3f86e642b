"""Errors raised by action delivery; the core never sees ``httpx`` exceptions.

A single action's failure is never raised: it becomes a ``DeliveryOutcome`` with status FAILED.
These errors travel between the delivery parts, or (``DestinationUnavailable``) up to the batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.actions.models import DeliveryOutcome


class DeliveryError(Exception):
    """Base class for delivery failures."""


class MarketingCloudConfigError(DeliveryError, ValueError):
    """The Marketing Cloud connection is not (correctly) configured; the message names the setting."""


class WebhookConfigError(DeliveryError, ValueError):
    """The webhook destinations are not (correctly) configured; the message names the setting."""


class EventBridgeConfigError(DeliveryError, ValueError):
    """The EventBridge destinations are not (correctly) configured; the message names the setting."""


class MarketingCloudAuthError(DeliveryError):
    """Marketing Cloud refused the client credentials (e.g. ``invalid_client``).

    Permanent for the batch: retrying with the same credentials cannot succeed. The message names the
    settings to fix and never contains a secret.
    """


class MarketingCloudUnavailable(DeliveryError):
    """A Marketing Cloud endpoint could not answer right now (transport error, 5xx, 429).

    Transient: the caller may retry, after ``retry_after`` seconds when the server gave a hint.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class DestinationUnavailable(DeliveryError):
    """A destination is down for everyone: the whole batch must be retried later.

    Raised by ``deliver()`` when the destination's circuit breaker is open at the end of the batch
    and at least one action of the batch failed for a retryable reason. ``retry_after`` (seconds)
    is when the breaker lets a probe through again (or the server's longer hint).

    ``outcomes`` holds one outcome per action of the batch, exactly as ``deliver()`` would have
    returned them: record the DELIVERED ones (they were sent and must not be sent again), replay
    the ``retryable`` FAILED ones, dead-letter the other FAILED ones.
    """

    def __init__(
        self,
        message: str,
        *,
        destination: str,
        retry_after: float | None = None,
        outcomes: Sequence[DeliveryOutcome] = (),
    ) -> None:
        super().__init__(message)
        self.destination = destination
        self.retry_after = retry_after
        self.outcomes: list[DeliveryOutcome] = list(outcomes)
