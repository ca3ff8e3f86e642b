"""Dead letters in the SQLite store: the local counterpart of the Blob dead-letter store."""

from __future__ import annotations

import builtins
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from shared.store.deadletter_archive import DeadLetterSummary, summarize
from shared.store.deadletter_entity import payload_names_entity
from shared.store.models import DeadLetter, DeadLetterKind


class SqliteDeadLetters:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    @staticmethod
    def add_entity_column(db: sqlite3.Connection) -> None:
        """Files of format 3 and older get ``deadletters.entity`` (their letters keep ``NULL``: their
        payload decides whose they are) and its index."""
        columns = {row[1] for row in db.execute("PRAGMA table_info(deadletters)")}
        with db:
            if "entity" not in columns:
                db.execute("ALTER TABLE deadletters ADD COLUMN entity TEXT")
            db.execute(
                "CREATE INDEX IF NOT EXISTS deadletters_by_entity ON deadletters (entity) WHERE entity IS NOT NULL"
            )

    async def write(self, letters: Sequence[DeadLetter]) -> None:
        now = datetime.now(UTC).isoformat()
        with self._db:
            self._db.executemany(
                "INSERT INTO deadletters (kind, reason, payload, partition, sequence_number, offset,"
                " enqueued_time, event_id, rule_id, action_key, attempts, created_at, entity)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        d.kind,
                        d.reason,
                        d.payload,
                        d.partition,
                        d.sequence_number,
                        d.offset,
                        d.enqueued_time.isoformat() if d.enqueued_time else None,
                        d.event_id,
                        d.rule_id,
                        d.action_key,
                        d.attempts,
                        (d.created_at.isoformat() if d.created_at else now),
                        d.entity,
                    )
                    for d in letters
                ],
            )

    async def list(self, *, limit: int = 100, kind: DeadLetterKind | None = None) -> list[DeadLetter]:
        where, args = ("WHERE kind = ?", (kind,)) if kind else ("", ())
        rows = self._db.execute(
            f"SELECT {_LETTER_COLUMNS} FROM deadletters {where} ORDER BY id LIMIT ?", (*args, limit)
        ).fetchall()
        return [_letter_from_row(row) for row in rows]

    async def list_summaries(
        self, *, limit: int = 100, kind: DeadLetterKind | None = None
    ) -> builtins.list[DeadLetterSummary]:
        return [summarize(letter) for letter in await self.list(limit=limit, kind=kind)]

    async def get(self, letter_id: str) -> DeadLetter | None:
        if not letter_id.isdigit():
            return None
        row = self._db.execute(f"SELECT {_LETTER_COLUMNS} FROM deadletters WHERE id = ?", (int(letter_id),)).fetchone()
        return _letter_from_row(row) if row else None

    async def delete(self, letter_id: str) -> bool:
        if not letter_id.isdigit():
            return False
        with self._db:
            deleted = self._db.execute("DELETE FROM deadletters WHERE id = ?", (int(letter_id),))
        return deleted.rowcount == 1

    async def delete_entity_letters(self, entity: str) -> int:
        """The letters naming ``entity`` by index, then those naming none whose payload names it."""
        with self._db:
            named = self._db.execute("DELETE FROM deadletters WHERE entity = ?", (entity,)).rowcount
            unnamed = self._db.execute("SELECT id, payload FROM deadletters WHERE entity IS NULL")
            holding = [(row_id,) for row_id, payload in unnamed if payload_names_entity(bytes(payload), entity)]
            self._db.executemany("DELETE FROM deadletters WHERE id = ?", holding)
        return named + len(holding)


_LETTER_COLUMNS = (
    "kind, reason, payload, partition, sequence_number, offset, enqueued_time, event_id,"
    " rule_id, action_key, attempts, created_at, id, entity"
)


def _letter_from_row(r: tuple[Any, ...]) -> DeadLetter:
    return DeadLetter(
        kind=DeadLetterKind(r[0]),
        reason=r[1],
        payload=bytes(r[2]),
        partition=r[3],
        sequence_number=r[4],
        offset=r[5],
        enqueued_time=datetime.fromisoformat(r[6]) if r[6] else None,
        event_id=r[7],
        rule_id=r[8],
        action_key=r[9],
        attempts=r[10],
        created_at=datetime.fromisoformat(r[11]),
        id=str(r[12]),
        entity=r[13],
    )
