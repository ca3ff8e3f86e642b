"""What the stub accepted, and which idempotency keys it had accepted before (duplicates).

Journey entries (sync and async) share one key space — entering a contact twice through either
endpoint is a duplicate; data-extension rows have their own, and so do webhook requests. Thread-safe.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any, Literal

LedgerKind = Literal["events", "async", "rowset", "webhook"]
_KEY_SPACE: dict[LedgerKind, str] = {"events": "journey", "async": "journey", "rowset": "rows", "webhook": "webhook"}


class AcceptedLedger:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[LedgerKind, list[dict[str, Any]]] = {"events": [], "async": [], "rowset": [], "webhook": []}
        self._seen_keys: dict[str, set[str]] = {"journey": set(), "rows": set(), "webhook": set()}
        self._duplicates: Counter[LedgerKind] = Counter()

    def record(self, kind: LedgerKind, record: dict[str, Any]) -> None:
        """Remember an accepted item; ``record["idempotency_key"]`` (or None) is checked for reuse."""
        key = record.get("idempotency_key")
        with self._lock:
            self._records[kind].append(record)
            if key is None:
                return
            seen = self._seen_keys[_KEY_SPACE[kind]]
            if key in seen:
                self._duplicates[kind] += 1
            seen.add(key)

    def records(self, kind: LedgerKind) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(record) for record in self._records[kind]]

    def duplicates(self, kind: LedgerKind | None = None) -> int:
        with self._lock:
            return sum(self._duplicates.values()) if kind is None else self._duplicates[kind]

    def reset(self) -> None:
        with self._lock:
            for records in self._records.values():
                records.clear()
            for keys in self._seen_keys.values():
                keys.clear()
            self._duplicates.clear()


def split_keys(header: str | None, count: int) -> list[str | None]:
    """The ``Idempotency-Key`` of a batch request: one key per member, comma-separated, in order.

    A missing header or a count that does not match leaves the members untracked (None).
    """
    if not header:
        return [None] * count
    keys = [key.strip() for key in header.split(",")]
    if len(keys) != count or not all(keys):
        return [None] * count
    return list(keys)
