"""``StateView``: what a ``state.<rule id>[.<part>]`` condition field reads, through the rule's pattern and slot."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.rules.language.fields import MISSING, FieldPath
from shared.rules.stateful.memory import peek_slot
from shared.rules.stateful.program import RuleProgram
from shared.store.models import EntityState


class StateView:
    """Reads ``state.<rule id>[.<part>]`` for one entity at one moment (for conditions)."""

    def __init__(self, programs: dict[str, RuleProgram], state: EntityState | None, at: datetime) -> None:
        self._programs, self._state, self._at = programs, state, at

    def read(self, path: FieldPath) -> Any:
        program = self._programs.get(path.keys[0])
        if program is None or program.pattern is None or self._state is None:
            return MISSING
        slot = peek_slot(self._state, program.rule_id, program.pattern.fingerprint)
        return program.pattern.read(slot, path, self._at)
