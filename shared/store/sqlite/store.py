"""SQLite adapter: the embedded default store, one file, no server.

Implements every store port on one connection. Calls are quick local writes, so the async methods
run them inline. Entity-state etags are a per-row counter, checked on write like Cosmos ETags.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from shared.store.errors import ConcurrencyConflict, StoreUnavailable
from shared.store.models import DeliveryRecord, EntityState, OutboxEntry
from shared.store.sqlite.deadletters import SqliteDeadLetters
from shared.store.sqlite.deliveries import SqliteDeliveries
from shared.store.sqlite.rules import SqliteRules

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rulesets (
    name TEXT NOT NULL, version INTEGER NOT NULL, rules TEXT NOT NULL, created_at TEXT NOT NULL,
    PRIMARY KEY (name, version));
CREATE TABLE IF NOT EXISTS suppressed_entities (hash TEXT PRIMARY KEY, added_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS suppression (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS states (
    entity TEXT PRIMARY KEY, data TEXT NOT NULL, etag INTEGER NOT NULL, due_at REAL);
CREATE TABLE IF NOT EXISTS outbox_entries (
    batch TEXT NOT NULL, key TEXT NOT NULL, entity TEXT NOT NULL, action TEXT NOT NULL, created_at TEXT NOT NULL,
    attempts INTEGER NOT NULL, sending_at TEXT, done_at REAL, PRIMARY KEY (batch, key));
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox_entries (created_at, key) WHERE done_at IS NULL;
CREATE INDEX IF NOT EXISTS outbox_tombstones ON outbox_entries (done_at) WHERE done_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS dedupe (key TEXT PRIMARY KEY, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS deadletters (
    id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, reason TEXT NOT NULL, payload BLOB NOT NULL,
    partition TEXT, sequence_number INTEGER, offset TEXT, enqueued_time TEXT, event_id TEXT,
    rule_id TEXT, action_key TEXT, attempts INTEGER NOT NULL, created_at TEXT NOT NULL, entity TEXT);
"""

_IN_CHUNK = 500  # keep IN (...) lists under SQLite's variable limit


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _IN_CHUNK):
        yield items[start : start + _IN_CHUNK]


class _SqliteStates:
    def __init__(self, db: sqlite3.Connection, *, tombstone_ttl_s: float) -> None:
        self._db = db
        self._deliveries = SqliteDeliveries(db)
        self._tombstone_ttl_s = tombstone_ttl_s
        self._next_purge = 0.0

    async def load_states(self, entities: Iterable[str]) -> dict[str, EntityState]:
        wanted = sorted(set(entities))
        found: dict[str, EntityState] = {}
        for chunk in _chunks(wanted):
            marks = ",".join("?" * len(chunk))
            for entity, data, etag, due_at in self._db.execute(
                f"SELECT entity, data, etag, due_at FROM states WHERE entity IN ({marks})", tuple(chunk)
            ):
                found[entity] = EntityState(
                    entity=entity, data=msgspec.json.decode(data), etag=str(etag), due_at=_from_epoch(due_at)
                )
        return found

    async def save_states(self, states: Sequence[EntityState], *, outbox: Sequence[OutboxEntry] = ()) -> None:
        """The outbox, then the states, in one transaction (one commit for the batch: SQLite makes
        the write-ahead atomic). A conflicting entity's write changes nothing (its etag no longer
        matches, or it exists already): its new entries are taken back, and the others commit."""
        first_conflict: str | None = None
        committed: list[tuple[EntityState, str]] = []
        with self._db:
            added = self._add_outbox(outbox)
            for state in states:
                try:
                    new_etag = self._write_state(state)
                except ConcurrencyConflict:
                    first_conflict = first_conflict or state.entity
                    self._db.executemany(
                        "DELETE FROM outbox_entries WHERE batch = ? AND key = ? AND sending_at IS NULL",
                        [(e.doc, e.key) for e in added.get(state.entity, [])],
                    )
                else:
                    committed.append((state, new_etag))
        for state, etag in committed:  # only once the transaction is in the file
            state.etag = etag
        if first_conflict is not None:
            raise ConcurrencyConflict(first_conflict)

    async def pending_outbox(
        self, *, limit: int = 100, entities: Iterable[str] | None = None, batch: str | None = None
    ) -> list[OutboxEntry]:
        columns = "SELECT batch, key, entity, action, created_at, attempts, sending_at FROM outbox_entries"
        where, bound = "done_at IS NULL", []
        if batch is not None:
            where, bound = where + " AND batch = ?", [batch]
        if entities is None:
            query = f"{columns} WHERE {where} ORDER BY created_at, key LIMIT ?"
            rows = self._db.execute(query, (*bound, limit)).fetchall()
        else:
            rows = []
            for chunk in _chunks(sorted(set(entities))):
                marks = ",".join("?" * len(chunk))
                query = f"{columns} WHERE {where} AND entity IN ({marks}) ORDER BY created_at, key LIMIT ?"
                rows.extend(self._db.execute(query, (*bound, *chunk, limit)).fetchall())
            rows = sorted(rows, key=lambda r: (r[4], r[1]))[:limit]
        return [
            OutboxEntry(
                entity=r[2], key=r[1], action=msgspec.json.decode(r[3]), created_at=datetime.fromisoformat(r[4]),
                attempts=r[5], batch="" if r[0].startswith("entity:") else r[0],
                sending_at=datetime.fromisoformat(r[6]) if r[6] else None,
            )
            for r in rows
        ]  # fmt: skip

    async def mark_sending(self, entries: Iterable[OutboxEntry], *, at: datetime) -> None:
        with self._db:
            self._db.executemany(
                "UPDATE outbox_entries SET sending_at = ?, attempts = attempts + 1 WHERE batch = ? AND key = ?",
                [(at.isoformat(), e.doc, e.key) for e in entries],
            )

    async def complete_outbox(self, entries: Iterable[OutboxEntry]) -> None:
        """Settled entries become tombstones (their action dropped) until the tombstone TTL ends."""
        now = time.time()
        with self._db:
            self._db.executemany(
                "UPDATE outbox_entries SET done_at = ?, action = 'null' "
                "WHERE batch = ? AND key = ? AND done_at IS NULL",
                [(now, e.doc, e.key) for e in entries],
            )
            if now >= self._next_purge:  # expired tombstones, at most once a minute (indexed by done_at)
                self._db.execute("DELETE FROM outbox_entries WHERE done_at < ?", (now - self._tombstone_ttl_s,))
                self._next_purge = now + 60

    async def record_deliveries(self, records: Sequence[DeliveryRecord]) -> None:
        self._deliveries.record(records)  # the deliveries table, one transaction

    async def outbox_backlog(self) -> tuple[int, datetime | None]:
        count, oldest = self._db.execute(
            "SELECT COUNT(*), MIN(created_at) FROM outbox_entries WHERE done_at IS NULL"
        ).fetchone()
        return int(count), datetime.fromisoformat(oldest) if oldest else None

    async def delete_state(self, entity: str) -> bool:
        with self._db:
            deleted = self._db.execute("DELETE FROM states WHERE entity = ?", (entity,))
        return deleted.rowcount == 1

    async def due_entities(self, now: datetime, *, limit: int = 500) -> list[str]:
        rows = self._db.execute(
            "SELECT entity FROM states WHERE due_at <= ? ORDER BY due_at, entity LIMIT ?",
            (now.timestamp(), limit),
        )
        return [row[0] for row in rows]

    def _write_state(self, state: EntityState) -> str:
        data = msgspec.json.encode(state.data).decode()
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

    def _add_outbox(self, entries: Sequence[OutboxEntry]) -> dict[str, list[OutboxEntry]]:
        """Entries merged by (document, key): a key already there is left as it is. The added ones,
        by entity."""
        now = datetime.now(UTC).isoformat()
        added: dict[str, list[OutboxEntry]] = {}
        for e in entries:
            inserted = self._db.execute(
                "INSERT OR IGNORE INTO outbox_entries (batch, key, entity, action, created_at, attempts) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (e.doc, e.key, e.entity, msgspec.json.encode(e.action).decode(),
                 e.created_at.isoformat() if e.created_at else now, e.attempts),
            )  # fmt: skip
            if inserted.rowcount:
                added.setdefault(e.entity, []).append(e)
        return added


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
#: brought up to date); 1: ``states.due_at``; 2: the outbox by batch (``outbox_entries``, tombstones);
#: 3: the delivery audit (``deliveries``, added to an older file on open); 4: dead letters name their
#: entity (``deadletters.entity``, added on open). A file stamped higher was written by a newer Squall
#: and is refused rather than misread.
FORMAT_VERSION = 4


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


def _move_outbox(db: sqlite3.Connection) -> None:
    """Format 1 kept one outbox row per (entity, key): its pending rows move to ``outbox_entries``."""
    if not db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'outbox'").fetchone():
        return
    with db:
        db.execute(
            "INSERT OR IGNORE INTO outbox_entries (batch, key, entity, action, created_at, attempts) "
            "SELECT 'entity:' || entity, key, entity, action, created_at, attempts FROM outbox"
        )
        db.execute("DROP TABLE outbox")


def _from_epoch(seconds: float | None) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if seconds is not None else None


class SqliteStore:
    """All store ports on one SQLite file (``:memory:`` works too)."""

    def __init__(self, path: str | Path, *, tombstone_ttl_s: float = 24 * 3600, throwaway: bool = False) -> None:
        """``throwaway``: the file is deleted after the run (``squall demo``'s temporary store), so it
        is never fsynced; a crashed process still leaves it whole (SQLite's ``synchronous=OFF``)."""
        target = str(path)
        if target != ":memory:":
            Path(target).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(target, isolation_level="DEFERRED", check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: durable against a crashed process (what replays are about), fsync at checkpoints.
            # OFF loses only what a power cut or OS crash catches, which a throwaway file never outlives.
            self._db.execute("PRAGMA synchronous=OFF" if throwaway else "PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=5000")
            _check_format(self._db, target)
            self._db.executescript(_SCHEMA)
            SqliteDeliveries.create(self._db)
            SqliteDeadLetters.add_entity_column(self._db)
            _add_due_at(self._db)
            _move_outbox(self._db)
            _stamp_format(self._db)
        except StoreUnavailable:
            self._db.close()
            raise
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot open SQLite store at {target!r}: {exc} (check SQUALL_STORE)") from exc
        self.path = target
        self.rules = SqliteRules(self._db)
        self.states = _SqliteStates(self._db, tombstone_ttl_s=tombstone_ttl_s)
        self.dedupe = _SqliteDedupe(self._db)
        self.deadletters = SqliteDeadLetters(self._db)
        self.deliveries = SqliteDeliveries(self._db)

    async def close(self) -> None:
        self._db.close()

    def close_now(self) -> None:
        """``close`` for a synchronous caller (an ``ExitStack``)."""
        self._db.close()
