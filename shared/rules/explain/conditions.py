"""Walk a condition tree for one event and record what every node gave.

Each leaf is decided by the operator table of ``operators.py`` (the same ``compile_value`` /
``compile_pair`` the compiler uses), so an explanation cannot disagree with the engine about an
operator. Groups follow the engine: ``all`` is decided by a false child and ``any`` by a true one,
even after a failing leaf (a type surprise), which makes the group fail only when no child decides it;
siblings after the deciding one are still evaluated, for information, and flagged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from shared.events.models import Event
from shared.rules.definitions.conditions import AllCondition, AnyCondition, Condition, FieldCondition, NotCondition
from shared.rules.errors import OperandTypeError
from shared.rules.explain.models import ConditionExplanation
from shared.rules.explain.values import preview_literal, preview_value
from shared.rules.language.fields import MISSING, STATE_TOP, compile_getter, parse_field_path
from shared.rules.language.operators import lookup_operator

#: The value of a field path (``entity``, ``attributes.x``, ``state.<rule>``), ``MISSING`` when absent.
FieldReader = Callable[[str], Any]


def field_reader(event: Event, state_value: FieldReader | None = None) -> FieldReader:
    """Event fields from ``event``; ``state.`` fields from ``state_value`` (``MISSING`` without one)."""

    def read(text: str) -> Any:
        path = parse_field_path(text)
        if path.top == STATE_TOP:
            return state_value(text) if state_value is not None else MISSING
        return compile_getter(path)(event)

    return read


def explain_condition(
    condition: Condition, event: Event, *, path: str = "$.condition", read: FieldReader | None = None
) -> ConditionExplanation:
    """The explanation tree of ``condition`` for ``event``; never raises for a bad event value."""
    read = read or field_reader(event)
    if isinstance(condition, AllCondition):
        return _group("all", condition.all, event, path, read, decisive=False)
    if isinstance(condition, AnyCondition):
        return _group("any", condition.any, event, path, read, decisive=True)
    if isinstance(condition, NotCondition):
        inner = explain_condition(condition.not_, event, path=f"{path}.not", read=read)
        result = None if inner.result is None else not inner.result
        return ConditionExplanation("not", path, result, error=_propagated(inner), children=(inner,))
    return explain_leaf(condition, path=path, read=read)


def _group(
    kind: str, items: Sequence[Condition], event: Event, path: str, read: FieldReader, *, decisive: bool
) -> ConditionExplanation:
    """``all`` stops at the first false child, ``any`` at the first true one (``decisive``). A type
    surprise in a child fails the group only when no child decides it (the engine's rule)."""
    children: list[ConditionExplanation] = []
    decided = False
    error: str | None = None
    for position, item in enumerate(items):
        child = explain_condition(item, event, path=f"{path}.{kind}[{position}]", read=read)
        children.append(child.with_evaluated(not decided and child.evaluated))
        if decided:
            continue
        if child.result is None:
            error = error or _propagated(child)
        elif child.result is decisive:
            decided = True
    if decided:
        return ConditionExplanation(kind, path, decisive, children=tuple(children))
    outcome = None if error is not None else not decisive
    return ConditionExplanation(kind, path, outcome, error=error, children=tuple(children))


def _propagated(child: ConditionExplanation) -> str | None:
    if child.result is not None:
        return None
    return f"{child.path}: {child.error}" if child.kind == "field" else child.error


def explain_leaf(leaf: FieldCondition, *, path: str, read: FieldReader) -> ConditionExplanation:
    field_path = parse_field_path(leaf.field)
    actual = read(leaf.field)
    operator = lookup_operator(leaf.op)
    base: dict[str, Any] = {"field": leaf.field, "op": leaf.op, "actual": preview_value(actual)}
    if operator.tests_presence:
        wanted = leaf.operand
        present = actual is not MISSING and actual is not None
        return ConditionExplanation("field", path, present is wanted, expected=preview_literal(wanted), **base)
    if leaf.value_field is not None and operator.compile_pair is not None:
        return _pair_leaf(leaf, path, actual, read(leaf.value_field), operator.compile_pair(leaf.op), base)
    base["expected"] = preview_literal(leaf.value)
    if actual is MISSING or actual is None:
        note = f"the field is {'missing' if actual is MISSING else 'null'}: every operator but exists is false"
        return ConditionExplanation("field", path, False, note=note, **base)
    predicate = operator.compile_value(leaf.op, leaf.value, field_path.kind)
    try:
        result = bool(predicate(actual))
    except Exception as exc:  # a type surprise in the event: explained, never raised
        return ConditionExplanation("field", path, None, error=failure_reason(exc), **base)
    return ConditionExplanation("field", path, result, **base)


def _pair_leaf(
    leaf: FieldCondition, path: str, actual: Any, other: Any, predicate: Any, base: dict[str, Any]
) -> ConditionExplanation:
    assert leaf.value_field is not None
    base.update(expected_field=leaf.value_field, other_actual=preview_value(other))
    pairs = ((leaf.field, actual), (leaf.value_field, other))
    absent = [name for name, value in pairs if value is MISSING or value is None]
    if absent:
        return ConditionExplanation("field", path, False, note=f"{absent[0]} is missing or null", **base)
    try:
        result = bool(predicate(actual, other))
    except Exception as exc:  # a type surprise in the event: explained, never raised
        return ConditionExplanation("field", path, None, error=failure_reason(exc), **base)
    return ConditionExplanation("field", path, result, **base)


def failure_reason(exc: Exception) -> str:
    """Like the engine's log line: our own messages name types only; others give the class alone."""
    return f"{type(exc).__name__}: {exc}" if isinstance(exc, OperandTypeError) else type(exc).__name__
