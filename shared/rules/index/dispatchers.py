"""Dispatchers: from an event's field value to the group of rules keyed on it, by lookups, not checks.

A dispatcher is a function ``event -> CandidateList | None`` built once per bucket and field:

- ``equals``: rules testing ``field eq "x"`` / ``field in ["x", "y"]`` are grouped by literal; the
  event's value (text only) is looked up in a dict.
- ``suffix`` / ``prefix``: rules testing ``ends_with`` / ``starts_with`` are grouped by affix. A
  suffix that starts with a character found nowhere else in it (``@contoso.com``: the anchor ``@``)
  is looked up as ``value[value.rfind("@"):]`` — one lookup however many such suffixes there are;
  other suffixes are looked up by length (``value[-n:]`` for each distinct ``n``). Prefixes mirror
  this with the anchor at their end (``https:`` -> ``value[: value.find(":") + 1]``).

For a value that is neither text nor absent/null (a number, a list), an affix dispatcher returns its
rules with their whole conditions, so they fail and are logged exactly as without the index. An
equality test on such a value is simply false, so equality dispatch returns nothing.
"""

from __future__ import annotations

import weakref
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from operator import attrgetter
from typing import cast

from shared.events.models import Event
from shared.rules.index.candidates import CandidateList
from shared.rules.language.fields import MISSING, compile_getter, parse_field_path

Dispatcher = Callable[[Event], "CandidateList | None"]
#: Combinations of affixes one value hits at once, cached per dispatcher.
MAX_AFFIX_COMBINATIONS = 1024


def build_dispatcher(
    field: str,
    kind: str,
    groups: Mapping[str, CandidateList],
    *,
    unexpected: CandidateList,
    merge: Callable[[list[CandidateList]], CandidateList],
) -> Dispatcher:
    """The dispatcher of ``kind`` on ``field``; ``unexpected`` is what a non-text value gets, ``merge``
    combines the groups of several affixes hit by one value."""
    if kind == "equals":
        return _equals(field, dict(groups))
    return _affix(field, kind == "prefix", dict(groups), unexpected, merge)


def _equals(field: str, groups: dict[str, CandidateList]) -> Dispatcher:
    path = parse_field_path(field)
    if len(path.keys) == 1:
        key = path.keys[0]

        def attribute_equals(event: Event) -> CandidateList | None:
            value = event.attributes.get(key)
            return groups.get(value) if type(value) is str else None

        return attribute_equals
    read = attrgetter(path.top) if not path.keys else compile_getter(path)

    def field_equals(event: Event) -> CandidateList | None:
        value = read(event)
        return groups.get(value) if type(value) is str else None

    if not path.keys and path.top in TEXT_FIELDS:
        _TEXT_FIELD_TABLES[field_equals] = (read, cast("Callable[[object], CandidateList | None]", groups.get))
    return field_equals


#: Event fields whose value is always text or None: hashable, and None never equals a text literal.
TEXT_FIELDS = frozenset({"id", "source", "type", "entity", "tenant", "partition"})
#: For an equality dispatcher on one of them: the field's reader and its groups' ``get``.
_TEXT_FIELD_TABLES: weakref.WeakKeyDictionary[
    Dispatcher, tuple[Callable[[Event], object], Callable[[object], CandidateList | None]]
] = weakref.WeakKeyDictionary()


def text_field_table(
    dispatcher: Dispatcher,
) -> tuple[Callable[[Event], object], Callable[[object], CandidateList | None]] | None:
    """``(read, get)`` when ``dispatcher`` is ``get(read(event)) if text`` on a text-or-None field,
    so a caller may skip the type test (and a frame): ``get(read(event))`` returns the same."""
    return _TEXT_FIELD_TABLES.get(dispatcher)


def _affix(
    field: str,
    is_prefix: bool,
    groups: dict[str, CandidateList],
    unexpected: CandidateList,
    merge: Callable[[list[CandidateList]], CandidateList],
) -> Dispatcher:
    path = parse_field_path(field)
    read = attrgetter(path.top) if not path.keys else compile_getter(path)
    affixes = AffixTable(groups, is_prefix=is_prefix)
    found_in = affixes.found_in
    combined: dict[tuple[str, ...], CandidateList] = {}
    if len(affixes.anchored) == 1 and not affixes.by_length:  # ``@domain`` suffixes: one find, one lookup
        anchor = affixes.anchored[0][0]
        get = groups.get

        def anchored_suffix(event: Event) -> CandidateList | None:
            value = read(event)
            if type(value) is not str:
                return None if value is None or value is MISSING else unexpected
            at = value.rfind(anchor)
            return None if at < 0 else get(value[at:])

        def anchored_prefix(event: Event) -> CandidateList | None:
            value = read(event)
            if type(value) is not str:
                return None if value is None or value is MISSING else unexpected
            at = value.find(anchor)
            return None if at < 0 else get(value[: at + 1])

        return anchored_prefix if is_prefix else anchored_suffix

    def affix(event: Event) -> CandidateList | None:
        value = read(event)
        if type(value) is not str:
            return None if value is None or value is MISSING else unexpected
        found = found_in(value)
        if not found:
            return None
        if len(found) == 1:
            return groups[found[0]]
        key = tuple(sorted(found))
        hit = combined.get(key)
        if hit is None:
            if len(combined) >= MAX_AFFIX_COMBINATIONS:
                combined.clear()
            hit = combined[key] = merge([groups[piece] for piece in key])
        return hit

    return affix


class AffixTable:
    """A set of prefixes (or suffixes), found in a text by anchor character (one ``find`` for all the
    affixes sharing it) or, for affixes without an anchor, by one lookup per distinct length."""

    def __init__(self, affixes: Iterable[str], *, is_prefix: bool) -> None:
        self.is_prefix = is_prefix
        anchored: dict[str, set[str]] = defaultdict(set)
        by_length: dict[int, set[str]] = defaultdict(set)
        for affix in affixes:
            anchor, rest = (affix[-1], affix[:-1]) if is_prefix else (affix[0], affix[1:])
            if anchor not in rest:
                anchored[anchor].add(affix)
            else:
                by_length[len(affix)].add(affix)
        self.anchored = [(anchor, frozenset(found)) for anchor, found in anchored.items()]
        self.by_length = sorted((length, frozenset(found)) for length, found in by_length.items())

    def found_in(self, text: str) -> list[str]:
        """The affixes ``text`` starts (or ends) with."""
        found, is_prefix = [], self.is_prefix
        for anchor, table in self.anchored:
            at = text.find(anchor) if is_prefix else text.rfind(anchor)
            if at >= 0:
                piece = text[: at + 1] if is_prefix else text[at:]
                if piece in table:
                    found.append(piece)
        for length, table in self.by_length:
            piece = text[:length] if is_prefix else text[-length:]
            if len(piece) == length and piece in table:
                found.append(piece)
        return found
