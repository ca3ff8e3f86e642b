"""Entity keys and hashes as the entity tools accept them: checked once, at the edge."""

from __future__ import annotations

import re
from collections.abc import Iterable

from shared.entities.errors import EntityRequestInvalid
from shared.log_fields import entity_hash

#: Longer keys are refused (no producer's entity key is this long; it bounds what a request can ask).
MAX_KEY_LENGTH = 1024
_HASH = re.compile(r"[0-9a-f]{64}")


def check_entity(entity: str) -> str:
    """The entity key as given (keys are compared exactly), or ``EntityRequestInvalid``."""
    if not entity.strip():
        raise EntityRequestInvalid("the entity key is empty: give the key the events carry, e.g. ann@contoso.com")
    if len(entity) > MAX_KEY_LENGTH:
        raise EntityRequestInvalid(f"the entity key is {len(entity)} characters long; at most {MAX_KEY_LENGTH}")
    return entity


def check_hash(digest: str) -> str:
    """A SHA-256 hex digest (64 hex digits, any case; returned lower-case), or ``EntityRequestInvalid``."""
    lowered = digest.strip().lower()
    if not _HASH.fullmatch(lowered):
        raise EntityRequestInvalid(
            f"{digest[:80]!r} is not an entity hash: 64 hex digits (SHA-256 of the key, as `suppress list` shows)"
        )
    return lowered


def hashes_of(entities: Iterable[str] = (), hashes: Iterable[str] = ()) -> list[str]:
    """The hashes of ``entities`` and the already hashed ``hashes``, checked, each once, in order."""
    found = [entity_hash(check_entity(entity)) for entity in entities]
    found += [check_hash(digest) for digest in hashes]
    return list(dict.fromkeys(found))
