"""Event ids this process committed lately: a producer's retried event, or one a batch holds twice, is
skipped (counted ``events_duplicate``) without a store request.

Replays of a whole batch need no such memory: each entity's state records the sequence numbers it
applied, and outbox documents merge by action key. This set only spares stateless rules a
producer's near duplicates (the entity's own ring, ``seen_recently``, covers stateful ones, durably).
It is bounded: the oldest ids leave first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from shared.events.models import Event

DEFAULT_CAPACITY = 200_000


class RecentEventIds:
    __slots__ = ("_capacity", "_ids")

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def fresh(self, events: Iterable[Event]) -> list[Event]:
        """The events not seen lately, each id once (the first occurrence wins)."""
        seen = self._ids
        kept: list[Event] = []
        taken: set[str] = set()
        for event in events:
            if event.id in seen or event.id in taken:
                continue
            taken.add(event.id)
            kept.append(event)
        return kept

    def remember(self, events: Iterable[Event]) -> None:
        ids = self._ids
        for event in events:
            ids[event.id] = None
        while len(ids) > self._capacity:
            ids.popitem(last=False)
