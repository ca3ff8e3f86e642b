"""configure_telemetry end to end: the real Event Hub handler in its own process exports spans,
metrics and logs through the Azure Monitor exporters to a local ingestion endpoint over HTTP(S).

Checks what Application Insights would store: the batch as a request with its partition and
sequence range, the custom metrics, log messages with ids as custom dimensions in the batch's
operation, no payload or secret anywhere, and Entra ID (managed identity) authentication.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.log_fields import entity_hash
from shared.store.sqlite import SqliteStore
from squall.stub import MarketingCloudStub
from tests.blueprints.conftest import JOURNEY_KEY, RULES
from tests.integration.appinsights_ingestion import FAKE_TOKEN, IDENTITY_HEADER, LocalIngestion
from tests.integration.telemetry_worker_process import BAD_BODY, PAYLOAD_MARKER

ROOT = Path(__file__).resolve().parents[2]
CLIENT_SECRET = "obviously-fake-secret-appinsights-test"


@pytest.fixture
def stub() -> Iterator[MarketingCloudStub]:
    with MarketingCloudStub(
        event_definition_keys={JOURNEY_KEY}, client_id="telemetry-export", client_secret=CLIENT_SECRET
    ) as running:
        yield running


def run_worker(tmp_path: Path, stub: MarketingCloudStub, ingestion: LocalIngestion, **extra_env: str) -> None:
    db = tmp_path / "squall.db"
    store = SqliteStore(db)
    asyncio.run(store.rules.save_ruleset("default", RULES))
    asyncio.run(store.close())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("APPLICATIONINSIGHTS_", "IDENTITY_", "SFMC_"))}
    env |= {
        "SQUALL_STORE": f"sqlite:{db}",
        "SFMC_AUTH_BASE_URL": stub.auth_base_url,
        "SFMC_REST_BASE_URL": stub.rest_base_url,
        "SFMC_CLIENT_ID": "telemetry-export",
        "SFMC_CLIENT_SECRET": CLIENT_SECRET,
        "APPLICATIONINSIGHTS_CONNECTION_STRING": ingestion.connection_string,
        "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true",  # no SDK self-telemetry to Microsoft
        "TMPDIR": str(tmp_path),  # the exporters' offline retry storage
        **extra_env,
    }
    result = subprocess.run(
        [sys.executable, "-m", "tests.integration.telemetry_worker_process"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]


def properties(envelope: dict[str, object]) -> dict[str, str]:
    return envelope["data"]["baseData"].get("properties") or {}  # type: ignore[index,union-attr]


def test_batch_exports_request_metrics_and_logs_with_ids_but_no_payload(
    tmp_path: Path, stub: MarketingCloudStub
) -> None:
    # GIVEN a local ingestion endpoint named by APPLICATIONINSIGHTS_CONNECTION_STRING
    with LocalIngestion() as ingestion:
        # WHEN a worker process handles a batch (one bad event, one matching event) and exits
        run_worker(tmp_path, stub, ingestion)
    # THEN the batch is one request with its partition, sequence range and counts
    [request] = [r for r in ingestion.of_type("RequestData") if r["data"]["baseData"]["name"] == "squall.process_batch"]
    batch = properties(request)
    assert (batch["squall.partition"], batch["squall.batch.size"]) == ("6", "2")
    assert (batch["squall.sequence_number.first"], batch["squall.sequence_number.last"]) == ("100", "101")
    assert (batch["squall.events.dead_lettered"], batch["squall.actions.planned"]) == ("1", "1")
    # AND the change feed's delivery of its outbox document is a request of its own
    [relay] = [r for r in ingestion.of_type("RequestData") if r["data"]["baseData"]["name"] == "squall.relay_outbox"]
    assert properties(relay)["squall.actions.delivered"] == "1"
    operation = request["tags"]["ai.operation.id"]
    # AND the custom metrics name each outcome
    metrics = {
        (m["data"]["baseData"]["metrics"][0]["name"], tuple(sorted(properties(m).items())))
        for m in ingestion.of_type("MetricData")
    }
    assert ("squall.events", (("outcome", "dead_lettered"), ("partition", "6"), ("trigger", "event_hub"))) in metrics
    assert ("squall.rule_matches", (("rule_id", "teams-session"),)) in metrics
    assert ("squall.actions", (("outcome", "delivered"), ("trigger", "outbox_relay"))) in metrics
    assert any(name == "squall.delivery.attempts" for name, _ in metrics)
    # AND the dead-letter log line is a trace of the batch's operation with ids as custom dimensions
    messages = ingestion.of_type("MessageData")
    [dead] = [m for m in messages if m["data"]["baseData"]["message"].startswith("event dead-lettered")]
    assert properties(dead) | {"partition": "6", "sequence_number": "100"} == properties(dead)
    assert dead["tags"]["ai.operation.id"] == operation
    [done] = [m for m in messages if m["data"]["baseData"]["message"].startswith("batch done")]
    assert properties(done) | {"partition": "6", "sequence_number": "100"} == properties(done)
    # AND the delivered action's audit record is a trace whose custom dimensions are its ids, the
    # entity as its hash (SQUALL_AUDIT_ENTITY's default), so KQL finds who got what (docs/observability.md)
    [audit] = [m for m in messages if properties(m).get("audit") == "delivery"]
    assert audit["data"]["baseData"]["severityLevel"] == 1  # Information (0 Verbose, 2 Warning)
    assert {k: properties(audit)[k] for k in ("rule_id", "entity", "destination", "action_kind", "outcome",
                                               "attempts", "event_id")} == {
        "rule_id": "teams-session", "entity": entity_hash("user-7@contoso.example"), "destination": "sfmc",
        "action_kind": "journey_entry", "outcome": "delivered", "attempts": "1", "event_id": "record-telemetry-1",
    }  # fmt: skip
    assert len(properties(audit)["action_key"]) == 32
    assert ("squall.rule.firings", (("mode", "live"), ("rule_id", "teams-session"))) in metrics
    # AND nothing exported holds the event payloads or the Marketing Cloud secret
    exported = json.dumps(ingestion.envelopes)
    assert PAYLOAD_MARKER not in exported and CLIENT_SECRET not in exported
    assert BAD_BODY.decode() not in exported
    assert ingestion.track_authorizations and set(ingestion.track_authorizations) == {None}


def test_entra_id_authentication_string_makes_exporters_use_the_managed_identity(
    tmp_path: Path, stub: MarketingCloudStub
) -> None:
    # GIVEN an HTTPS ingestion endpoint, an App Service-style managed-identity endpoint, and the
    # authentication string the infra sets for the user-assigned identity
    with LocalIngestion(tls_dir=tmp_path) as ingestion:
        assert ingestion.ca_file is not None
        # WHEN a worker process handles a batch
        run_worker(
            tmp_path, stub, ingestion,
            APPLICATIONINSIGHTS_AUTHENTICATION_STRING="ClientId=11111111-2222-3333-4444-555555555555;Authorization=AAD",
            IDENTITY_ENDPOINT=f"{ingestion.base_url}/msi/token", IDENTITY_HEADER=IDENTITY_HEADER,
            REQUESTS_CA_BUNDLE=str(ingestion.ca_file), SSL_CERT_FILE=str(ingestion.ca_file),
        )  # fmt: skip
    # THEN tokens were requested for that identity and Azure Monitor's audience
    assert ingestion.token_requests
    assert {q["client_id"][0] for q in ingestion.token_requests} == {"11111111-2222-3333-4444-555555555555"}
    assert all("monitor.azure.com" in q["resource"][0] for q in ingestion.token_requests)
    # AND every upload carried the bearer token, and telemetry arrived
    assert set(ingestion.track_authorizations) == {f"Bearer {FAKE_TOKEN}"}
    assert ingestion.of_type("RequestData")
