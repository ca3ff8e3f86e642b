"""The delivery audit: every settled action leaves one record, ids only — an INFO log record with the
ids as fields (Application Insights in Azure) and a row of the SQLite store's ``deliveries`` table —
written once per settled request, never once per action."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from shared.events.models import RawEvent
from shared.log_fields import entity_hash
from shared.pipeline import BatchReport, PipelineDeps, process_batch, retry_pending_outbox
from shared.pipeline.audit import DeliveryAudit
from shared.rules import compile_ruleset, validate_rules
from shared.settings import Settings
from shared.store import AuditOutcome, DeliveryQuery, DeliveryRecord
from shared.store.sqlite import SqliteStore
from shared.wiring import open_pipeline
from tests.fakes import FixedRuleSource, RecordingSender

RULES = [
    {
        "id": "teams-journey",
        "when": {"types": ["MicrosoftTeams/*"]},
        "action": {"kind": "journey_entry", "event_definition_key": "APIEvent-teams", "contact_key": "{entity}"},
    },
    {
        "id": "teams-crm",
        "when": {"types": ["MicrosoftTeams/*"]},
        "action": {"kind": "webhook", "destination": "crm", "contact_key": "{entity}"},
    },
]


def teams_record(record_id: str, user: str) -> bytes:
    return json.dumps(
        {
            "CreationTime": "2026-11-20T10:00:00", "Id": record_id, "Operation": "TeamsSessionStarted",
            "OrganizationId": "tenant-1", "RecordType": 25, "ResultStatus": "Succeeded", "UserKey": "k",
            "UserType": 0, "Workload": "MicrosoftTeams", "UserId": user,
        }
    ).encode()  # fmt: skip


class CountedStates:
    """The SQLite state port, counting ``record_deliveries`` calls."""

    def __init__(self, inner: object) -> None:
        self._inner = inner
        self.audit_writes: list[int] = []

    async def record_deliveries(self, records: Sequence[DeliveryRecord]) -> None:
        self.audit_writes.append(len(records))
        await self._inner.record_deliveries(records)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)


def run(
    store: SqliteStore, sender: RecordingSender, users: list[str], *, audit: DeliveryAudit | None = None
) -> tuple[BatchReport, CountedStates]:
    """Process one batch (one Teams event per user), then deliver what it planned, as the relay does."""
    states = CountedStates(store.states)
    deps = PipelineDeps(
        rules=FixedRuleSource(compile_ruleset(validate_rules(RULES).rules, version=1)),
        states=states, dedupe=store.dedupe, deadletters=store.deadletters, sender=sender,  # type: ignore[arg-type]
        audit=audit or DeliveryAudit(),
    )  # fmt: skip
    batch = [
        RawEvent(body=teams_record(f"e{i}", user), partition="0", sequence_number=i) for i, user in enumerate(users)
    ]

    async def scenario() -> BatchReport:
        await process_batch(batch, deps)
        return await retry_pending_outbox(deps, now=datetime.now(UTC), grace=timedelta(0))

    return asyncio.run(scenario()), states


def test_every_delivered_action_leaves_one_record_with_ids_only(
    store: SqliteStore, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN alice's Teams session, which two rules turn into a journey entry and a webhook call
    caplog.set_level(logging.INFO, logger="shared.audit")
    before = datetime.now(UTC)
    # WHEN the batch is processed and its actions delivered
    report, _ = run(store, RecordingSender(), ["alice@contoso.example"])
    # THEN the deliveries table holds one record per delivered action, naming alice by her hash
    assert report.actions_delivered == 2
    records = store.deliveries.find(DeliveryQuery())
    assert sorted((r.rule_id, r.kind, r.destination, r.outcome, r.attempts) for r in records) == [
        ("teams-crm", "webhook", "crm", AuditOutcome.DELIVERED, 1),
        ("teams-journey", "journey_entry", "sfmc", AuditOutcome.DELIVERED, 1),
    ]
    alice = entity_hash("alice@contoso.example")
    assert {r.entity for r in records} == {alice} and {r.event_id for r in records} == {"e0"}
    assert all(before <= r.at <= datetime.now(UTC) and len(r.key) == 32 for r in records)
    # AND each got one INFO log record carrying the same ids as fields, and never the key of the entity
    logged = [r for r in caplog.records if getattr(r, "audit", None) == "delivery"]
    assert len(logged) == 2 and all(r.levelno == logging.INFO for r in logged)
    assert {(r.rule_id, r.entity, r.action_key, r.outcome, r.attempts) for r in logged} == {  # type: ignore[attr-defined]
        (r.rule_id, alice, r.key, "delivered", 1) for r in records
    }
    assert all("alice@" not in r.getMessage() and "alice@" not in str(vars(r)) for r in logged)


def test_an_action_refused_for_good_is_recorded_dead_lettered(store: SqliteStore) -> None:
    # GIVEN a destination that refuses the webhook for good
    report, _ = run(store, RecordingSender(fail_rules=frozenset({"teams-crm"})), ["bob@contoso.example"])
    # THEN the journey entry is recorded delivered and the webhook dead-lettered
    assert (report.actions_delivered, report.actions_dead_lettered) == (1, 1)
    outcomes = {r.rule_id: r.outcome for r in store.deliveries.find(DeliveryQuery())}
    assert outcomes == {"teams-journey": AuditOutcome.DELIVERED, "teams-crm": AuditOutcome.DEAD_LETTERED}


def test_the_audit_names_the_entity_by_its_key_when_configured(store: SqliteStore) -> None:
    # GIVEN SQUALL_AUDIT_ENTITY=key
    run(store, RecordingSender(), ["carol@contoso.example"], audit=DeliveryAudit("key"))
    # THEN the records name carol by her key, and a query by key finds them
    found = store.deliveries.find(DeliveryQuery(entities=("carol@contoso.example",)))
    assert len(found) == 2


def test_the_records_of_a_settled_request_are_written_at_once(store: SqliteStore) -> None:
    # GIVEN 60 users' sessions: 120 actions, settled in one request
    users = [f"user-{i}@contoso.example" for i in range(60)]
    # WHEN they are delivered
    report, states = run(store, RecordingSender(), users)
    # THEN the audit was one store write of 120 records, not one write per action
    assert report.actions_delivered == 120
    assert states.audit_writes == [120]
    assert len(store.deliveries.find(DeliveryQuery(limit=1000))) == 120


def test_the_audit_is_queried_by_entity_rule_time_and_outcome(store: SqliteStore) -> None:
    # GIVEN records of two entities, two rules and three times (one recorded twice)
    t0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)

    def rec(key: str, entity: str, rule: str, minutes: int, outcome: AuditOutcome) -> DeliveryRecord:
        return DeliveryRecord(
            rule_id=rule, entity=entity, destination="sfmc", kind="journey_entry", key=key,
            at=t0 + timedelta(minutes=minutes), attempts=1, outcome=outcome,
        )  # fmt: skip

    records = [
        rec("k1", "alice", "burst", 0, AuditOutcome.DELIVERED),
        rec("k2", "alice", "pair", 5, AuditOutcome.SHADOW),
        rec("k3", "bob", "burst", 10, AuditOutcome.DELIVERED),
    ]
    asyncio.run(store.states.record_deliveries(records))
    asyncio.run(store.states.record_deliveries(records[:1]))  # a replay: the first row stays

    def keys(query: DeliveryQuery) -> list[str]:
        return [r.key for r in store.deliveries.find(query)]

    # THEN each filter narrows, newest first; since is inclusive, until exclusive
    assert keys(DeliveryQuery()) == ["k3", "k2", "k1"]
    assert keys(DeliveryQuery(entities=("alice",))) == ["k2", "k1"]
    assert keys(DeliveryQuery(entities=("alice",), rule_id="burst")) == ["k1"]
    assert keys(DeliveryQuery(since=t0 + timedelta(minutes=5))) == ["k3", "k2"]
    assert keys(DeliveryQuery(until=t0 + timedelta(minutes=5))) == ["k1"]
    assert keys(DeliveryQuery(outcome=AuditOutcome.SHADOW)) == ["k2"]
    assert keys(DeliveryQuery(limit=1)) == ["k3"]


def test_the_audit_entity_setting_reaches_the_pipeline() -> None:
    # GIVEN SQUALL_AUDIT_ENTITY=key WHEN the pipeline is opened from settings
    async def opened() -> DeliveryAudit:
        pipeline = await open_pipeline(
            Settings.model_validate({"SQUALL_STORE": "memory", "SQUALL_AUDIT_ENTITY": "key"}),
            sender=RecordingSender(),  # type: ignore[arg-type]
        )
        try:
            return pipeline.deps.audit
        finally:
            await pipeline.aclose()

    # THEN its audit names entities by key; the default is the hash
    assert asyncio.run(opened()).entity == "key"
    assert Settings().audit_entity == "hash"
