"""Errors the store adapters raise; the core never sees SDK exceptions."""

from __future__ import annotations


class StoreError(Exception):
    """Base class for store failures."""


class StoreUnavailable(StoreError):
    """The store cannot be reached: the whole batch must be retried.

    ``retry_after`` (seconds) is the store's hint, when it gave one.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ConcurrencyConflict(StoreError):
    """Another writer changed the entity since it was read (ETag mismatch)."""

    def __init__(self, entity: str) -> None:
        super().__init__(f"entity {entity!r} was changed by another writer")
        self.entity = entity


class RuleSetNotFound(StoreError):
    """No rule set by that name is stored."""
