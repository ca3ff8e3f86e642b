"""The outbox document: every action one batch planned, in one stored item (memory and Cosmos DB).

Writing one document per batch instead of one item per action is what makes the outbox cheap: a
Cosmos DB write costs ~5 RU for 1 KB and ~11 RU for 32 KB (docs/performance.md, "Cost model"), so a
batch's 30 actions cost one write, not thirty. A document:

    {"batch": "3:81200", "created_at": "...", "status": "pending",
     "entries": [{"key", "entity", "action", "created_at", "attempts", "sending_at"?}, ...],
     "done": ["<key>", ...]}

Entries leave ``entries`` for ``done`` as they are settled; once none is left the document is a
tombstone (``status: done``) that only lists keys, expires after the tombstone TTL, and makes a
replay of the batch merge into nothing. These functions are pure: the adapters read and write.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from shared.store.models import OutboxEntry

Doc = dict[str, Any]
PENDING = "pending"
DONE = "done"


def by_doc(entries: Iterable[OutboxEntry]) -> dict[str, list[OutboxEntry]]:
    """Entries grouped by their outbox document, in order."""
    grouped: dict[str, list[OutboxEntry]] = {}
    for entry in entries:
        grouped.setdefault(entry.doc, []).append(entry)
    return grouped


def new_doc(batch: str, *, now: datetime) -> Doc:
    return {"batch": batch, "created_at": now.isoformat(), "status": PENDING, "entries": [], "done": []}


def merge(doc: Doc, entries: Sequence[OutboxEntry], *, now: datetime) -> list[str]:
    """Add the entries whose key the document does not hold yet; the keys added."""
    known = {item["key"] for item in doc["entries"]} | set(doc["done"])
    added: list[str] = []
    for entry in entries:
        if entry.key in known:
            continue
        known.add(entry.key)
        doc["entries"].append(_item(entry, now=now))
        added.append(entry.key)
    if added:
        doc["status"] = PENDING
        oldest = min(item["created_at"] for item in doc["entries"])
        doc["created_at"] = min(doc["created_at"], oldest)  # ISO 8601 UTC strings sort as times
    return added


def retract(doc: Doc, keys: Iterable[str]) -> bool:
    """Take entries that were just added back out (their entity's state conflicted); only entries
    no deliverer has marked. True when the document changed."""
    wanted = set(keys)
    kept = [item for item in doc["entries"] if item["key"] not in wanted or item.get("sending_at")]
    changed = len(kept) != len(doc["entries"])
    doc["entries"] = kept
    _settle_status(doc)
    return changed


def mark_sending(doc: Doc, keys: Iterable[str], *, at: datetime) -> bool:
    wanted = set(keys)
    changed = False
    for item in doc["entries"]:
        if item["key"] in wanted:
            item["sending_at"] = at.isoformat()
            item["attempts"] = int(item.get("attempts", 0)) + 1
            changed = True
    return changed


def complete(doc: Doc, keys: Iterable[str]) -> bool:
    """Move these keys from ``entries`` to ``done``; True when the document changed."""
    wanted = set(keys)
    finished = [item["key"] for item in doc["entries"] if item["key"] in wanted]
    if not finished:
        return False
    doc["entries"] = [item for item in doc["entries"] if item["key"] not in wanted]
    doc["done"].extend(finished)
    _settle_status(doc)
    return True


def as_documents(entries: Iterable[OutboxEntry], *, now: datetime) -> list[Doc]:
    """Pending entries as the outbox container's documents (JSON values only), one per batch: what
    the change feed hands ``deliver_outbox`` (the tests and the bench hand the same)."""
    documents = []
    for batch, group in by_doc(entries).items():
        document: Doc = {"id": batch, "type": "outbox", **new_doc(batch, now=now)}
        merge(document, group, now=now)
        documents.append(document)
    return documents


def is_tombstone(doc: Doc) -> bool:
    return doc["status"] == DONE


def pending(doc: Doc) -> list[OutboxEntry]:
    return [_entry(doc["batch"], item) for item in doc["entries"]]


def _settle_status(doc: Doc) -> None:
    doc["status"] = PENDING if doc["entries"] else DONE


def _item(entry: OutboxEntry, *, now: datetime) -> dict[str, Any]:
    item: dict[str, Any] = {
        "key": entry.key, "entity": entry.entity, "action": entry.action,
        "created_at": (entry.created_at or now).isoformat(), "attempts": entry.attempts,
    }  # fmt: skip
    if entry.sending_at is not None:
        item["sending_at"] = entry.sending_at.isoformat()
    return item


def _entry(batch: str, item: dict[str, Any]) -> OutboxEntry:
    sending = item.get("sending_at")
    return OutboxEntry(
        entity=item["entity"], key=item["key"], action=item["action"],
        created_at=datetime.fromisoformat(item["created_at"]), attempts=int(item.get("attempts", 0)),
        batch="" if batch.startswith("entity:") else batch,
        sending_at=datetime.fromisoformat(sending) if sending else None,
    )  # fmt: skip
