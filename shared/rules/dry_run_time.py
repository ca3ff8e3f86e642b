"""Time on a dry run's virtual clock: how far to run after the last event, and when a match fired."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel

from shared.rules.compiler import RuleMatch
from shared.rules.models import RuleDefinition

_NOT_WAITS = frozenset({"cooldown"})  # a cool-down delays nothing: it only suppresses


def longest_wait(definitions: Iterable[RuleDefinition]) -> timedelta:
    """The longest duration any rule waits for (windows, ``within``, absences); zero when none do."""
    longest = timedelta(0)
    for definition in definitions:
        for name, value in _fields(definition):
            if name not in _NOT_WAITS:
                longest = max(longest, _longest_in(value))
    return longest


def _fields(model: BaseModel) -> list[tuple[str, Any]]:
    return [(name, getattr(model, name)) for name in type(model).model_fields]


def _longest_in(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, BaseModel):
        return max((_longest_in(item) for _, item in _fields(value)), default=timedelta(0))
    if isinstance(value, list | tuple):
        return max((_longest_in(item) for item in value), default=timedelta(0))
    if isinstance(value, dict):
        return max((_longest_in(item) for item in value.values()), default=timedelta(0))
    return timedelta(0)


def match_time(match: RuleMatch, default: datetime, *, trigger: str) -> datetime:
    """When a match fired: the deadline it carries (deadline firings), else ``default``."""
    if trigger == "deadline":
        for name in ("fired_at", "deadline", "time"):
            value = getattr(match, name, None)
            if isinstance(value, datetime):
                return value
    return default
