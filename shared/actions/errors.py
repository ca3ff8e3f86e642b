"""Errors raised by action delivery; the core never sees ``httpx`` exceptions.

A single action's failure is never raised: it becomes a ``DeliveryOutcome`` with status FAILED.
These errors travel between the delivery parts, or (``DestinationUnavailable``) up to the batch.
"""

from __future__ import annotations


class DeliveryError(Exception):
    """Base class for delivery failures."""


class MarketingCloudConfigError(DeliveryError, ValueError):
    """The Marketing Cloud connection is not (correctly) configured; the message names the setting."""


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
    """A destination is down for every action of the batch: the whole batch must be retried.

    Reserved for batch-level failure detection (``MarketingCloudDeliverer.deliver`` documents where it
    will be raised); ``retry_after`` (seconds) carries the destination's hint when it gave one.
    """

    def __init__(self, message: str, *, destination: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.destination = destination
        self.retry_after = retry_after
