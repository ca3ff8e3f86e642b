"""Conditions that read entity state: ``{field: state.lifecycle, op: eq, value: active}``.

``state.<rule id>`` is what another stateful rule says about the entity: a machine's current state
name (``state.<machine>.since``: when it was entered), a window's current aggregate. The index
only ever sees a condition's event-only part (``event_filter``), so a rule that reads state is
still indexed and skipped cheaply; the rest (``state_part``) runs once the entity's state is loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from shared.events.models import Event
from shared.rules.conditions.compiler import compile_condition
from shared.rules.definitions.conditions import AllCondition, AnyCondition, Condition, FieldCondition, NotCondition
from shared.rules.definitions.rule import reads_state
from shared.rules.errors import ConditionFailed, OperandTypeError
from shared.rules.language.fields import MISSING, STATE_TOP, FieldPath, compile_getter, parse_field_path
from shared.rules.language.operators import lookup_operator


class StateReader(Protocol):
    def read(self, path: FieldPath) -> Any:
        """The value of a ``state.`` field for the entity being evaluated, or ``MISSING``."""
        ...


StateCheck = Callable[[Event, StateReader], bool]
_Operand = Callable[[Event, StateReader], Any]


def event_filter(condition: Condition | None) -> Condition | None:
    """The event-only part that ``condition`` implies (``None``: every event may pass)."""
    if not reads_state(condition):
        return condition
    if isinstance(condition, AllCondition):
        kept = [child for child in condition.all if not reads_state(child)]
        return AllCondition(all=kept) if kept else None
    return None


def state_part(condition: Condition | None) -> Condition | None:
    """What is left to check once ``event_filter(condition)`` passed (``None``: nothing)."""
    if not reads_state(condition):
        return None
    if isinstance(condition, AllCondition):
        rest = [child for child in condition.all if reads_state(child)]
        return rest[0] if len(rest) == 1 else AllCondition(all=rest)
    return condition


def compile_state_condition(condition: Condition | None) -> StateCheck:
    """A check of ``condition`` against an event and the entity's state; raises ``ConditionFailed``."""
    if not reads_state(condition):
        check = compile_condition(condition)
        return lambda event, reader: check(event)
    if isinstance(condition, AllCondition | AnyCondition):
        children = condition.all if isinstance(condition, AllCondition) else condition.any
        checks = tuple(compile_state_condition(child) for child in children)
        return _group(checks, decisive=isinstance(condition, AnyCondition))
    if isinstance(condition, NotCondition):
        inner = compile_state_condition(condition.not_)
        return lambda event, reader: not inner(event, reader)
    assert isinstance(condition, FieldCondition)
    return _state_leaf(condition)


def _group(checks: tuple[StateCheck, ...], *, decisive: bool) -> StateCheck:
    """``all`` (``decisive`` False: a false child decides) or ``any`` (a true child decides), even
    after a type surprise in another child; the surprise fails the group only when none decides."""

    def group(event: Event, reader: StateReader) -> bool:
        failure: ConditionFailed | None = None
        for check in checks:
            try:
                if bool(check(event, reader)) is decisive:
                    return decisive
            except ConditionFailed as exc:
                failure = failure or exc
        if failure is not None:
            raise failure
        return not decisive

    return group


def _state_leaf(leaf: FieldCondition) -> StateCheck:
    operator = lookup_operator(leaf.op)
    left = _operand(leaf.field)
    if operator.tests_presence:
        wanted = leaf.operand
        return lambda event, reader: (left(event, reader) not in (MISSING, None)) is wanted
    if leaf.value_field is not None and operator.compile_pair is not None:
        right, pair = _operand(leaf.value_field), operator.compile_pair(leaf.op)

        def compare(event: Event, reader: StateReader) -> bool:
            values = left(event, reader), right(event, reader)
            if any(value is MISSING or value is None for value in values):
                return False
            return _guarded(leaf, lambda: bool(pair(*values)))

        return compare
    predicate = operator.compile_value(leaf.op, leaf.value, "any")

    def check(event: Event, reader: StateReader) -> bool:
        value = left(event, reader)
        if value is MISSING or value is None:
            return False
        return _guarded(leaf, lambda: predicate(value))

    return check


def _operand(text: str) -> _Operand:
    path = parse_field_path(text)
    if path.top == STATE_TOP:
        return lambda event, reader: reader.read(path)
    get = compile_getter(path)
    return lambda event, reader: get(event)


def _guarded(leaf: FieldCondition, run: Callable[[], bool]) -> bool:
    try:
        return run()
    except Exception as exc:  # a type surprise: reported like an event leaf's, never raised as is
        reason = f"{type(exc).__name__}: {exc}" if isinstance(exc, OperandTypeError) else type(exc).__name__
        raise ConditionFailed(leaf.field, leaf.op, reason) from exc
