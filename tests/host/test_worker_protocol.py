"""Squall's Function App as Azure runs it on Python 3.13: the real ``azure_functions_runtime``
indexes ``function_app.py`` and invokes each function from host messages (see host_standin.py)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from shared.actions.models import ActionKind, PlannedAction
from shared.pipeline.outbox import outbox_entries
from shared.store.models import OutboxEntry
from shared.store.sqlite import SqliteStore
from squall.stub import MarketingCloudStub
from tests.blueprints.test_ingest_blueprint import o365_record
from tests.host.conftest import JOURNEY_KEY, RULES, App, app_settings, host_environment
from tests.host.host_standin import (
    REPO_ROOT,
    WorkerProcess,
    cosmos_documents,
    event_hub_batch,
    http_answer,
    http_request,
    timer_tick,
)
from tests.infra.bicep_source import API_BICEP
from tests.infra.bicep_source import app_settings as bicep_app_settings

EXPECTED_FUNCTIONS = {
    "process_usage_events",
    "list_rules",
    "get_rule",
    "put_rule",
    "delete_rule",
    "validate_ruleset",
    "dry_run_rules",
    "list_rule_versions",
    "rollback_rules",
    "get_entity_state",
    "reset_entity_state",
    "delete_entity_state",
    "get_queried_entity_state",
    "reset_queried_entity_state",
    "delete_queried_entity_state",
    "list_suppressions",
    "suppress_entities",
    "unsuppress_entities",
    "run_scheduled_work",
    "deliver_outbox",
}


def raw_bindings(function: Any) -> dict[str, dict[str, Any]]:
    return {b["name"]: b for b in map(json.loads, function.raw_bindings)}


def dead_letters(app: App) -> list[Any]:
    async def read() -> list[Any]:
        store = app.store()
        try:
            return await store.deadletters.list()
        finally:
            await store.close()

    return asyncio.run(read())


def outbox_documents(app: App) -> list[dict[str, Any]]:
    """The app's pending outbox, as the documents the Cosmos DB container would hold (``outbox_docs``)."""
    from shared.store import outbox_docs

    async def read() -> list[OutboxEntry]:
        store = app.store()
        try:
            return await store.states.pending_outbox(limit=1000)
        finally:
            await store.close()

    return outbox_docs.as_documents(asyncio.run(read()), now=datetime.now(UTC))


# --- indexing ---------------------------------------------------------------------------------------


def test_the_runtime_indexes_every_function_of_the_app(app: App) -> None:
    # GIVEN a worker the host started: init with the app's folder, then the metadata request
    # THEN every function is indexed by the worker (none left to the host's own indexing)
    assert set(app.functions) == EXPECTED_FUNCTIONS
    assert all(f.properties.get("worker_indexed") == "True" for f in app.functions.values())
    assert {f.language for f in app.functions.values()} == {"python"}


def test_the_event_hub_trigger_reads_binary_batches_with_the_settings_bicep_provides(app: App) -> None:
    function = app.functions["process_usage_events"]
    binding = raw_bindings(function)["events"]
    # THEN the host reads batches (MANY) and hands each body over as bytes (BINARY), so a body that
    # is not JSON reaches the normalizer instead of failing the whole batch in the host
    assert binding["type"] == "eventHubTrigger"
    assert (binding["cardinality"], binding["dataType"]) == ("MANY", "BINARY")
    assert function.bindings["events"].data_type == app.protos.BindingInfo.binary
    # AND the connection and the %settings% it names are app settings Bicep deploys
    assert binding["connection"] == "EVENTHUB"
    assert (binding["eventHubName"], binding["consumerGroup"]) == ("%EVENTHUB_NAME%", "%EVENTHUB_CONSUMER_GROUP%")
    deployed = bicep_app_settings(API_BICEP, "squallSettings") | bicep_app_settings(API_BICEP, "hostSettings")
    for name in (
        "EVENTHUB_NAME",
        "EVENTHUB_CONSUMER_GROUP",
        "EVENTHUB__fullyQualifiedNamespace",
        "EVENTHUB__credential",
    ):
        assert name in deployed, f"{name} is not deployed by {API_BICEP.name}"


def test_the_outbox_change_feed_trigger_uses_the_containers_and_identity_bicep_provides(app: App) -> None:
    binding = raw_bindings(app.functions["deliver_outbox"])["documents"]
    # THEN the relay reads the outbox container's change feed with its own lease container
    assert (binding["type"], binding["connection"]) == ("cosmosDBTrigger", "COSMOS")
    assert (binding["databaseName"], binding["containerName"], binding["leaseContainerName"]) == (
        "%COSMOS_DATABASE%", "%COSMOS_OUTBOX_CONTAINER%", "%COSMOS_LEASES_CONTAINER%",
    )  # fmt: skip
    # AND the connection is by managed identity, with every setting Bicep deploys
    deployed = bicep_app_settings(API_BICEP, "squallSettings") | bicep_app_settings(API_BICEP, "hostSettings")
    for name in ("COSMOS_DATABASE", "COSMOS_OUTBOX_CONTAINER", "COSMOS_LEASES_CONTAINER",
                 "COSMOS__accountEndpoint", "COSMOS__credential", "COSMOS__clientId"):  # fmt: skip
        assert name in deployed, f"{name} is not deployed by {API_BICEP.name}"


def test_a_failed_batch_is_retried_without_limit_with_exponential_backoff(app: App) -> None:
    retry = app.functions["process_usage_events"].retry_options
    strategies = app.protos.RpcRetryOptions.RetryStrategy
    assert retry.retry_strategy == strategies.Value("exponential_backoff")
    assert retry.max_retry_count == -1
    assert (retry.minimum_interval.seconds, retry.maximum_interval.seconds) == (5, 300)
    host = json.loads((REPO_ROOT / "host.json").read_text())
    assert host["retry"]["strategy"] == "exponentialBackoff"  # the app-wide default the function overrides


def test_the_rules_api_routes_match_the_openapi_document_and_need_a_function_key(app: App) -> None:
    document = yaml.safe_load((REPO_ROOT / "openapi" / "rules-api.yaml").read_text())
    documented = {
        (path.removeprefix("/"), method.upper())  # servers: .../api, the host's route prefix
        for path, operations in document["paths"].items()
        for method in operations
        if method in {"get", "put", "post", "delete"}
    }
    indexed: set[tuple[str, str]] = set()
    for name, function in app.functions.items():
        bindings = raw_bindings(function)
        if "req" not in bindings:
            continue
        trigger = bindings["req"]
        assert (trigger["type"], trigger["authLevel"]) == ("httpTrigger", "FUNCTION"), name
        assert bindings["$return"]["type"] == "http", name
        indexed |= {(trigger["route"], method) for method in trigger["methods"]}
    assert indexed == documented


def test_the_timer_fires_every_minute(app: App) -> None:
    binding = raw_bindings(app.functions["run_scheduled_work"])["timer"]
    assert (binding["type"], binding["schedule"], binding["useMonitor"]) == ("timerTrigger", "0 * * * * *", True)


# --- invocations ------------------------------------------------------------------------------------


def test_an_event_hub_batch_as_the_host_sends_it_reaches_the_stub_and_parks_the_malformed_body(app: App) -> None:
    # GIVEN a partition's batch as the host sends it: two Teams sessions and a body that is not JSON
    bodies = [o365_record("h-1", "ana@contoso.com"), b"\x00not json at all", o365_record("h-2", "bo@contoso.com")]
    inputs, metadata = event_hub_batch(app.protos, "4", 200, bodies)
    # WHEN the worker is asked to invoke the Event Hubs function
    response = app.worker.invoke(app.function_id("process_usage_events"), inputs, metadata)
    # THEN the invocation succeeds, having sent nothing: it only planned (the outbox)
    app.worker.expect_success(response.result, "event hub invocation")
    assert app.stub.received() == []
    # WHEN the outbox's change feed hands the batch's document to the relay function
    response = app.worker.invoke(
        app.function_id("deliver_outbox"), *cosmos_documents(app.protos, outbox_documents(app))
    )
    app.worker.expect_success(response.result, "cosmos db invocation")
    # THEN both journey entries reached the Marketing Cloud stub over HTTP
    received = app.stub.received()
    assert sorted(r["ContactKey"] for r in received) == ["ana@contoso.com", "bo@contoso.com"]
    assert {r["EventDefinitionKey"] for r in received} == {JOURNEY_KEY}
    # AND the malformed body is one dead letter carrying partition, sequence number and offset
    [letter] = dead_letters(app)
    assert (letter.kind, letter.partition, letter.sequence_number, letter.offset) == (
        "event",
        "4",
        201,
        str(4096 * 201),
    )
    assert letter.payload == b"\x00not json at all"


def test_a_batch_whose_metadata_and_bodies_disagree_fails_and_commits_nothing(app: App) -> None:
    # GIVEN a batch of two bodies whose metadata arrays describe three events
    bodies = [o365_record("m-1", "ana@contoso.com"), o365_record("m-2", "bo@contoso.com")]
    inputs, metadata = event_hub_batch(app.protos, "2", 10, bodies, metadata_count=3)
    # WHEN it is invoked
    response = app.worker.invoke(app.function_id("process_usage_events"), inputs, metadata)
    # THEN the invocation fails with the runtime's message, and nothing was sent or parked
    assert response.result.status == app.protos.StatusResult.Failure
    assert "mismatch" in response.result.exception.message
    assert app.stub.received() == []
    assert dead_letters(app) == []


def http_call(app: App) -> Any:
    """``call(function, method, path, ...)``: one HTTP invocation through the worker; status, headers, JSON."""

    def call(name: str, method: str, path: str, **kwargs: Any) -> tuple[int, dict[str, str], Any]:
        inputs, metadata = http_request(app.protos, method, path, **kwargs)
        response = app.worker.invoke(app.function_id(name), inputs, metadata)
        app.worker.expect_success(response.result, f"{method} {path}")
        return http_answer(response)

    return call


def test_the_rules_api_answers_over_http_invocations(app: App) -> None:
    call = http_call(app)
    # WHEN the rules are listed THEN the stored rule set answers with its version as ETag
    status, headers, body = call("list_rules", "GET", "rules")
    assert (status, headers.get("etag"), [r["id"] for r in body["rules"]]) == (200, '"1"', ["teams-session"])
    # WHEN a new rule is put with that ETag THEN it is created as version 2
    new_rule = {**RULES[0], "id": "teams-again", "description": "the same, under another id"}
    status, headers, body = call(
        "put_rule", "PUT", "rules/teams-again", route_params={"rule_id": "teams-again"}, body=new_rule,
        headers={"If-Match": '"1"'},
    )  # fmt: skip
    assert (status, body["created"], headers.get("etag")) == (201, True, '"2"')
    # WHEN an unknown id is read THEN the answer is a problem+json 404
    status, headers, body = call("get_rule", "GET", "rules/nobody", route_params={"rule_id": "nobody"})
    assert status == 404
    assert headers.get("content-type", "").startswith("application/problem+json")
    assert "nobody" in body["detail"]


def test_versions_rollback_and_caller_mistakes_over_http_invocations(app: App) -> None:
    call = http_call(app)

    # GIVEN version 2 removed the stored rule
    rule_id = {"rule_id": RULES[0]["id"]}
    assert call("delete_rule", "DELETE", f"rules/{RULES[0]['id']}", route_params=rule_id)[0] == 200
    # WHEN version 1 is read by ?version=1 THEN it still holds the rule
    status, headers, body = call("list_rules", "GET", "rules", query={"version": "1"})
    assert (status, headers.get("etag"), [r["id"] for r in body["rules"]]) == (200, '"1"', [RULES[0]["id"]])
    # WHEN version 1 is rolled back to THEN it is stored again as version 3, and the history says so
    status, headers, body = call(
        "rollback_rules", "POST", "rule-versions/1/rollback", route_params={"version": "1"}, headers={"If-Match": '"2"'}
    )
    assert (status, body["version"], body["diff"]["added"]) == (200, 3, [RULES[0]["id"]])
    status, _, body = call("list_rule_versions", "GET", "rule-versions")
    assert [(v["version"], v["added"], v["removed"]) for v in body["versions"]] == [
        (3, [RULES[0]["id"]], []), (2, [], [RULES[0]["id"]]), (1, [RULES[0]["id"]], [])]  # fmt: skip
    # WHEN callers make the mistakes that once answered 500 THEN each is a 400 problem
    mistakes = [
        ("put_rule", "PUT", {"route_params": {"rule_id": "x"}, "body": RULES[0], "headers": {"If-Match": '"²"'}}),
        ("put_rule", "PUT", {"route_params": {"rule_id": "x"}, "body": RULES[0], "headers": {"If-Match": "9" * 5000}}),
        ("validate_ruleset", "POST", {"raw_body": b"[" * 50_000 + b"]" * 50_000}),
        ("dry_run_rules", "POST", {"raw_body": b'{"events": ["\\ud800"]}'}),
    ]
    for name, method, kwargs in mistakes:
        status, headers, body = call(name, method, "rules/x" if name == "put_rule" else f"rules/{name}", **kwargs)
        assert (status, headers.get("content-type", "").split(";")[0]) == (400, "application/problem+json"), body


def test_a_timer_invocation_delivers_what_a_crashed_batch_left_in_the_outbox(app: App) -> None:
    # GIVEN an outbox entry a crashed batch left ten minutes ago
    action = PlannedAction(
        key="key-left", kind=ActionKind.JOURNEY_ENTRY, rule_id="teams-session", event_id="e-left",
        entity="cy@contoso.com", contact_key="cy@contoso.com", event_definition_key=JOURNEY_KEY, data={"Tenant": "t"},
    )  # fmt: skip
    [entry] = outbox_entries([action])
    stale = OutboxEntry(entity=entry.entity, key=entry.key, action=entry.action,
                        created_at=datetime.now(UTC) - timedelta(minutes=10))  # fmt: skip

    async def leave_behind() -> None:
        store = app.store()
        try:
            await store.states.save_states([], outbox=[stale])
        finally:
            await store.close()

    asyncio.run(leave_behind())
    # WHEN the timer fires
    inputs, metadata = timer_tick(app.protos)
    response = app.worker.invoke(app.function_id("run_scheduled_work"), inputs, metadata)
    # THEN the invocation succeeds and the entry reached Marketing Cloud
    app.worker.expect_success(response.result, "timer invocation")
    assert [r["ContactKey"] for r in app.stub.received()] == ["cy@contoso.com"]


def test_an_unusable_store_fails_each_invocation_with_the_stores_message(
    protos: ModuleType, protos_dir: Path, tmp_path: Path, stub: MarketingCloudStub, stored_rules: Path
) -> None:
    # GIVEN an app whose SQUALL_STORE names a folder, which SQLite cannot open
    settings = app_settings(stored_rules, stub) | {"SQUALL_STORE": f"sqlite:{tmp_path}"}
    worker = WorkerProcess(protos, protos_dir, host_environment(**settings), tmp_path / "worker.log")
    try:
        functions = worker.start(REPO_ROOT)
        inputs, metadata = event_hub_batch(protos, "0", 1, [o365_record("s-1", "ana@contoso.com")])
        # WHEN a batch arrives, twice (the host retries it)
        for _ in range(2):
            response = worker.invoke(functions["process_usage_events"].function_id, inputs, metadata)
            # THEN each invocation fails, and the error is the store's message naming the setting
            assert response.result.status == protos.StatusResult.Failure
            assert response.result.exception.message.startswith("StoreUnavailable: cannot open SQLite store")
            assert "SQUALL_STORE" in response.result.exception.message
    finally:
        worker.close()
    assert stub.received() == []


def test_a_placeholder_worker_specializes_by_environment_reload_and_then_runs_the_app(
    protos: ModuleType, protos_dir: Path, tmp_path: Path, stub: MarketingCloudStub, stored_rules: Path
) -> None:
    # GIVEN a worker started in placeholder mode (Flex Consumption): no app yet, no app settings
    placeholder = tmp_path / "placeholder"
    placeholder.mkdir()
    worker = WorkerProcess(protos, protos_dir, host_environment(WEBSITE_PLACEHOLDER_MODE="1"), tmp_path / "worker.log")
    try:
        worker.expect_success(worker.init(placeholder).result, "placeholder init")
        # WHEN the host specializes it: the app's environment and folder arrive by environment reload
        reloaded = worker.reload(host_environment(**app_settings(stored_rules, stub)), REPO_ROOT)
        worker.expect_success(reloaded.result, "environment reload")
        functions = worker.index_and_load(REPO_ROOT)
        # THEN the same functions are indexed, and a batch is processed with the reloaded settings: its
        # action is planned in the store they name
        assert set(functions) == EXPECTED_FUNCTIONS
        inputs, metadata = event_hub_batch(protos, "1", 7, [o365_record("p-1", "di@contoso.com")])
        response = worker.invoke(functions["process_usage_events"].function_id, inputs, metadata)
        worker.expect_success(response.result, "invocation after reload")
    finally:
        worker.close()

    async def planned() -> list[str]:
        store = SqliteStore(stored_rules)
        try:
            return [e.entity for e in await store.states.pending_outbox()]
        finally:
            await store.close()

    assert asyncio.run(planned()) == ["di@contoso.com"]
