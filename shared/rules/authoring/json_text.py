"""JSON text read with bounds: depth measured before parsing, ``NaN``/``Infinity`` refused.

``json.loads`` recurses once per nesting level, so ``[[[[...`` ten thousand deep ends in a
``RecursionError`` (a 3,000-line traceback, or a 500 from the API); and it accepts ``NaN``,
``Infinity`` and ``1e999`` (an infinite float), which no JSON store or receiver can carry.
``parse_json_text`` first measures the nesting in one linear pass without recursion, then parses
with the non-JSON constants and non-finite numbers refused. Used for rule files, the rules API's
request bodies and the CLI's JSON inputs.
"""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import Any

from shared.rules.authoring.limits import MAX_NESTING_DEPTH, NOT_FINITE, too_deep_message

#: A string literal, or an unterminated one up to the end; possessive, so never backtracks.
_STRING = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+"?', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]++")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class JsonTextError(ValueError):
    """The text is not JSON Squall accepts; ``line`` and ``column`` (1-based) when the parser knows them."""

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


class _NotFinite(ValueError):
    pass


def nesting_depth(text: str) -> int:
    """How deep mappings and lists nest in JSON ``text`` (brackets inside strings do not count).

    Linear in the text: strings are cut out by a regex that cannot backtrack, the remaining
    brackets summed in C. Invalid JSON gets an upper bound, never an underestimate.
    """
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def parse_json_text(text: str | bytes) -> Any:
    """The JSON value in ``text`` (bytes are decoded as ``json.loads`` would). Raises ``JsonTextError``."""
    if isinstance(text, bytes):
        try:
            text = text.decode(json.detect_encoding(text))
        except UnicodeDecodeError:
            raise JsonTextError("invalid JSON: not UTF-8 text") from None
    depth = nesting_depth(text)
    if depth > MAX_NESTING_DEPTH:
        raise JsonTextError(too_deep_message(depth))
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise JsonTextError(f"invalid JSON: {exc.msg}", line=exc.lineno, column=exc.colno) from None
    except _NotFinite as exc:
        raise JsonTextError(str(exc)) from None
    except ValueError:  # an integer beyond Python's 4,300-digit conversion limit
        raise JsonTextError("invalid JSON: a number has too many digits") from None


def _refuse_constant(name: str) -> Any:
    raise _NotFinite(f"{name}: {NOT_FINITE}")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotFinite(f"{text[:40]}: {NOT_FINITE}")
    return value
