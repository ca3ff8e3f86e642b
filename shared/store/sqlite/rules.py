"""SQLite rule sets and the suppression list: the ``rules`` port of ``SqliteStore`` (sqlite.py).

Rule sets: one row per (name, version), never changed once written. The suppression list: one row
per entity hash (``suppressed_entities``) and one version counter (``suppression``) that moves with
every change, in the same transaction, so a cached reader re-reads the list only when it moved.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from shared.store.errors import RuleSetNotFound
from shared.store.models import RuleSetSnapshot, SuppressedEntity, SuppressionList


class SqliteRules:
    """Rule-set versions (``rulesets``) and the suppression list (``suppressed_entities``, its version
    in the one-row ``suppression``), on the store's connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    async def load_ruleset(self, name: str) -> RuleSetSnapshot:
        row = self._db.execute(
            "SELECT version, rules, created_at FROM rulesets WHERE name = ? ORDER BY version DESC LIMIT 1", (name,)
        ).fetchone()
        if row is None:
            raise RuleSetNotFound(f"no rule set named {name!r} in the SQLite store")
        return _snapshot(name, row)

    async def ruleset_version(self, name: str) -> int:
        row = self._db.execute("SELECT MAX(version) FROM rulesets WHERE name = ?", (name,)).fetchone()
        return int(row[0] or 0)

    async def save_ruleset(self, name: str, rules: Sequence[dict[str, Any]]) -> int:
        with self._db:
            version = await self.ruleset_version(name) + 1
            self._db.execute(
                "INSERT INTO rulesets (name, version, rules, created_at) VALUES (?, ?, ?, ?)",
                (name, version, json.dumps(list(rules)), datetime.now(UTC).isoformat()),
            )
        return version

    async def load_ruleset_version(self, name: str, version: int) -> RuleSetSnapshot:
        row = self._db.execute(
            "SELECT version, rules, created_at FROM rulesets WHERE name = ? AND version = ?", (name, version)
        ).fetchone()
        if row is None:
            raise RuleSetNotFound(f"rule set {name!r} has no version {version} in the SQLite store")
        return _snapshot(name, row)

    async def ruleset_history(self, name: str, *, limit: int = 20) -> list[RuleSetSnapshot]:
        rows = self._db.execute(
            "SELECT version, rules, created_at FROM rulesets WHERE name = ? ORDER BY version DESC LIMIT ?",
            (name, max(limit, 0)),
        ).fetchall()
        return [_snapshot(name, row) for row in rows]

    async def suppression_version(self) -> int:
        return self._version_now()

    async def load_suppression(self) -> SuppressionList:
        # The version first: rows written after it make the next version check read the list again.
        version = self._version_now()
        rows = self._db.execute("SELECT hash, added_at FROM suppressed_entities ORDER BY added_at, hash").fetchall()
        entries = tuple(SuppressedEntity(digest, datetime.fromisoformat(added)) for digest, added in rows)
        return SuppressionList(version, entries)

    async def suppress(self, hashes: Iterable[str]) -> int:
        now = datetime.now(UTC).isoformat()
        return self._change(
            "INSERT OR IGNORE INTO suppressed_entities (hash, added_at) VALUES (?, ?)",
            [(digest, now) for digest in dict.fromkeys(hashes)],
        )

    async def unsuppress(self, hashes: Iterable[str]) -> int:
        return self._change("DELETE FROM suppressed_entities WHERE hash = ?", [(d,) for d in set(hashes)])

    def _change(self, statement: str, rows: list[tuple[str, ...]]) -> int:
        """Run ``statement`` per row; when a row changed, move the version in the same transaction."""
        with self._db:
            before = self._db.total_changes
            self._db.executemany(statement, rows)
            if self._db.total_changes != before:
                self._db.execute(
                    "INSERT INTO suppression (id, version) VALUES (1, 1) "
                    "ON CONFLICT (id) DO UPDATE SET version = version + 1"
                )
        return self._version_now()

    def _version_now(self) -> int:
        row = self._db.execute("SELECT version FROM suppression WHERE id = 1").fetchone()
        return int(row[0]) if row else 0


def _snapshot(name: str, row: tuple[int, str, str]) -> RuleSetSnapshot:
    version, rules, created_at = row
    stored_at = datetime.fromisoformat(created_at)
    return RuleSetSnapshot(name=name, version=version, rules=json.loads(rules), created_at=stored_at)
