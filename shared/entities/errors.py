"""What can go wrong with a request about one entity: each error says what to fix."""

from __future__ import annotations


class EntityRequestInvalid(ValueError):
    """An entity key or hash that cannot name an entity (empty, too long, not a SHA-256 hex digest)."""


class EntityRequestTooLarge(EntityRequestInvalid):
    """More entities than one request may name."""
