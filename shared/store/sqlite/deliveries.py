"""The delivery audit in the SQLite store: the ``deliveries`` table, one row per settled action.

Rows are ids only (``DeliveryRecord``): rule, entity (hashed unless ``SQUALL_AUDIT_ENTITY=key``),
destination, kind, idempotency key, time, attempts, outcome. A key has one row per outcome: an
action delivered twice (an uncertain re-send) or a shadow firing recorded again by a replayed batch
keeps its first row. ``squall deliveries list`` reads them, ``squall deliveries purge`` deletes those
older than a time (the table's retention: nothing expires by itself); in Azure the same records are
log lines, kept as long as the Log Analytics workspace keeps them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime

from shared.store.models import AuditOutcome, DeliveryQuery, DeliveryRecord

SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    key TEXT NOT NULL, outcome TEXT NOT NULL, rule_id TEXT NOT NULL, entity TEXT NOT NULL,
    destination TEXT NOT NULL, kind TEXT NOT NULL, at REAL NOT NULL, attempts INTEGER NOT NULL, event_id TEXT,
    PRIMARY KEY (key, outcome));
CREATE INDEX IF NOT EXISTS deliveries_by_entity ON deliveries (entity, at);
CREATE INDEX IF NOT EXISTS deliveries_by_time ON deliveries (at);
"""

_COLUMNS = "rule_id, entity, destination, kind, key, at, attempts, outcome, event_id"


class SqliteDeliveries:
    """Writes and reads the ``deliveries`` table (created by ``create``, on every open)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    @staticmethod
    def create(db: sqlite3.Connection) -> None:
        """Add the table to a file that lacks it (a file written before format 3)."""
        db.executescript(SCHEMA)

    def record(self, records: Sequence[DeliveryRecord]) -> None:
        """One transaction for the lot; a (key, outcome) already recorded keeps its first row."""
        if not records:
            return
        with self._db:
            self._db.executemany(
                f"INSERT OR IGNORE INTO deliveries ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (r.rule_id, r.entity, r.destination, r.kind, r.key, r.at.timestamp(), r.attempts,
                     r.outcome.value, r.event_id)
                    for r in records
                ],
            )  # fmt: skip

    def find(self, query: DeliveryQuery) -> list[DeliveryRecord]:
        """The records matching ``query``, newest first."""
        where: list[str] = [f"entity IN ({','.join('?' * len(query.entities))})"] if query.entities else []
        bound: list[object] = list(query.entities)
        for column, value in (
            ("rule_id = ?", query.rule_id),
            ("at >= ?", query.since.timestamp() if query.since else None),
            ("at < ?", query.until.timestamp() if query.until else None),
            ("outcome = ?", query.outcome.value if query.outcome else None),
        ):
            if value is not None:
                where.append(column)
                bound.append(value)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM deliveries{clause} ORDER BY at DESC, key LIMIT ?", (*bound, max(query.limit, 0))
        ).fetchall()
        return [_record(row) for row in rows]

    def purge(self, before: datetime) -> int:
        """Delete the records settled before ``before`` (aware); how many (one statement, by the time index)."""
        with self._db:
            return self._db.execute("DELETE FROM deliveries WHERE at < ?", (before.timestamp(),)).rowcount


def _record(row: tuple[str, str, str, str, str, float, int, str, str | None]) -> DeliveryRecord:
    rule_id, entity, destination, kind, key, at, attempts, outcome, event_id = row
    return DeliveryRecord(
        rule_id=rule_id, entity=entity, destination=destination, kind=kind, key=key,
        at=datetime.fromtimestamp(at, UTC), attempts=attempts, outcome=AuditOutcome(outcome), event_id=event_id,
    )  # fmt: skip
