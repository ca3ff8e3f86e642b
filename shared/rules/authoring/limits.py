"""How much rule input Squall accepts, and the checks that hold raw rules to it (docs/rules.md, "Limits").

Rules arrive from files, the rules API and stored rule sets; every path is bounded the same way:

- **Nesting**: mappings and lists at most ``MAX_NESTING_DEPTH`` deep. JSON text is measured before it
  is parsed (``json_text.py``), YAML while it is composed (``yaml_text.py``), raw rules here — always
  without recursion, so a deep document gets one line, never a ``RecursionError``.
- **Data JSON can carry**: rules are stored as JSON, so ``NaN``/``Infinity`` (YAML ``.nan``, ``.inf``),
  binary, sets and non-text keys are refused where they are written, with their path.
- **Sizes**: a rule file at most ``MAX_RULE_FILE_BYTES``; a rule set at most ``MAX_RULESET_BYTES`` of
  JSON, so that it fits the one Cosmos DB item (2 MB) that stores a version.
- **YAML aliases** may stand for at most ``MAX_ALIAS_VALUES`` values in a file (a "billion laughs"
  document is refused while it is read, long before it is expanded).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

#: Mappings and lists nested in a file, request body or rule (a 32-level condition needs about 70).
MAX_NESTING_DEPTH = 100
MAX_RULE_FILE_BYTES = 1024 * 1024
#: The rule set as stored (``json.dumps``, as the store writes it); a Cosmos DB item holds 2 MB.
MAX_RULESET_BYTES = 1_500_000
MAX_ALIAS_VALUES = 10_000

_SCALARS = (str, int, bool, type(None))


def too_deep_message(depth: int | None = None) -> str:
    """The one line every path prints for a document nested too deeply."""
    found = f" ({depth} levels)" if depth is not None else ""
    return f"nested too deeply{found}: at most {MAX_NESTING_DEPTH} levels of mappings and lists are allowed"


NOT_FINITE = "NaN and Infinity are not JSON numbers and cannot be stored or sent: write a finite number"
NOT_JSON = "value is not JSON data (text, number, true/false, null, list or mapping with text keys)"


def raw_rule_problem(rule: Any) -> tuple[str, str] | None:
    """``(path, message)`` of the first part of a raw rule that no rule may hold, else ``None``.

    Walks with an explicit stack: the depth is checked before anything deeper is looked at, so
    a cyclic or very deep structure costs ``MAX_NESTING_DEPTH`` steps down, not a recursion.
    """
    stack: list[tuple[Any, str, int]] = [(rule, "$", 1)]
    while stack:
        node, where, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > MAX_NESTING_DEPTH:
                return _top_field(where), too_deep_message()
            if isinstance(node, list):
                stack.extend((item, f"{where}[{i}]", depth + 1) for i, item in reversed(list(enumerate(node))))
                continue
            for key in reversed(list(node)):
                if not isinstance(key, str):
                    return where, f"{NOT_JSON}; found the key {str(key)[:40]!r}"
                stack.append((node[key], f"{where}.{key}", depth + 1))
        elif isinstance(node, float):
            if not math.isfinite(node):
                return where, NOT_FINITE
        elif not isinstance(node, _SCALARS):
            return where, NOT_JSON
    return None


def _top_field(path: str) -> str:
    """``$.condition.not.not...`` -> ``$.condition``: a 100-level path says less than the field holding it."""
    head, _, rest = path.removeprefix("$.").partition(".")
    return f"$.{head.partition('[')[0]}" if rest or "[" in head else path


def ruleset_size_problem(rules: Sequence[Any]) -> str | None:
    """Why ``rules`` (valid JSON data) are too large to store as one rule set, or ``None``."""
    size = len(json.dumps(list(rules)))
    if size <= MAX_RULESET_BYTES:
        return None
    return (
        f"the rule set is {size:,} bytes as JSON; at most {MAX_RULESET_BYTES:,} can be stored "
        "(one Cosmos DB item): split it into rule sets or shorten the rules"
    )
