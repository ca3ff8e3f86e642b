"""Ids on log records, as fields: what Application Insights shows as custom dimensions (a leaf module).

Log calls pass the ids they mention with ``extra=log_ids(...)`` (keep them in the message too, for
plain-text sinks). ``batch_log_fields`` puts the running batch's partition on every record logged
inside it, from any module, through the ``BatchLogFields`` filter on the exporting handler.
Payloads and secrets never go here: only the ids named in ``LOG_FIELDS``.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Final

# The field names (custom dimensions in Application Insights). Renaming one breaks queries and alerts;
# docs/observability.md lists them. ``rule_id`` and ``partition`` are metric dimensions too.
EVENT_ID: Final = "event_id"
RULE_ID: Final = "rule_id"
ACTION_KEY: Final = "action_key"
PARTITION: Final = "partition"
SEQUENCE_NUMBER: Final = "sequence_number"
# The delivery audit's fields (one INFO record per settled or shadowed action: shared/pipeline/audit.py).
AUDIT: Final = "audit"  # "delivery" on every audit record: the one filter for them
ENTITY: Final = "entity"  # the entity's hash, or its key when SQUALL_AUDIT_ENTITY=key
DESTINATION: Final = "destination"
ACTION_KIND: Final = "action_kind"
OUTCOME: Final = "outcome"  # delivered | dead_lettered | shadow (a metric dimension too)
ATTEMPTS: Final = "attempts"
LOG_FIELDS: Final = (
    EVENT_ID, RULE_ID, ACTION_KEY, PARTITION, SEQUENCE_NUMBER, AUDIT, ENTITY, DESTINATION, ACTION_KIND, OUTCOME,
    ATTEMPTS,
)  # fmt: skip

_batch_fields: ContextVar[Mapping[str, object] | None] = ContextVar("squall_batch_log_fields", default=None)


def log_ids(
    *,
    event_id: str | None = None,
    rule_id: str | None = None,
    action_key: str | None = None,
    partition: str | None = None,
    sequence_number: int | None = None,
) -> dict[str, object]:
    """``extra=`` for a log call: the ids given (``None`` left out), under their dimension names."""
    fields = {
        EVENT_ID: event_id,
        RULE_ID: rule_id,
        ACTION_KEY: action_key,
        PARTITION: partition,
        SEQUENCE_NUMBER: sequence_number,
    }
    return {name: value for name, value in fields.items() if value is not None}


@functools.lru_cache(maxsize=32_768)  # a partition's entities come back batch after batch: ~1 µs -> ~0.1 µs
def entity_hash(entity: str) -> str:
    """The id of an entity key where the key itself must not go (the suppression list, logs): SHA-256
    of its UTF-8 bytes, 64 lower-case hex digits — in KQL, ``hash_sha256(entity)``.

    A pseudonym, not anonymity: anyone holding a list of candidate keys can hash them and compare.
    Keys are compared exactly as the events carry them (``Ann@contoso.com`` is not ``ann@contoso.com``).
    """
    return hashlib.sha256(entity.encode("utf-8", "surrogatepass")).hexdigest()


@contextmanager
def batch_log_fields(*, partition: str | None) -> Iterator[None]:
    """Within the block (and the tasks it starts), records lacking a partition get this one."""
    token = _batch_fields.set({} if partition is None else {PARTITION: partition})
    try:
        yield
    finally:
        _batch_fields.reset(token)


class BatchLogFields(logging.Filter):
    """Adds the running batch's fields to each record that does not carry them already."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in (_batch_fields.get() or {}).items():
            if getattr(record, name, None) is None:
                setattr(record, name, value)
        return True
