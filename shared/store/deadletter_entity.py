"""Which dead letters hold an entity's data: what ``squall state delete`` removes with its state.

A letter names its entity (``DeadLetter.entity``) when the pipeline knew it: an event refused for
its time or failed in a rule (the canonical event), an action that could not be planned or
delivered. Such a letter belongs to that entity and no other. A record the normalizer refused never
became an event and names none (nor does a letter stored before letters named their entity): its
payload decides. JSON (one document, or one per line) holds the entity when any string in it — a
value or a member name, at any depth — is the key, compared exactly as entity keys are; other bytes
when the key's UTF-8 bytes appear in them as a whole token (not inside a longer address:
``ann@contoso.com`` is not found in ``joann@contoso.com``).

Every adapter decides with ``letter_holds_entity``, so memory, SQLite and Blob storage remove the
same letters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

#: Bytes that continue a key-like token: a key found next to one of them is part of a longer token.
_TOKEN_BYTES = rb"\w.@+\-"


def letter_holds_entity(letter_entity: str | None, payload: bytes, key: str) -> bool:
    """Whether a letter (its recorded entity and its payload) holds the data of entity ``key``."""
    if letter_entity is not None:
        return letter_entity == key
    return payload_names_entity(payload, key)


def payload_names_entity(payload: bytes, key: str) -> bool:
    """Whether ``payload`` names ``key``: a JSON string equal to it, or, in bytes that are not JSON,
    the key's bytes as a whole token."""
    needle = key.encode()
    if needle not in payload and b"\\" not in payload:  # JSON can spell the key only with escapes
        return False
    documents = _json_documents(payload)
    if documents is None:
        return _token_in(payload, needle)
    return any(text == key for document in documents for text in _strings(document))


def _json_documents(payload: bytes) -> list[Any] | None:
    """The payload as JSON: one document, or one per non-blank line (JSON Lines); ``None`` when it
    is neither (or not UTF-8, or nested too deep to read)."""
    try:
        text = payload.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    try:
        return [json.loads(text)]
    except ValueError:
        pass
    except RecursionError:
        return None
    try:
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    except (ValueError, RecursionError):
        return None


def _strings(document: Any) -> Iterator[str]:
    """Every string in a JSON document, member names included (iteratively: depth costs no stack)."""
    pending = [document]
    while pending:
        node = pending.pop()
        if isinstance(node, str):
            yield node
        elif isinstance(node, dict):
            yield from (name for name in node if isinstance(name, str))
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)


def _token_in(payload: bytes, needle: bytes) -> bool:
    pattern = re.compile(rb"(?<![" + _TOKEN_BYTES + rb"])" + re.escape(needle) + rb"(?![" + _TOKEN_BYTES + rb"])")
    return pattern.search(payload) is not None
