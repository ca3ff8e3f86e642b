"""What can go wrong with rules: invalid definitions, unreadable files, conditions failing at run time."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class RuleError:
    """One validation problem in one rule.

    ``path`` is JSON-path-like and relative to the rule, e.g. ``$.condition.all[1].op``.
    ``rule_id`` is ``None`` when the rule has no usable id; ``index`` is the rule's position in the
    sequence that was validated.
    """

    rule_id: str | None
    path: str
    message: str
    index: int | None = None

    def __str__(self) -> str:
        return f"{self.rule_id or '-'}  {self.path}  {self.message}"


class RuleFileError(Exception):
    """A rule file could not be read or parsed (``line`` is 1-based when known)."""

    def __init__(self, file: Path, message: str, *, line: int | None = None) -> None:
        where = f"{file}:{line}" if line is not None else str(file)
        super().__init__(f"{where}: {message}")
        self.file = file
        self.line = line
        self.message = message


class OperandError(ValueError):
    """A literal does not fit its operator (raised while validating and compiling)."""


class OperandTypeError(TypeError):
    """An event value has a type the operator cannot handle (raised while evaluating).

    The message names types only, never values: it ends up in logs.
    """


class InvalidRuleSet(ValueError):
    """``compile_ruleset`` was given rules that cannot be compiled together (e.g. duplicate ids)."""


class ConditionFailed(Exception):
    """A leaf could not be evaluated for an event (``reason`` names types only)."""

    def __init__(self, field: str, op: str, reason: str) -> None:
        super().__init__(f"{field} {op}: {reason}")
        self.field = field
        self.op = op
        self.reason = reason
