"""The one error a normalizer raises: the record cannot become a canonical event, and why."""

from __future__ import annotations


class RecordRejected(ValueError):
    """A record is not a valid event of its format.

    ``reason`` is stable, precise text ("o365: missing required field 'Id'") that names the format and
    the field, never the payload's values. ``normalize_raw_event`` turns it into a ``Rejection``.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
