"""Regular expressions for the ``matches`` operator, run by RE2: time linear in the text, whatever the pattern.

Python's ``re`` backtracks, so a pattern like ``^(a+)+$`` takes seconds to minutes on a few dozen
characters and stalls the partition that evaluates it. RE2 (``google-re2``) never backtracks; what it
cannot do in linear time — back-references, look-around, atomic groups, possessive quantifiers,
conditionals — it refuses to compile, so such a pattern is refused when the rule is written, with
RE2's reason (``compile_search`` raises ``OperandError``).

Semantics kept from ``re.search``: a match anywhere in the text (anchor with ``^...$``), inline flags
``(?i)``, ``(?m)``, ``(?s)``; Python's ``\\Z`` and ``{,n}``, which RE2 spells ``\\z`` and ``{0,n}``, are
rewritten. RE2 differs in: ``\\d``, ``\\w``, ``\\s``, ``\\b`` are ASCII; ``$`` (without ``(?m)``)
matches only at the very end; repetition counts are at most 1000 (docs/rules.md, "Limits").

The predicate calls the binding's ``RE2.Match`` directly (``re2._re2``): the package's ``re``-like
``search`` is Python code costing several microseconds per call, and a leaf only needs a yes or no.
Compiled expressions are shared by pattern (``lru_cache``): a thousand rules with one e-mail pattern
hold one RE2 object, which is thread-safe.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

import re2
from re2 import _re2

from shared.rules.errors import OperandError

Search = Callable[[str], bool]

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would print its own line on stderr; the reason goes into OperandError
_OPTIONS.never_capture = True  # a leaf asks "is there a match", never for groups
_UNANCHORED = _re2.RE2.Anchor.UNANCHORED
_NOT_FOUND = (-1, -1)
_CLASS_OPENING = re.compile(r"\[\^?\]?")
_POSIX_CLASS = re.compile(r"\[:\^?[a-z]+:\]")
_OPEN_LOWER_BOUND = re.compile(r"\{,(\d*)\}")


@lru_cache(maxsize=1024)
def compile_search(pattern: str) -> Search:
    """``search(text)``: True when ``pattern`` matches somewhere in ``text``. ``OperandError`` when
    RE2 cannot compile the pattern, with its reason on one line."""
    regexp = _re2.RE2(_re2_syntax(pattern).encode("utf-8", "surrogatepass"), _OPTIONS)
    if not regexp.ok():
        raise OperandError(f"invalid regular expression for RE2 (linear-time matching): {_reason(regexp, pattern)}")
    match = regexp.Match

    def search(text: str) -> bool:
        try:
            data = text.encode()
        except UnicodeEncodeError:  # a lone surrogate ("\ud800" in JSON) is data, not an error
            data = text.encode("utf-8", "surrogatepass")
        return match(_UNANCHORED, data, 0, len(data))[0] != _NOT_FOUND

    return search


def _re2_syntax(pattern: str) -> str:
    r"""``pattern`` with the two Python spellings RE2 reads differently rewritten, outside ``[...]``:
    ``\Z`` (end of text; an error in RE2) as ``\z``, and ``{,n}`` / ``{,}`` (Python: ``{0,n}`` /
    ``{0,}``; RE2: literal text) as ``{0,n}`` / ``{0,}``. Everything else is passed as written."""
    if "\\Z" not in pattern and "{," not in pattern:
        return pattern
    out: list[str] = []
    position, in_class = 0, False
    while position < len(pattern):
        char = pattern[position]
        if char == "\\" and position + 1 < len(pattern):
            escaped = pattern[position + 1]
            out.append("\\z" if escaped == "Z" and not in_class else char + escaped)
            position += 2
            continue
        if in_class:
            posix = _POSIX_CLASS.match(pattern, position)  # [:alpha:] holds a ']' that ends nothing
            if posix:
                out.append(posix.group())
                position = posix.end()
                continue
            in_class = char != "]"
        elif char == "[":
            opening = _CLASS_OPENING.match(pattern, position)  # "[", "[^", and a first ']' is literal
            assert opening is not None
            out.append(opening.group())
            position, in_class = opening.end(), True
            continue
        elif (bound := _OPEN_LOWER_BOUND.match(pattern, position)) is not None:
            out.append("{0," + bound.group(1) + "}")
            position = bound.end()
            continue
        out.append(char)
        position += 1
    return "".join(out)


def _reason(regexp: _re2.RE2, pattern: str) -> str:
    """RE2's error (``invalid perl operator: (?=``) on one line, with a hint for the usual causes."""
    reason = regexp.error().decode("utf-8", "replace").replace("\r", "\\r").replace("\n", "\\n")
    if "(?=" in reason or "(?!" in reason or "(?<=" in reason or "(?<!" in reason:
        return f"{reason} (look-around is not supported)"
    if (reason.startswith("invalid escape sequence: \\") and reason[-1:].isdigit()) or (
        reason == "invalid perl operator: (?P" and "(?P=" in pattern
    ):
        return f"{reason} (back-references are not supported)"
    return reason
