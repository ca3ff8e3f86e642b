"""One-call leaf checks for the commonest value types, so a leaf costs one Python frame.

A compiled leaf normally reads the field, rules out absent/null, then calls the operator's
predicate (which checks the value's type again). For values of the types a literal is usually
compared with (text for ``in``/``starts_with``/``matches``, numbers for ``ge``), the answer is one
C-level call: a bound method, ``methodcaller`` or ``partial`` of an ``operator`` function (for
``matches``, RE2's search: one small frame that encodes the text, see ``language/regex.py``). The
shortcut gives exactly the predicate's answer for those types; every other value (absent and null
excepted: "no match") goes to the checked leaf, which behaves and fails exactly as before.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

from shared.events.models import Event
from shared.rules.language.fields import FieldPath
from shared.rules.language.operands import Kind, typed_literal
from shared.rules.language.regex import compile_search

Check = Callable[[Event], bool]


@dataclass(frozen=True, slots=True)
class Shortcut:
    """``call(value)`` answers for values whose exact type is in ``types``; ``result`` says how to read
    what it returns: as is or negated."""

    types: tuple[type, ...]
    call: Callable[[Any], Any]
    result: Literal["as_is", "negated"] = "as_is"


#: ``value OP literal`` computed as ``partial(_REVERSED_ORDER[OP], literal)(value)``.
_REVERSED_ORDER = {"lt": operator.gt, "le": operator.ge, "gt": operator.lt, "ge": operator.le}
_NUMBER_TYPES = (int, float)


def shortcut_for(op: str, value: Any) -> Shortcut | None:
    """The shortcut for a literal that already compiled with its operator, if there is one."""
    if op in ("in", "not_in"):
        typed = [typed_literal(item) for item in value]
        if any(kind in (Kind.DATETIME, Kind.DURATION) for kind, _ in typed):
            return None
        scalars = frozenset(literal for kind, literal in typed if kind is not Kind.BOOL)
        return Shortcut((str, int, float), scalars.__contains__, "as_is" if op == "in" else "negated")
    if op in ("starts_with", "ends_with"):
        affixes = tuple(value) if isinstance(value, list) else (value,)
        return Shortcut((str,), operator.methodcaller(op.replace("_", ""), affixes))
    if op == "contains":
        return Shortcut((str,), operator.methodcaller("__contains__", value)) if type(value) is str else None
    if op == "matches":
        return Shortcut((str,), compile_search(value))
    if op not in _REVERSED_ORDER and op not in ("eq", "ne"):
        return None
    kind, literal = typed_literal(value)
    if op in _REVERSED_ORDER and kind is Kind.NUMBER:
        return Shortcut(_NUMBER_TYPES, partial(_REVERSED_ORDER[op], literal))
    if op in ("eq", "ne") and kind in (Kind.NUMBER, Kind.BOOL):
        compare, types = (operator.eq, _NUMBER_TYPES) if kind is Kind.NUMBER else (operator.is_, (bool,))
        return Shortcut(types, partial(compare, literal), "as_is" if op == "eq" else "negated")
    return None


def with_shortcut(op: str, value: Any, path: FieldPath, checked: Check) -> Check:
    """``checked`` with the shortcut for ``op``/``value`` in front of it, when there is one."""
    shortcut = shortcut_for(op, value)
    if shortcut is None or len(path.keys) > 1:
        return checked
    if path.keys:
        return _attribute_leaf(path.keys[0], shortcut, checked)
    return _top_level_leaf(operator.attrgetter(path.top), shortcut, checked)


def _attribute_leaf(key: str, shortcut: Shortcut, checked: Check) -> Check:
    types, call = shortcut.types, shortcut.call
    if shortcut.result == "negated":

        def attribute_not(event: Event) -> bool:
            value = event.attributes.get(key)
            if type(value) in types:
                return not call(value)
            return False if value is None else checked(event)

        return attribute_not

    def attribute(event: Event) -> bool:
        value = event.attributes.get(key)
        if type(value) in types:
            return call(value)  # type: ignore[no-any-return]
        return False if value is None else checked(event)

    return attribute


def _top_level_leaf(read: Callable[[Event], Any], shortcut: Shortcut, checked: Check) -> Check:
    types, call = shortcut.types, shortcut.call
    if shortcut.result == "negated":

        def field_not(event: Event) -> bool:
            value = read(event)
            if type(value) in types:
                return not call(value)
            return False if value is None else checked(event)

        return field_not

    def field(event: Event) -> bool:
        value = read(event)
        if type(value) in types:
            return call(value)  # type: ignore[no-any-return]
        return False if value is None else checked(event)

    return field
