"""``StateView``: what a ``state.<rule id>[.<part>]`` condition field reads, through the rule's pattern and slot.

A window is read over the window ending at the reading event; an event that is late for the window
(older than the watermark minus its ``allowed_lateness``) reads the current window, ending at the
watermark, as the window itself evaluates such an event (the entries before it may be gone)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.rules.language.fields import MISSING, FieldPath
from shared.rules.language.times import from_ms, ms_value, to_ms
from shared.rules.stateful.memory import WATERMARK_KEY, peek_slot
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
        return program.pattern.read(slot, path, self._reading_time(program))

    def _reading_time(self, program: RuleProgram) -> datetime:
        assert self._state is not None
        watermark = ms_value(self._state.data.get(WATERMARK_KEY))
        if watermark is not None and to_ms(self._at) < watermark - program.lateness_ms:
            return from_ms(watermark)
        return self._at
