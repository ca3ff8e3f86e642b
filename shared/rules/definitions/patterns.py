"""The stateful parts of a rule as users write them: windows, sequences, absence, entity states
(machines) and rate limits. Shapes and bounds are checked here; what needs the whole rule or the
whole rule set in ``authoring/lint.py`` (unknown and unreachable states) and
``authoring/references.py``.

Every bound below keeps one entity's state small (a Cosmos item holds at most 2 MB, and the state
is read and written once per batch).
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, field_validator, model_validator

from shared.rules.definitions.actions import ActionSpec
from shared.rules.definitions.conditions import CONFIG, EventFilter
from shared.rules.language.durations import format_duration, parse_duration, parse_positive_duration
from shared.rules.language.fields import STATE_TOP, parse_field_path

#: The longest span of event time any rule may remember (window size, ``within``, a rate period).
STATE_RETENTION = timedelta(days=365)
#: The most a rule may wait for stragglers (``allowed_lateness``).
MAX_LATENESS = timedelta(days=7)
MIN_WINDOW = timedelta(seconds=1)
#: A sliding window keeps at most this many events per entity (the newest).
MAX_SLIDING_EVENTS = 256
#: Distinct values a window tracks (as short hashes) per entity.
MAX_DISTINCT = 256
#: Tumbling buckets kept open at once (the current one plus those still within allowed lateness).
MAX_OPEN_BUCKETS = 16
MAX_SEQUENCE_STEPS = 8
MAX_MACHINE_STATES = 32
MAX_TRANSITIONS = 64
MAX_PER_PERIOD = 100
STATE_NAME_PATTERN = r"^[a-z0-9][a-z0-9_\-]*$"


def _retained(duration: timedelta) -> timedelta:
    if duration > STATE_RETENTION:
        limit = format_duration(STATE_RETENTION)
        raise ValueError(f"{format_duration(duration)} is longer than the state retention limit {limit}")
    return duration




def _positive(value: Any) -> Any:
    return parse_positive_duration(value) if isinstance(value, str) else value


def _not_negative(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    duration = parse_duration(value)
    if duration < timedelta(0):
        raise ValueError(f"invalid duration {value!r}: must not be negative")
    return duration


Span = Annotated[timedelta, BeforeValidator(_positive), AfterValidator(_retained)]
Lateness = Annotated[timedelta, BeforeValidator(_not_negative)]


class WindowSpec(BaseModel):
    """``{aggregate: count, size: PT10M, kind: sliding, op: ge, value: 5}`` per entity, in event time."""

    model_config = CONFIG

    aggregate: Literal["count", "sum", "avg", "min", "max", "distinct"]
    field: str | None = None
    size: Span
    kind: Literal["sliding", "tumbling"] = "sliding"
    op: Literal["eq", "ne", "lt", "le", "gt", "ge"]
    value: int | float

    @field_validator("field")
    @classmethod
    def _event_field(cls, text: str | None) -> str | None:
        if text is not None and parse_field_path(text).top == STATE_TOP:
            raise ValueError("a window aggregates an event field, not entity state")
        return text

    @field_validator("size")
    @classmethod
    def _long_enough(cls, size: timedelta) -> timedelta:
        if size < MIN_WINDOW:
            raise ValueError(f"a window is at least {MIN_WINDOW.total_seconds():g} second long")
        return size

    @field_validator("value")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("value must be a finite number")
        return value

    @model_validator(mode="after")
    def _bounded(self) -> WindowSpec:
        if self.aggregate != "count" and self.field is None:
            raise ValueError(f"{self.aggregate} needs a field to aggregate")
        limit = self.exact_limit
        if limit is not None and self.value >= limit:
            raise ValueError(
                f"a {self.kind} {self.aggregate} keeps at most {limit} events or values per entity: "
                f"value must be below {limit}" + (" (use a tumbling window)" if self.kind == "sliding" else "")
            )
        return self

    @property
    def exact_limit(self) -> int | None:
        """The largest count the window can hold exactly, for count/distinct thresholds."""
        if self.aggregate == "distinct":
            return MAX_DISTINCT
        if self.aggregate == "count" and self.kind == "sliding":
            return MAX_SLIDING_EVENTS
        return None


class SequenceSpec(BaseModel):
    """``{steps: [{types: [A]}, {types: [B]}], within: PT10M}``: A then B within 10 minutes."""

    model_config = CONFIG

    steps: list[EventFilter] = Field(min_length=2, max_length=MAX_SEQUENCE_STEPS)
    within: Span


class AbsenceSpec(BaseModel):
    """``{after: {types: [A]}, missing: {types: [B]}, within: P3D}``: A and no B within 3 days."""

    model_config = CONFIG

    after: EventFilter
    missing: EventFilter
    within: Span


class StateSpec(BaseModel):
    model_config = CONFIG
    on_enter: ActionSpec | None = None


class TransitionSpec(BaseModel):
    """``{from: trial, to: active, when: {types: [...], condition: ...}}``; ``from`` may list states."""

    model_config = CONFIG

    from_: str | list[str] = Field(alias="from")
    to: str
    when: EventFilter = Field(default_factory=EventFilter)

    @property
    def sources(self) -> tuple[str, ...]:
        return (self.from_,) if isinstance(self.from_, str) else tuple(self.from_)


class GlobalTransitionSpec(BaseModel):
    """A transition taken from any state (checked before the current state's own transitions)."""

    model_config = CONFIG

    to: str
    when: EventFilter = Field(default_factory=EventFilter)


class MachineSpec(BaseModel):
    """Named entity states with actions on entering them, and the transitions between them."""

    model_config = CONFIG

    initial: str
    states: dict[str, StateSpec] = Field(min_length=1, max_length=MAX_MACHINE_STATES)
    transitions: list[TransitionSpec] = Field(default_factory=list, max_length=MAX_TRANSITIONS)
    global_: list[GlobalTransitionSpec] = Field(default_factory=list, alias="global", max_length=MAX_TRANSITIONS)

    @field_validator("states")
    @classmethod
    def _state_names(cls, states: dict[str, StateSpec]) -> dict[str, StateSpec]:
        for name in states:
            if not re.fullmatch(STATE_NAME_PATTERN, name):
                raise ValueError(f"state name {name!r} must match [a-z0-9][a-z0-9_-]*")
        return states


class RateLimitSpec(BaseModel):
    """``max_per_period: {count: 3, period: P7D}``: at most 3 firings per entity in any 7 days."""

    model_config = CONFIG

    count: int = Field(ge=1, le=MAX_PER_PERIOD)
    period: Span
