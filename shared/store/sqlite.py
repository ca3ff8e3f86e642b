"""SQLite adapter: the embedded default store, one file, no server.

Implements every store port on one connection. Calls are quick local writes, so the async methods
run them inline. Entity-state etags are a per-row counter, checked on write like Cosmos ETags.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.store.errors import ConcurrencyConflict, RuleSetNotFound, StoreUnavailable
from shared.store.models import EntityState, OutboxEntry, RuleSetSnapshot
from shared.store.sqlite_deadletters import SqliteDeadLetters

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rulesets (
    name TEXT NOT NULL, version INTEGER NOT NULL, rules TEXT NOT NULL, created_at TEXT NOT NULL,
    PRIMARY KEY (name, version));
CREATE TABLE IF NOT EXISTS states (
    entity TEXT PRIMARY KEY, data TEXT NOT NULL, etag INTEGER NOT NULL, due_at REAL);
CREATE TABLE IF NOT EXISTS outbox (
    entity TEXT NOT NULL, key TEXT NOT NULL, action TEXT NOT NULL, created_at TEXT NOT NULL,
    attempts INTEGER NOT NULL, PRIMARY KEY (entity, key));
CREATE TABLE IF NOT EXISTS dedupe (key TEXT PRIMARY KEY, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS deadletters (
    id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, reason TEXT NOT NULL, payload BLOB NOT NULL,
    partition TEXT, sequence_number INTEGER, offset TEXT, enqueued_time TEXT, event_id TEXT,
    rule_id TEXT, action_key TEXT, attempts INTEGER NOT NULL, created_at TEXT NOT NULL);
"""

_IN_CHUNK = 500  # keep IN (...) lists under SQLite's variable limit


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _IN_CHUNK):
        yield items[start : start + _IN_CHUNK]


class _SqliteRules:
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


def _snapshot(name: str, row: tuple[int, str, str]) -> RuleSetSnapshot:
    version, rules, created_at = row
    stored_at = datetime.fromisoformat(created_at)
    return RuleSetSnapshot(name=name, version=version, rules=json.loads(rules), created_at=stored_at)


class _SqliteStates:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    async def load_states(self, entities: Iterable[str]) -> dict[str, EntityState]:
        wanted = sorted(set(entities))
        found: dict[str, EntityState] = {}
        for chunk in _chunks(wanted):
            marks = ",".join("?" * len(chunk))
            for entity, data, etag, due_at in self._db.execute(
                f"SELECT entity, data, etag, due_at FROM states WHERE entity IN ({marks})", tuple(chunk)
            ):
                found[entity] = EntityState(
                    entity=entity, data=json.loads(data), etag=str(etag), due_at=_from_epoch(due_at)
                )
        return found

    async def save_states(self, states: Sequence[EntityState], *, outbox: Sequence[OutboxEntry] = ()) -> None:
        """Each entity in its own transaction with its outbox entries; conflicts don't stop the rest."""
        by_entity: dict[str, list[OutboxEntry]] = {}
        for entry in outbox:
            by_entity.setdefault(entry.entity, []).append(entry)
        first_conflict: str | None = None
        for state in states:
            entries = by_entity.pop(state.entity, [])
            try:
                with self._db:
                    new_etag = self._write_state(state)
                    self._add_outbox(entries)
            except ConcurrencyConflict:
                first_conflict = first_conflict or state.entity
                continue
            state.etag = new_etag
        for entries in by_entity.values():  # entities with outbox entries and no state change
            with self._db:
                self._add_outbox(entries)
        if first_conflict is not None:
            raise ConcurrencyConflict(first_conflict)

    async def pending_outbox(self, *, limit: int = 100, entities: Iterable[str] | None = None) -> list[OutboxEntry]:
        columns = "SELECT entity, key, action, created_at, attempts FROM outbox"
        if entities is None:
            rows = self._db.execute(f"{columns} ORDER BY created_at, key LIMIT ?", (limit,)).fetchall()
        else:
            rows = []
            for chunk in _chunks(sorted(set(entities))):
                marks = ",".join("?" * len(chunk))
                query = f"{columns} WHERE entity IN ({marks}) ORDER BY created_at, key LIMIT ?"
                rows.extend(self._db.execute(query, (*chunk, limit)).fetchall())
            rows = sorted(rows, key=lambda r: (r[3], r[1]))[:limit]
        return [
            OutboxEntry(
                entity=r[0],
                key=r[1],
                action=json.loads(r[2]),
                created_at=datetime.fromisoformat(r[3]),
                attempts=r[4],
            )
            for r in rows
        ]

    async def complete_outbox(self, entries: Iterable[OutboxEntry]) -> None:
        with self._db:
            self._db.executemany(
                "DELETE FROM outbox WHERE entity = ? AND key = ?", [(e.entity, e.key) for e in entries]
            )

    async def due_entities(self, now: datetime, *, limit: int = 500) -> list[str]:
        rows = self._db.execute(
            "SELECT entity FROM states WHERE due_at <= ? ORDER BY due_at, entity LIMIT ?",
            (now.timestamp(), limit),
        )
        return [row[0] for row in rows]

    def _write_state(self, state: EntityState) -> str:
        data = json.dumps(state.data, separators=(",", ":"))
        due_at = state.due_at.timestamp() if state.due_at else None
        if state.etag is None:
            try:
                self._db.execute(
                    "INSERT INTO states (entity, data, etag, due_at) VALUES (?, ?, 1, ?)",
                    (state.entity, data, due_at),
                )
            except sqlite3.IntegrityError as exc:
                raise ConcurrencyConflict(state.entity) from exc
            return "1"
        updated = self._db.execute(
            "UPDATE states SET data = ?, due_at = ?, etag = etag + 1 WHERE entity = ? AND etag = ?",
            (data, due_at, state.entity, int(state.etag)),
        )
        if updated.rowcount != 1:
            raise ConcurrencyConflict(state.entity)
        return str(int(state.etag) + 1)

    def _add_outbox(self, entries: Sequence[OutboxEntry]) -> None:
        now = datetime.now(UTC).isoformat()
        self._db.executemany(
            "INSERT OR REPLACE INTO outbox (entity, key, action, created_at, attempts) VALUES (?, ?, ?, ?, ?)",
            [
                (
                    e.entity,
                    e.key,
                    json.dumps(e.action, default=str),
                    e.created_at.isoformat() if e.created_at else now,
                    e.attempts,
                )
                for e in entries
            ],
        )


class _SqliteDedupe:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    async def seen(self, keys: Iterable[str]) -> set[str]:
        wanted = sorted(set(keys))
        now = time.time()
        found: set[str] = set()
        for chunk in _chunks(wanted):
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(f"SELECT key FROM dedupe WHERE key IN ({marks}) AND expires_at > ?", (*chunk, now))
            found.update(row[0] for row in rows)
        return found

    async def remember(self, keys: Iterable[str], *, ttl_s: int) -> None:
        expires = time.time() + ttl_s
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO dedupe (key, expires_at) VALUES (?, ?)", ((k, expires) for k in keys)
            )


#: The file format this code writes (``PRAGMA user_version``). 0: a file from before the stamp (it is
#: brought up to date); 1: the tables above with ``states.due_at``. A file stamped higher was written
#: by a newer Squall and is refused rather than misread.
FORMAT_VERSION = 1


def _check_format(db: sqlite3.Connection, target: str) -> None:
    found = db.execute("PRAGMA user_version").fetchone()[0]
    if found > FORMAT_VERSION:
        raise StoreUnavailable(
            f"SQLite store at {target!r} has format {found}, written by a newer Squall; this version reads "
            f"formats up to {FORMAT_VERSION}: upgrade Squall, or point SQUALL_STORE at another file"
        )


def _stamp_format(db: sqlite3.Connection) -> None:
    with db:
        db.execute(f"PRAGMA user_version = {FORMAT_VERSION}")


def _add_due_at(db: sqlite3.Connection) -> None:
    """Files written before deadlines existed get the indexed ``due_at`` column (epoch seconds)."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(states)")}
    with db:
        if "due_at" not in columns:
            db.execute("ALTER TABLE states ADD COLUMN due_at REAL")
        db.execute("CREATE INDEX IF NOT EXISTS states_due_at ON states (due_at) WHERE due_at IS NOT NULL")


def _from_epoch(seconds: float | None) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if seconds is not None else None


class SqliteStore:
    """All store ports on one SQLite file (``:memory:`` works too)."""

    def __init__(self, path: str | Path) -> None:
        target = str(path)
        if target != ":memory:":
            Path(target).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(target, isolation_level="DEFERRED", check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: durable against a crashed process (what replays are about), fsync at checkpoints.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=5000")
            _check_format(self._db, target)
            self._db.executescript(_SCHEMA)
            _add_due_at(self._db)
            _stamp_format(self._db)
        except StoreUnavailable:
            self._db.close()
            raise
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot open SQLite store at {target!r}: {exc} (check SQUALL_STORE)") from exc
        self.path = target
        self.rules = _SqliteRules(self._db)
        self.states = _SqliteStates(self._db)
        self.dedupe = _SqliteDedupe(self._db)
        self.deadletters = SqliteDeadLetters(self._db)

    async def close(self) -> None:
        self._db.close()
