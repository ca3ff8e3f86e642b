"""A batch with a bad event and a failing action, through process_batch and the Marketing Cloud stub
over real HTTP: log records carry the ids as fields, and none carries a payload or a secret."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from shared.actions.sfmc import MarketingCloudConfig, MarketingCloudDeliverer
from shared.events.models import RawEvent
from shared.pipeline import PipelineDeps, process_batch, retry_pending_outbox
from shared.pipeline.report import BatchReport
from shared.rules import compile_ruleset, validate_rules
from shared.store.sqlite import SqliteStore
from shared.telemetry import LOG_FIELDS, with_delivery_metrics
from squall.stub import MarketingCloudStub
from tests.fakes import FixedRuleSource

KNOWN_JOURNEY = "APIEvent-teams-known"
CLIENT_ID = "telemetry-test-client"
CLIENT_SECRET = "obviously-fake-secret-telemetry-4411"
PAYLOAD_MARKER = "payload-marker-5be1"  # appears only inside event bodies
BAD_BODY = b'{"Id": "payload-marker-5be1-bad", "Operation": '
RULES = [
    {
        "id": "teams-known",
        "when": {"types": ["MicrosoftTeams/*"]},
        "action": {"kind": "journey_entry", "event_definition_key": KNOWN_JOURNEY, "contact_key": "{entity}"},
    },
    {
        "id": "teams-unknown-journey",  # Marketing Cloud refuses it: a permanent failure
        "when": {"types": ["MicrosoftTeams/*"]},
        "action": {"kind": "journey_entry", "event_definition_key": "APIEvent-unknown", "contact_key": "{entity}"},
    },
]


def teams_record(record_id: str) -> bytes:
    return json.dumps(
        {
            "CreationTime": "2026-11-20T10:00:00", "Id": record_id, "Operation": "TeamsSessionStarted",
            "OrganizationId": "tenant-1", "RecordType": 25, "ResultStatus": "Succeeded", "UserType": 0,
            "UserKey": PAYLOAD_MARKER, "ObjectId": PAYLOAD_MARKER, "Workload": "MicrosoftTeams",
            "UserId": "user-1@contoso.example",
        }
    ).encode()  # fmt: skip


@pytest.fixture
def stub() -> Iterator[MarketingCloudStub]:
    with MarketingCloudStub(
        event_definition_keys={KNOWN_JOURNEY}, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    ) as running:
        yield running


def run_batch(stub: MarketingCloudStub, batch: list[RawEvent]) -> BatchReport:
    config = MarketingCloudConfig(
        auth_base_url=stub.auth_base_url, rest_base_url=stub.rest_base_url,
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
    )  # fmt: skip

    async def scenario() -> BatchReport:
        store = SqliteStore(":memory:")
        try:
            async with MarketingCloudDeliverer(config) as sender:
                deps = PipelineDeps(
                    rules=FixedRuleSource(compile_ruleset(validate_rules(RULES).rules, version=1)),
                    states=store.states, dedupe=store.dedupe, deadletters=store.deadletters, sender=sender,
                )  # fmt: skip
                measured = with_delivery_metrics(deps)
                report = await process_batch(batch, measured)
                report += await retry_pending_outbox(measured, now=datetime.now(UTC), grace=timedelta(0))
                return report
        finally:
            await store.close()

    return asyncio.run(scenario())


def everything_in(record: logging.LogRecord) -> str:
    """The record as any sink could see it: message, arguments, every attribute, exception text."""
    formatter = logging.Formatter()
    exception = formatter.formatException(record.exc_info) if record.exc_info else ""
    return " ".join([record.getMessage(), repr(record.args), repr(vars(record)), exception])


def test_log_records_carry_ids_as_fields_and_never_payloads_or_secrets(
    stub: MarketingCloudStub, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a batch from partition 4: a bad event (seq 11) and a good one (seq 12) that two rules
    # match, one of them for a journey Marketing Cloud does not know
    batch = [
        RawEvent(body=BAD_BODY, partition="4", sequence_number=11),
        RawEvent(body=teams_record("event-good-1"), partition="4", sequence_number=12),
    ]
    caplog.set_level(logging.DEBUG)
    # WHEN it is processed
    report = run_batch(stub, batch)
    # THEN one event was dead-lettered and one action failed
    assert (report.events_dead_lettered, report.actions_delivered, report.actions_failed) == (1, 1, 1)
    # AND the dead-lettered event's record carries its partition and sequence number as fields
    [dead] = [r for r in caplog.records if r.getMessage().startswith("event dead-lettered")]
    assert (dead.partition, dead.sequence_number) == ("4", 11)  # type: ignore[attr-defined]
    # AND the failed action's record carries its action key, rule id and event id as fields
    [failed] = [r for r in caplog.records if r.levelno == logging.WARNING and "teams-unknown-journey" in r.getMessage()]
    assert failed.rule_id == "teams-unknown-journey"  # type: ignore[attr-defined]
    assert failed.event_id == "event-good-1"  # type: ignore[attr-defined]
    assert failed.action_key and f"action={failed.action_key}" in failed.getMessage()  # type: ignore[attr-defined]
    # AND no record, in any field, holds a payload, the bad body or the client secret
    assert caplog.records
    for record in caplog.records:
        seen = everything_in(record)
        assert PAYLOAD_MARKER not in seen, record.getMessage()
        assert BAD_BODY.decode() not in seen and CLIENT_SECRET not in seen, record.getMessage()
    # AND every id field present is one of the documented dimensions
    fields = {name for record in caplog.records for name in vars(record) if name in LOG_FIELDS}
    assert fields == set(LOG_FIELDS)
