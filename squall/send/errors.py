"""Errors `squall send` turns into one-line messages (exit 2: fix the command; exit 1: sending failed)."""

from __future__ import annotations


class SendConfigError(Exception):
    """The command cannot start: a missing or malformed connection string, a bad option value."""


class SendFailed(Exception):
    """Event Hubs refused or could not be reached; ``events_sent`` made it before the failure."""

    def __init__(self, message: str, *, events_sent: int) -> None:
        super().__init__(message)
        self.events_sent = events_sent
