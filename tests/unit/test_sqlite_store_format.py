"""A SQLite store file from an older Squall keeps working; one from a newer Squall is refused by name."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.store.errors import StoreUnavailable
from shared.store.models import AuditOutcome, DeadLetter, DeliveryQuery, DeliveryRecord, EntityState
from shared.store.sqlite import FORMAT_VERSION, SqliteStore

# The tables as a release before deadlines and the format stamp wrote them (no states.due_at, user_version 0).
OLDER_FILE = """
CREATE TABLE rulesets (name TEXT NOT NULL, version INTEGER NOT NULL, rules TEXT NOT NULL, created_at TEXT NOT NULL,
    PRIMARY KEY (name, version));
CREATE TABLE states (entity TEXT PRIMARY KEY, data TEXT NOT NULL, etag INTEGER NOT NULL);
INSERT INTO rulesets VALUES ('default', 3, '[]', '2026-01-01T00:00:00+00:00');
INSERT INTO states VALUES ('ana@contoso.com', '{"rules": {}}', 4);
"""


def test_a_file_from_an_older_release_is_brought_up_to_date_and_keeps_its_data(tmp_path: Path) -> None:
    # GIVEN a store file written before the format stamp and the due_at column
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.executescript(OLDER_FILE)

    async def read() -> tuple[int, EntityState]:
        store = SqliteStore(path)
        try:
            states = await store.states.load_states(["ana@contoso.com"])
            return await store.rules.ruleset_version("default"), states["ana@contoso.com"]
        finally:
            await store.close()

    # WHEN this release opens it THEN its rules and state are there, and the file is stamped
    version, state = asyncio.run(read())
    assert (version, state.data) == (3, {"rules": {}})
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == FORMAT_VERSION


def test_a_file_from_a_newer_release_is_refused_with_its_format_named(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {FORMAT_VERSION + 1}")
    with pytest.raises(StoreUnavailable, match=rf"has format {FORMAT_VERSION + 1}, written by a newer Squall"):
        SqliteStore(path)


def test_a_kept_store_is_fsynced_at_checkpoints_and_a_throwaway_one_never(tmp_path: Path) -> None:
    # GIVEN a kept store and the temporary store of `squall demo` (deleted after the run)
    kept, throwaway = SqliteStore(tmp_path / "kept.db"), SqliteStore(tmp_path / "tmp.db", throwaway=True)
    try:
        # THEN both survive a killed process (WAL), and only the kept one pays for fsync (NORMAL = 1, OFF = 0)
        assert kept._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert kept._db.execute("PRAGMA synchronous").fetchone()[0] == 1
        assert throwaway._db.execute("PRAGMA synchronous").fetchone()[0] == 0
    finally:
        kept.close_now()
        throwaway.close_now()


# The tables of format 2 (before the delivery audit): the outbox by batch, no `deliveries`.
FORMAT_2_FILE = """
CREATE TABLE rulesets (name TEXT NOT NULL, version INTEGER NOT NULL, rules TEXT NOT NULL, created_at TEXT NOT NULL,
    PRIMARY KEY (name, version));
CREATE TABLE states (entity TEXT PRIMARY KEY, data TEXT NOT NULL, etag INTEGER NOT NULL, due_at REAL);
CREATE TABLE outbox_entries (
    batch TEXT NOT NULL, key TEXT NOT NULL, entity TEXT NOT NULL, action TEXT NOT NULL, created_at TEXT NOT NULL,
    attempts INTEGER NOT NULL, sending_at TEXT, done_at REAL, PRIMARY KEY (batch, key));
INSERT INTO states VALUES ('ana@contoso.com', '{"rules": {}}', 2, NULL);
PRAGMA user_version = 2;
"""


def test_a_format_2_file_gets_the_deliveries_table_and_keeps_its_state(tmp_path: Path) -> None:
    # GIVEN a store file of format 2, written before the delivery audit
    path = tmp_path / "format2.db"
    with sqlite3.connect(path) as db:
        db.executescript(FORMAT_2_FILE)
    record = DeliveryRecord(
        rule_id="r", entity="h", destination="sfmc", kind="journey_entry", key="k1",
        at=datetime(2026, 11, 20, tzinfo=UTC), attempts=1, outcome=AuditOutcome.DELIVERED,
    )  # fmt: skip

    async def use() -> tuple[EntityState, list[DeliveryRecord]]:
        store = SqliteStore(path)
        try:
            await store.states.record_deliveries([record])
            state = (await store.states.load_states(["ana@contoso.com"]))["ana@contoso.com"]
            return state, store.deliveries.find(DeliveryQuery())
        finally:
            await store.close()

    # WHEN this release opens it THEN its state is there, the audit can be written and read back
    state, found = asyncio.run(use())
    assert (state.data, state.etag) == ({"rules": {}}, "2")
    assert found == [record]
    # AND the file is stamped with the current format
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == FORMAT_VERSION == 4


# Format 3's dead letters (before they named their entity): a refused record of ana's and one of bob's.
FORMAT_3_FILE = """
CREATE TABLE deadletters (
    id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, reason TEXT NOT NULL, payload BLOB NOT NULL,
    partition TEXT, sequence_number INTEGER, offset TEXT, enqueued_time TEXT, event_id TEXT,
    rule_id TEXT, action_key TEXT, attempts INTEGER NOT NULL, created_at TEXT NOT NULL);
INSERT INTO deadletters (kind, reason, payload, attempts, created_at)
    VALUES ('event', 'rule evaluation failed: KeyError', CAST('{"entity": "ana@contoso.com"}' AS BLOB), 0,
            '2026-11-20T10:00:00+00:00');
INSERT INTO deadletters (kind, reason, payload, attempts, created_at)
    VALUES ('event', 'o365: no Id', CAST('{"UserId": "bob@contoso.com"}' AS BLOB), 0, '2026-11-20T10:00:00+00:00');
PRAGMA user_version = 3;
"""


def test_a_format_3_file_gets_the_dead_letter_entity_and_its_old_letters_are_found_by_payload(tmp_path: Path) -> None:
    # GIVEN a store file of format 3, whose dead letters do not name their entity
    path = tmp_path / "format3.db"
    with sqlite3.connect(path) as db:
        db.executescript(FORMAT_3_FILE)

    async def use() -> tuple[int, list[str | None]]:
        store = SqliteStore(path)
        try:
            await store.deadletters.write([DeadLetter(kind="action", reason="permanent", payload=b"{}",
                                                      entity="ana@contoso.com")])  # fmt: skip
            removed = await store.deadletters.delete_entity_letters("ana@contoso.com")
            return removed, [letter.payload.decode() for letter in await store.deadletters.list()]
        finally:
            await store.close()

    # WHEN this release opens it, parks a letter naming ana, and removes ana's letters
    removed, left = asyncio.run(use())
    # THEN the new letter (by its entity) and the old one (by its payload) went; bob's stays
    assert (removed, left) == (2, ['{"UserId": "bob@contoso.com"}'])
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == FORMAT_VERSION
