"""Every Cosmos DB request goes through ``CosmosCalls.run``: transient failures are retried with
backoff, and SDK exceptions become ``shared.store.errors`` so the core never sees azure.* types.

The SDK already retries 429 (throttling) itself, waiting the ``x-ms-retry-after-ms`` the service
asks for; what it gives up on lands here and is retried again, still honouring that wait. 408, 449,
5xx and connection failures are retried with exponential backoff and full jitter. When the attempts
are spent the store is considered unavailable for the whole batch: ``StoreUnavailable`` carries the
service's last ``retry_after`` hint.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from azure.core.exceptions import AzureError, ServiceRequestError, ServiceResponseError
from azure.cosmos.exceptions import CosmosClientTimeoutError

from shared.store.errors import StoreError, StoreUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")

TRANSIENT_STATUS = frozenset({408, 429, 449, 500, 502, 503, 504})
_AUTH_STATUS = frozenset({401, 403})


@dataclass(frozen=True, slots=True)
class CosmosRetry:
    """How hard to try before declaring the store unavailable."""

    attempts: int = 4
    base_delay_s: float = 0.1
    max_delay_s: float = 5.0

    def backoff_s(self, attempt: int, *, retry_after_s: float | None) -> float:
        """Delay before retry number ``attempt`` (1-based): the service's hint, or full jitter."""
        if retry_after_s is not None:
            return min(retry_after_s, self.max_delay_s)
        ceiling = min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))
        return random.uniform(0, ceiling)


def retry_after_s(exc: AzureError) -> float | None:
    """The wait the service asked for (``x-ms-retry-after-ms`` or ``Retry-After``), in seconds."""
    headers = getattr(exc, "headers", None) or {}
    millis = headers.get("x-ms-retry-after-ms")
    seconds = headers.get("Retry-After")
    try:
        if millis is not None:
            return float(millis) / 1000
        if seconds is not None:
            return float(seconds)
    except ValueError:
        return None
    return None


class CosmosCalls:
    """Runs Cosmos requests for one account, with one retry policy and one endpoint for messages."""

    def __init__(self, *, endpoint: str, retry: CosmosRetry | None = None) -> None:
        self.endpoint = endpoint
        self.retry = retry or CosmosRetry()

    async def run(self, request: Callable[[], Awaitable[T]], *, what: str) -> T:
        """Await ``request()``; retry it while the failure is transient; translate what is left.

        ``what`` names the operation and its ids for messages and logs (never a payload).
        """
        for attempt in range(1, self.retry.attempts + 1):
            try:
                return await request()
            except AzureError as exc:
                if not is_transient(exc):
                    raise self._permanent(exc, what) from exc
                hint = retry_after_s(exc)
                if attempt == self.retry.attempts:
                    raise self._unavailable(exc, what, hint) from exc
            delay = self.retry.backoff_s(attempt, retry_after_s=hint)
            log.info("Cosmos DB %s failed transiently (attempt %d); retrying in %.2fs", what, attempt, delay)
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _unavailable(self, exc: AzureError, what: str, hint: float | None) -> StoreUnavailable:
        return StoreUnavailable(
            f"Cosmos DB {what} failed after {self.retry.attempts} attempts ({describe(exc)}) at "
            f"COSMOS_ENDPOINT={self.endpoint}",
            retry_after=hint,
        )

    def _permanent(self, exc: AzureError, what: str) -> StoreError:
        status = status_of(exc)
        if status in _AUTH_STATUS:
            return StoreUnavailable(
                f"Cosmos DB refused {what} (HTTP {status}) at COSMOS_ENDPOINT={self.endpoint}: give the "
                "app's identity the 'Cosmos DB Built-in Data Contributor' role, or check COSMOS_KEY for "
                "an emulator"
            )
        if status == 404:
            return StoreUnavailable(f"Cosmos DB {what}: database or container not found (HTTP 404)")
        if status is None:  # an SDK or credential failure without a response
            return StoreUnavailable(f"Cosmos DB {what} failed ({describe(exc)}) at COSMOS_ENDPOINT={self.endpoint}")
        return StoreError(f"Cosmos DB rejected {what} ({describe(exc)})")


def status_of(exc: AzureError) -> int | None:
    status = getattr(exc, "status_code", None)
    return int(status) if status else None


def describe(exc: AzureError) -> str:
    status = status_of(exc)
    return f"HTTP {status}" if status else type(exc).__name__


def is_transient(exc: AzureError) -> bool:
    if isinstance(exc, ServiceRequestError | ServiceResponseError | CosmosClientTimeoutError):
        return True
    return status_of(exc) in TRANSIENT_STATUS
