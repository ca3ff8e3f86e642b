"""Dry run (``squall rules test``): replay events through a rule set on a virtual clock, send nothing.

    run = DryRun(ruleset, clock="event")
    for line in lines:
        run.feed(line)                 # raw record (any format) or canonical event, bytes
    report = run.finish()              # report.firings: [DryRunFiring(time, rule_id, entity, ...)]

Like the pipeline: events are normalized (``shared.events``), de-duplicated by id, evaluated with an
in-memory state per entity, and matches become planned actions (``plan_actions``) whose idempotency
keys and contact keys are reported — no delivery, no store. Deadlines (absence rules) are fired by
``ruleset.fire_due(state, now)`` before each event and once at the end:

- ``clock="event"``: now is the latest event time seen (it never goes back); the end is the last
  event time plus the longest absence wait (``within`` + ``allowed_lateness``), so every pending
  deadline is decided.
- ``clock="wall"``: now is the real time (``wall_clock()``), before each event and at the end.

Like the timer, only entities whose ``state.due_at`` has passed are handed to ``fire_due``. Each
firing's ``time`` is in event time (``RuleMatch.fired_at``: an absence's deadline), whatever the clock.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from shared.actions.payloads import payload_preview
from shared.actions.planning import PlanResult, plan_actions
from shared.events import Event, NormalizeOptions
from shared.events.inputs import read_event_body
from shared.rules import CompiledRuleSet, RuleDefinition, RuleMatch, format_datetime
from shared.store.models import EntityState

ClockMode = Literal["event", "wall"]
CLOCK_MODES: tuple[ClockMode, ...] = ("event", "wall")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class DryRunFiring:
    """One rule fired for one entity: when (event time) and what would have been planned.

    ``trigger`` is ``event`` (the event itself matched) or ``deadline`` (fired by the clock, e.g. an
    absence). ``action_key``/``contact_key`` are ``None`` when the action could not be planned;
    ``error`` then says why (the pipeline would dead-letter it). ``kind``, ``destination`` and
    ``payload`` (the rendered body that destination would receive) describe the planned action.
    ``mode`` is the rule's: ``shadow`` firings are what the pipeline would only record, never send.
    """

    time: datetime
    rule_id: str
    entity: str
    event_id: str
    action_key: str | None
    contact_key: str | None
    trigger: str = "event"
    error: str | None = None
    kind: str | None = None
    destination: str | None = None
    payload: dict[str, Any] | None = None
    mode: str = "live"

    def to_json(self) -> dict[str, Any]:
        return {
            "time": format_datetime(self.time),
            "rule_id": self.rule_id,
            "entity": self.entity,
            "event_id": self.event_id,
            "action_key": self.action_key,
            "contact_key": self.contact_key,
            "trigger": self.trigger,
            "error": self.error,
            "kind": self.kind,
            "destination": self.destination,
            "payload": self.payload,
            "mode": self.mode,
        }


@dataclass(frozen=True, slots=True)
class DryRunRejection:
    """An input record that did not become an event (``line`` 1-based when known)."""

    line: int | None
    index: int | None
    reason: str


@dataclass(slots=True)
class DryRunReport:
    clock: ClockMode
    firings: list[DryRunFiring] = field(default_factory=list)
    rejections: list[DryRunRejection] = field(default_factory=list)
    events: int = 0
    duplicates: int = 0
    ended_at: datetime | None = None  # the clock when the run finished


class DryRun:
    """Feed record bodies in order, then ``finish()``. Holds every entity's state in memory."""

    def __init__(
        self,
        ruleset: CompiledRuleSet,
        *,
        clock: ClockMode = "event",
        options: NormalizeOptions | None = None,
        wall_clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if clock not in CLOCK_MODES:
            raise ValueError(f"clock must be one of {', '.join(CLOCK_MODES)}, not {clock!r}")
        self._ruleset = ruleset
        self._clock: ClockMode = clock
        self._options = options or NormalizeOptions()
        self._wall_clock = wall_clock
        self._states: dict[str, EntityState] = {}
        self._due: list[tuple[datetime, str]] = []  # (due_at, entity), a heap; stale entries are skipped
        self._seen_ids: set[str] = set()
        self._now: datetime | None = None
        self.report = DryRunReport(clock=clock)

    def feed(self, body: bytes, *, line: int | None = None) -> None:
        """Normalize one body (one record or a JSON array) and evaluate its events in order."""
        result = read_event_body(body, self._options)
        for rejection in result.rejections:
            self.report.rejections.append(DryRunRejection(line, rejection.index, rejection.reason))
        for event in result.events:
            self.feed_event(event)

    def feed_event(self, event: Event) -> None:
        self.report.events += 1
        if event.id in self._seen_ids:  # the pipeline de-duplicates by event id, so does the dry run
            self.report.duplicates += 1
            return
        self._seen_ids.add(event.id)
        self._fire_deadlines(self._advance(event.time))
        state = self._states.get(event.entity)
        if state is None:
            state = self._states[event.entity] = EntityState(entity=event.entity)
        matches = self._ruleset.evaluate(event, state)
        self._schedule(state)
        self._record(matches, trigger="event")

    def finish(self) -> DryRunReport:
        """Fire what is still due: at the end of the horizon (event clock) or now (wall clock)."""
        if self._clock == "wall":
            end = self._wall_clock()
        elif self._now is not None:
            end = self._now + longest_wait(rule.definition for rule in self._ruleset.rules)
        else:
            end = None
        if end is not None:
            self._fire_deadlines(end)
            self.report.ended_at = end
        self.report.firings.sort(key=lambda firing: firing.time)  # stable: same-time firings keep order
        return self.report

    def _advance(self, event_time: datetime) -> datetime:
        if self._clock == "wall":
            self._now = self._wall_clock()
        elif self._now is None or event_time > self._now:
            self._now = event_time
        return self._now

    def _schedule(self, state: EntityState) -> None:
        """Remember when the entity is next due (the store's ``due_at`` index, in memory)."""
        if state.due_at is not None:
            heapq.heappush(self._due, (state.due_at, state.entity))

    def _fire_deadlines(self, now: datetime) -> None:
        """What the timer does: fire the entities due by ``now``, earliest first."""
        while self._due and self._due[0][0] <= now:
            due_at, entity = heapq.heappop(self._due)
            state = self._states[entity]
            if state.due_at != due_at:
                continue  # rescheduled or cancelled since
            matches = self._ruleset.fire_due(state, now)
            self._schedule(state)
            if matches:
                self._record(matches, trigger="deadline")

    def _record(self, matches: Sequence[RuleMatch], *, trigger: str) -> None:
        if not matches:
            return
        planned = plan_actions(matches)
        for action, match in zip(planned.actions, _planned_matches(matches, planned), strict=True):
            self.report.firings.append(
                DryRunFiring(
                    time=match_time(match),
                    rule_id=action.rule_id,
                    entity=action.entity,
                    event_id=action.event_id,
                    action_key=action.key,
                    contact_key=action.contact_key,
                    trigger=trigger,
                    kind=action.kind.value,
                    destination=action.destination,
                    payload=payload_preview(action),
                    mode="shadow" if match.shadow else "live",
                )
            )
        for failure in planned.failures:
            match = failure.match
            self.report.firings.append(
                DryRunFiring(
                    time=match_time(match),
                    rule_id=match.rule_id,
                    entity=match.entity,
                    event_id=match.event.id,
                    action_key=None,
                    contact_key=None,
                    trigger=trigger,
                    error=failure.reason,
                    kind=match.action.kind,
                    destination=match.action.destination,
                    mode="shadow" if match.shadow else "live",
                )
            )


def _planned_matches(matches: Sequence[RuleMatch], planned: PlanResult) -> list[RuleMatch]:
    failed = {id(failure.match) for failure in planned.failures}
    return [match for match in matches if id(match) not in failed]


def longest_wait(definitions: Iterable[RuleDefinition]) -> timedelta:
    """How long after an event a deadline can still fire: the longest absence ``within`` plus its
    ``allowed_lateness`` (deadlines fire that much after they are due); zero without absences."""
    waits = [
        definition.absence.within + (definition.allowed_lateness or timedelta(0))
        for definition in definitions
        if definition.absence is not None
    ]
    return max(waits, default=timedelta(0))


def match_time(match: RuleMatch) -> datetime:
    """When a match fired, in event time: ``fired_at`` when the engine gives it (an absence's
    deadline, a stateful rule's event time), else the event's own time."""
    return match.fired_at if match.fired_at is not None else match.event.time


def dry_run(
    ruleset: CompiledRuleSet,
    bodies: Iterable[bytes],
    *,
    clock: ClockMode = "event",
    options: NormalizeOptions | None = None,
    wall_clock: Callable[[], datetime] = utc_now,
) -> DryRunReport:
    """Replay ``bodies`` (one record or array per item, line numbers from 1) and report the firings."""
    run = DryRun(ruleset, clock=clock, options=options, wall_clock=wall_clock)
    for line, body in enumerate(bodies, 1):
        if body.strip():
            run.feed(body, line=line)
    return run.finish()


__all__ = [
    "CLOCK_MODES",
    "ClockMode",
    "DryRun",
    "DryRunFiring",
    "DryRunRejection",
    "DryRunReport",
    "dry_run",
    "longest_wait",
    "match_time",
]
