"""Entity keys and hashes as the entity tools accept them: checked once, at the edge."""

from __future__ import annotations

import re
from collections.abc import Iterable

from shared.entities.errors import EntityRequestInvalid, EntityRequestTooLarge
from shared.log_fields import entity_hash

#: Longer keys are refused (no producer's entity key is this long; it bounds what a request can ask).
MAX_KEY_LENGTH = 1024
#: Most entities one suppression request may name.
MAX_PER_REQUEST = 1000
_HASH = re.compile(r"[0-9a-f]{64}")


def check_entity(entity: str) -> str:
    """The entity key as given (keys are compared exactly), or ``EntityRequestInvalid``."""
    if not entity.strip():
        raise EntityRequestInvalid("the entity key is empty: give the key the events carry, e.g. ann@contoso.com")
    if len(entity) > MAX_KEY_LENGTH:
        raise EntityRequestInvalid(f"the entity key is {len(entity)} characters long; at most {MAX_KEY_LENGTH}")
    if not entity.isascii():
        try:
            entity.encode("utf-8")
        except UnicodeEncodeError:
            raise EntityRequestInvalid("the entity key holds a lone surrogate, which is not text") from None
    return entity


def check_hash(digest: str) -> str:
    """A SHA-256 hex digest (64 hex digits, any case; returned lower-case), or ``EntityRequestInvalid``."""
    lowered = digest.strip().lower()
    if not _HASH.fullmatch(lowered):
        raise EntityRequestInvalid(
            f"{digest[:80]!r} is not an entity hash: 64 hex digits (SHA-256 of the key, as `suppress list` shows)"
        )
    return lowered


def entities_request(body: object) -> tuple[list[str], list[str]]:
    """The entity keys and hashes a request body names: ``{"entities": [...], "hashes": [...]}``
    (either may be left out, not both), at most ``MAX_PER_REQUEST`` in all."""
    if not isinstance(body, dict) or not body.keys() <= {"entities", "hashes"}:
        raise EntityRequestInvalid('expected a JSON object {"entities": [KEY, ...], "hashes": [SHA256, ...]}')
    lists = [body.get("entities", []), body.get("hashes", [])]
    if not all(isinstance(items, list) and all(isinstance(i, str) for i in items) for items in lists):
        raise EntityRequestInvalid('"entities" and "hashes" must be lists of strings')
    entities, hashes = lists
    if not entities and not hashes:
        raise EntityRequestInvalid('name at least one entity: "entities" (keys) or "hashes" (SHA-256 hex)')
    if len(entities) + len(hashes) > MAX_PER_REQUEST:
        raise EntityRequestTooLarge(
            f"{len(entities) + len(hashes)} entities named; at most {MAX_PER_REQUEST} per request"
        )
    return entities, hashes


def hashes_of(entities: Iterable[str] = (), hashes: Iterable[str] = ()) -> list[str]:
    """The hashes of ``entities`` and the already hashed ``hashes``, checked, each once, in order."""
    found = [entity_hash(check_entity(entity)) for entity in entities]
    found += [check_hash(digest) for digest in hashes]
    return list(dict.fromkeys(found))
