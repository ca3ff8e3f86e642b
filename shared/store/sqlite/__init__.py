"""SQLite adapter: the embedded default store, one file, no server (``store.py``; rules, dead letters
and the delivery audit each in their module)."""

from shared.store.sqlite.store import FORMAT_VERSION, SqliteStore

__all__ = ["FORMAT_VERSION", "SqliteStore"]
