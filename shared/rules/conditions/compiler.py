"""Compile a condition tree into plain Python closures, once per rule-set version.

No ``eval``/``exec``: each node becomes a small function of the event. A leaf whose predicate
fails (a type surprise in the event) raises ``ConditionFailed`` naming the field and operator,
never the value; the evaluator turns that into "no match" and one log line. Groups do not let a
surprise hide a decision: ``any`` with a true child is true and ``all`` with a false child is false,
whatever the order; ``not`` of a surprise is a surprise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.events.models import Event
from shared.rules.conditions.shortcuts import with_shortcut
from shared.rules.definitions.conditions import AllCondition, AnyCondition, Condition, FieldCondition, NotCondition
from shared.rules.errors import ConditionFailed, OperandTypeError
from shared.rules.language.fields import MISSING, FieldPath, compile_getter, parse_field_path
from shared.rules.language.operands import Kind, kind_of
from shared.rules.language.operators import lookup_operator

Check = Callable[[Event], bool]




def always(event: Event) -> bool:
    return True


def compile_condition(condition: Condition | None) -> Check:
    if condition is None:
        return always
    if isinstance(condition, AllCondition):
        return _all_of(tuple(compile_condition(child) for child in condition.all))
    if isinstance(condition, AnyCondition):
        return _any_of(tuple(compile_condition(child) for child in condition.any))
    if isinstance(condition, NotCondition):
        inner = compile_condition(condition.not_)
        return lambda event: not inner(event)
    return compile_leaf(condition)


def _all_of(checks: tuple[Check, ...]) -> Check:
    """True when every child is. The unrolled forms run the plain expression (a ``try`` costs nothing
    until a leaf raises); after a type surprise, ``_careful_all`` decides without it if it can."""
    if len(checks) == 1:
        return checks[0]
    careful = _careful_all(checks)
    if len(checks) == 2:
        first, second = checks

        def all_of_two(event: Event) -> bool:
            try:
                return first(event) and second(event)
            except ConditionFailed:
                return careful(event)

        return all_of_two
    if len(checks) == 3:
        first, second, third = checks

        def all_of_three(event: Event) -> bool:
            try:
                return first(event) and second(event) and third(event)
            except ConditionFailed:
                return careful(event)

        return all_of_three
    return careful


def _careful_all(checks: tuple[Check, ...]) -> Check:
    """A false child decides even after a type surprise in another; the surprise fails the whole
    (``ConditionFailed``) only when no child is false."""

    def all_of(event: Event) -> bool:
        failure: ConditionFailed | None = None
        for check in checks:
            try:
                if not check(event):
                    return False
            except ConditionFailed as exc:
                failure = failure or exc
        if failure is not None:
            raise failure
        return True

    return all_of


def _any_of(checks: tuple[Check, ...]) -> Check:
    """True when a child is, even after a type surprise in another (which fails the whole only when
    no child is true)."""
    if len(checks) == 1:
        return checks[0]
    careful = _careful_any(checks)
    if len(checks) == 2:
        first, second = checks

        def any_of_two(event: Event) -> bool:
            try:
                return first(event) or second(event)
            except ConditionFailed:
                return careful(event)

        return any_of_two
    return careful


def _careful_any(checks: tuple[Check, ...]) -> Check:
    def any_of(event: Event) -> bool:
        failure: ConditionFailed | None = None
        for check in checks:
            try:
                if check(event):
                    return True
            except ConditionFailed as exc:
                failure = failure or exc
        if failure is not None:
            raise failure
        return False

    return any_of


def compile_leaf(leaf: FieldCondition) -> Check:
    path = parse_field_path(leaf.field)
    get = compile_getter(path)
    operator = lookup_operator(leaf.op)
    if operator.tests_presence:
        return _presence(path, get, wanted=leaf.operand)
    if leaf.value_field is not None and operator.compile_pair is not None:
        return _pair_leaf(leaf, get, operator.compile_pair(leaf.op))
    if leaf.op in ("eq", "ne") and kind_of(leaf.value) is Kind.STRING:
        return _string_equality(leaf, path)
    predicate = operator.compile_value(leaf.op, leaf.value, path.kind)
    checked = _value_leaf(path, predicate, op=leaf.op)
    return with_shortcut(leaf.op, leaf.value, path, checked)


def _presence(path: FieldPath, get: Callable[[Event], Any], *, wanted: bool) -> Check:
    """``exists``: present and not null (one dict read for ``attributes.<key>``)."""
    if len(path.keys) == 1:
        key = path.keys[0]
        if wanted:
            return lambda event: event.attributes.get(key) is not None
        return lambda event: event.attributes.get(key) is None

    def exists(event: Event) -> bool:
        value = get(event)
        return (value is not MISSING and value is not None) is wanted

    return exists


def _value_leaf(path: FieldPath, predicate: Callable[[Any], bool], *, op: str) -> Check:
    """``predicate`` on the field's value; absent and null are "no match" without asking it."""
    field = path.text
    if len(path.keys) == 1:  # the commonest path, attributes.<key>: read the dict directly
        key = path.keys[0]

        def check_attribute(event: Event) -> bool:
            value = event.attributes.get(key)
            if value is None:
                return False
            try:
                return predicate(value)
            except Exception as exc:  # a type surprise in the event: reported, never raised as is
                raise ConditionFailed(field, op, _reason(exc)) from exc

        return check_attribute
    get = compile_getter(path)

    def check(event: Event) -> bool:
        value = get(event)
        if value is MISSING or value is None:
            return False
        try:
            return predicate(value)
        except Exception as exc:  # a type surprise in the event: reported, never raised as is
            raise ConditionFailed(field, op, _reason(exc)) from exc

    return check


def _string_equality(leaf: FieldCondition, path: FieldPath) -> Check:
    """The commonest leaf, kept to one call: absent and null never equal a string."""
    literal = leaf.value
    if len(path.keys) == 1:
        key = path.keys[0]
        if leaf.op == "eq":
            return lambda event: event.attributes.get(key) == literal

        def attribute_not_equal(event: Event) -> bool:
            value = event.attributes.get(key)
            return value is not None and value != literal

        return attribute_not_equal
    get = compile_getter(path)
    if leaf.op == "eq":
        return lambda event: get(event) == literal

    def not_equal(event: Event) -> bool:
        value = get(event)
        return value is not MISSING and value is not None and value != literal

    return not_equal


def _pair_leaf(leaf: FieldCondition, get: Callable[[Event], object], predicate: Callable) -> Check:
    assert leaf.value_field is not None
    get_other = compile_getter(parse_field_path(leaf.value_field))
    field, op = leaf.field, leaf.op

    def check(event: Event) -> bool:
        left, right = get(event), get_other(event)
        if left is MISSING or left is None or right is MISSING or right is None:
            return False
        try:
            return bool(predicate(left, right))
        except Exception as exc:  # a type surprise in the event: reported, never raised as is
            raise ConditionFailed(field, op, _reason(exc)) from exc

    return check


def _reason(exc: Exception) -> str:
    """Safe to log: our own messages name types; others are reduced to the exception's class."""
    return f"{type(exc).__name__}: {exc}" if isinstance(exc, OperandTypeError) else type(exc).__name__








