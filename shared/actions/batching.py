"""Cutting a batch of actions into requests: grouped by a key, at most ``size`` per request."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence


def chunks_by_key[T](items: Sequence[T], key: Callable[[T], Hashable], size: int) -> list[list[T]]:
    """Items with the same key, in input order, in chunks of at most ``size`` (keys in first-seen order)."""
    if size < 1:
        raise ValueError("size must be at least 1")
    groups: dict[Hashable, list[T]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    return [group[start : start + size] for group in groups.values() for start in range(0, len(group), size)]
