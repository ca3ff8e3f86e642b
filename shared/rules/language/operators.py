"""The operator table: each operator compiles its literal once into a predicate on an event value.

Like Powertools' feature-flag comparators, operators are looked up by name in one table; unlike
them, literals are typed and checked when a rule is validated, not on every event.
Predicates receive a value that is present and not null (the condition compiler handles absence)
and raise ``OperandTypeError`` when the event's value has a type the operator cannot use. Equality
(``eq``, ``ne``, ``in``, ``not_in``) never does: a value of another kind is simply different.
"""

from __future__ import annotations

import operator as python_operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.rules.errors import OperandError, OperandTypeError
from shared.rules.language.operands import ORDERED_KINDS, Kind, convert, convert_pair, kind_of, typed_literal
from shared.rules.language.regex import compile_search

Predicate = Callable[[Any], bool]
PairPredicate = Callable[[Any, Any], bool]
ValueCompiler = Callable[[str, Any, str], Predicate]  # (operator name, literal, field kind) -> predicate


@dataclass(frozen=True, slots=True)
class Operator:
    name: str
    compile_value: ValueCompiler
    compile_pair: Callable[[str], PairPredicate] | None = None  # field-vs-field, when supported
    tests_presence: bool = False  # ``exists``: looks at presence, not at the value
    #: For lint: orders values (never text), works on text only, may test a machine's state name.
    orders: bool = False
    text_only: bool = False
    state_ok: bool = False


def _typed(op: str, value: Any, field_kind: str, *, ordered: bool) -> tuple[Kind, Any]:
    kind, literal = typed_literal(value)
    if ordered and kind not in ORDERED_KINDS:
        raise OperandError(f"{op} needs a number, an ISO 8601 datetime or duration, got {kind.value}")
    if field_kind == "datetime" and kind is not Kind.DATETIME:
        raise OperandError(f"{op} on a datetime field needs an ISO 8601 datetime, got {kind.value}")
    if field_kind == "string" and kind is not Kind.STRING:
        raise OperandError(f"{op} on a string field needs a string, got {kind.value}")
    return kind, literal


def _equality(kind: Kind, literal: Any) -> Predicate:
    if kind is Kind.STRING:
        return lambda value: value == literal
    if kind is Kind.NUMBER:
        return lambda value: value == literal and not isinstance(value, bool)
    if kind is Kind.BOOL:
        return lambda value: value is literal
    return lambda value: _as_kind(value, kind) == literal


_OTHER_KIND = object()  # equals no literal: what a value of another kind converts to for eq/ne/in/not_in


def _as_kind(value: Any, kind: Kind) -> Any:
    """``value`` as ``kind`` for equality, or a marker that equals nothing: a value of another kind is
    simply different (``ne`` holds), never a type surprise."""
    try:
        return convert(value, kind)
    except OperandTypeError:
        return _OTHER_KIND


def _compile_eq(op: str, value: Any, field_kind: str) -> Predicate:
    return _equality(*_typed(op, value, field_kind, ordered=False))


def _compile_ne(op: str, value: Any, field_kind: str) -> Predicate:
    equals = _equality(*_typed(op, value, field_kind, ordered=False))
    return lambda value: not equals(value)


_ORDER_FUNCTIONS = {
    "lt": python_operator.lt,
    "le": python_operator.le,
    "gt": python_operator.gt,
    "ge": python_operator.ge,
}


def _compile_order(op: str, value: Any, field_kind: str) -> Predicate:
    kind, literal = _typed(op, value, field_kind, ordered=True)
    compare = _ORDER_FUNCTIONS[op]
    exact_type = {Kind.NUMBER: (int, float), Kind.DATETIME: (datetime,), Kind.DURATION: (timedelta,)}[kind]

    def ordered(value: Any) -> bool:
        if type(value) in exact_type and (kind is not Kind.DATETIME or value.tzinfo is not None):
            return compare(value, literal)  # the common case, without conversion
        return compare(convert(value, kind), literal)

    return ordered


def _compile_between(op: str, value: Any, field_kind: str) -> Predicate:
    if not isinstance(value, list) or len(value) != 2:
        raise OperandError("between needs a list of two values [low, high]")
    (low_kind, low), (high_kind, high) = (_typed(op, bound, field_kind, ordered=True) for bound in value)
    if low_kind is not high_kind:
        raise OperandError(f"between needs two values of one kind, not {low_kind} and {high_kind}")
    if low > high:
        raise OperandError("between needs low <= high")
    return lambda value: low <= convert(value, low_kind) <= high


def _compile_membership(op: str, value: Any, field_kind: str) -> Predicate:
    if not isinstance(value, list) or not value:
        raise OperandError(f"{op} needs a non-empty list of values")
    typed = [_typed(op, item, field_kind, ordered=False) for item in value]
    kinds = {kind for kind, _ in typed}
    temporal = kinds & {Kind.DATETIME, Kind.DURATION}
    if temporal and len(kinds) > 1:
        raise OperandError(f"{op} cannot mix {' and '.join(sorted(k.value for k in kinds))} values")
    if temporal:
        (kind,) = kinds
        members = frozenset(literal for _, literal in typed)
        contains: Predicate = lambda value: _as_kind(value, kind) in members  # noqa: E731
    else:
        flags = frozenset(literal for kind, literal in typed if kind is Kind.BOOL)
        scalars = frozenset(literal for kind, literal in typed if kind is not Kind.BOOL)
        contains = lambda value: _scalar_in(value, flags, scalars)  # noqa: E731
    if op == "in":
        return contains
    return lambda value: not contains(value)


def _scalar_in(value: Any, flags: frozenset[bool], scalars: frozenset[Any]) -> bool:
    if isinstance(value, bool):
        return value in flags
    if isinstance(value, list | dict):
        return False  # an array or object is none of the scalars (as ``eq``: kinds must agree)
    return value in scalars


def _text_only(op: str, field_kind: str) -> None:
    if field_kind == "datetime":
        raise OperandError(f"{op} works on text or arrays; compare datetimes with lt, ge, between ...")


def _compile_contains(op: str, value: Any, field_kind: str) -> Predicate:
    _text_only(op, field_kind)
    if isinstance(value, list | dict) or value is None:
        raise OperandError("contains needs a string, number or boolean")
    return lambda container: _contains(container, value)


def _contains(container: Any, item: Any) -> bool:
    if isinstance(container, str):
        if not isinstance(item, str):
            raise OperandTypeError("contains on a string needs a string")
        return item in container
    if isinstance(container, list):
        strict_bool = isinstance(item, bool)
        return any(element == item and isinstance(element, bool) is strict_bool for element in container)
    raise OperandTypeError(f"contains needs a string or an array, got {kind_of(container).value}")


def _compile_affix(op: str, value: Any, field_kind: str) -> Predicate:
    _text_only(op, field_kind)
    affixes = value if isinstance(value, list) else [value]
    if not affixes or not all(isinstance(affix, str) for affix in affixes):
        raise OperandError(f"{op} needs a string or a non-empty list of strings")
    as_tuple = tuple(affixes)
    method = str.startswith if op == "starts_with" else str.endswith

    def has_affix(text: Any) -> bool:
        return method(text if type(text) is str else _need_string(op, text), as_tuple)

    return has_affix


def _need_string(op: str, value: Any) -> str:
    if not isinstance(value, str):
        raise OperandTypeError(f"{op} needs a string, got {kind_of(value).value}")
    return value


def _compile_matches(op: str, value: Any, field_kind: str) -> Predicate:
    _text_only(op, field_kind)
    if not isinstance(value, str):
        raise OperandError("matches needs a regular expression string")
    search = compile_search(value)  # RE2: linear time; refuses back-references and look-around

    def matches(text: Any) -> bool:
        return search(text if type(text) is str else _need_string(op, text))

    return matches


def _compile_exists(op: str, value: Any, field_kind: str) -> Predicate:
    if not isinstance(value, bool):
        raise OperandError("exists takes true or false")
    return lambda present: present is value


EXISTS_DEFAULT = True


def _pair_equality(op: str) -> PairPredicate:
    def equals(left: Any, right: Any) -> bool:
        left_kind, right_kind = kind_of(left), kind_of(right)
        if left_kind is not right_kind or left_kind is Kind.OTHER:
            return left_kind is right_kind and left == right
        left_value, right_value = _as_kind(left, left_kind), _as_kind(right, right_kind)
        return left_value is not _OTHER_KIND and left_value == right_value

    if op == "eq":
        return equals
    return lambda left, right: not equals(left, right)


def _pair_order(op: str) -> PairPredicate:
    compare = _ORDER_FUNCTIONS[op]

    def ordered(left: Any, right: Any) -> bool:
        kind, left_value, right_value = convert_pair(left, right)
        if kind not in ORDERED_KINDS:
            raise OperandTypeError(f"{op} cannot order {kind.value} values")
        return compare(left_value, right_value)

    return ordered


def _pair_contains(op: str) -> PairPredicate:
    return _contains


def _pair_affix(op: str) -> PairPredicate:
    method = str.startswith if op == "starts_with" else str.endswith
    return lambda left, right: method(_need_string(op, left), _need_string(op, right))


OPERATORS: dict[str, Operator] = {
    operator.name: operator
    for operator in (
        Operator("eq", _compile_eq, _pair_equality, state_ok=True),
        Operator("ne", _compile_ne, _pair_equality, state_ok=True),
        Operator("lt", _compile_order, _pair_order, orders=True),
        Operator("le", _compile_order, _pair_order, orders=True),
        Operator("gt", _compile_order, _pair_order, orders=True),
        Operator("ge", _compile_order, _pair_order, orders=True),
        Operator("in", _compile_membership, state_ok=True),
        Operator("not_in", _compile_membership, state_ok=True),
        Operator("contains", _compile_contains, _pair_contains, text_only=True),
        Operator("starts_with", _compile_affix, _pair_affix, text_only=True),
        Operator("ends_with", _compile_affix, _pair_affix, text_only=True),
        Operator("matches", _compile_matches, text_only=True),
        Operator("exists", _compile_exists, tests_presence=True),
        Operator("between", _compile_between, orders=True),
    )
}


def lookup_operator(name: str) -> Operator:
    """The operator called ``name``; raises ``OperandError`` listing the known ones."""
    try:
        return OPERATORS[name]
    except (KeyError, TypeError):
        raise OperandError(f"unknown operator {name!r}; expected one of {', '.join(OPERATORS)}") from None
