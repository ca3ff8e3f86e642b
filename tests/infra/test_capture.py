"""Event Hubs Capture is on by default, switchable, identity-based, and writes the layout `squall backfill` reads."""

from __future__ import annotations

from datetime import UTC, datetime

from squall.backfill import parse_capture_name
from tests.infra.bicep_source import (
    INFRA_DIR,
    MAIN_BICEP,
    decorators,
    expression_text,
    parse_bicep,
    references,
    the_resource,
)

EVENTHUBS_BICEP = INFRA_DIR / "app" / "eventhubs.bicep"


def capture_description() -> dict:
    return the_resource("Microsoft.EventHub/namespaces/eventhubs")["properties"]["captureDescription"]


def test_capture_writes_avro_to_blob_storage_with_the_user_assigned_identity() -> None:
    # GIVEN the hub's capture description
    capture = capture_description()
    destination = capture["destination"]
    # THEN Avro into a block-blob container, authenticated as the identity the namespace carries (no SAS)
    assert capture["encoding"] == "Avro"
    assert destination["name"] == "EventHubArchive.AzureBlockBlob"
    assert destination["identity"] == {"type": "UserAssigned", "userAssignedIdentity": "captureIdentityId"}
    namespace = the_resource("Microsoft.EventHub/namespaces")
    assert namespace["identity"]["type"] == "UserAssigned"
    assert references(namespace["identity"]["userAssignedIdentities"], "captureIdentityId")
    assert destination["properties"]["storageAccountResourceId"] == "captureStorageAccountId"
    assert destination["properties"]["blobContainer"] == "captureContainerName"
    assert capture["skipEmptyArchives"] is True


def test_main_wires_capture_to_the_app_identity_and_the_capture_container() -> None:
    params = parse_bicep(MAIN_BICEP)["modules"]["eventHubs"]["config"]["params"]
    assert references(params["captureIdentityId"], "identity")
    assert references(params["captureStorageAccountId"], "storage")
    assert "captureContainerName" in expression_text(params["captureContainerName"])
    storage = parse_bicep(MAIN_BICEP)["modules"]["storage"]["config"]["params"]
    assert storage["captureContainerName"] == "captureContainerName"


def test_capture_is_switchable_and_its_window_bounded_to_what_event_hubs_allows() -> None:
    # GIVEN main.bicep's capture parameters
    parameters = parse_bicep(MAIN_BICEP)["parameters"]
    # THEN a bool that defaults to on, passed through to the hub's `enabled`
    assert parameters["captureEnabled"]["type"] == "bool" and parameters["captureEnabled"]["default"] is True
    assert parse_bicep(MAIN_BICEP)["modules"]["eventHubs"]["config"]["params"]["captureEnabled"] == "captureEnabled"
    assert capture_description()["enabled"] == "captureEnabled"
    # AND the window: 60-900 s (5 min by default), 10-500 MB (300 MB by default)
    interval, size = decorators(parameters["captureIntervalSeconds"]), decorators(parameters["captureSizeLimitBytes"])
    assert (interval["min_value"], interval["max_value"], parameters["captureIntervalSeconds"]["default"]) == (
        60, 900, 300
    )  # fmt: skip
    assert (size["min_value"], size["max_value"]) == (10 * 1024 * 1024, 500 * 1024 * 1024)
    assert parameters["captureSizeLimitBytes"]["default"] == 300 * 1024 * 1024


def test_the_archive_name_format_is_the_layout_backfill_walks() -> None:
    # GIVEN the archive name format Capture is told to use, filled in as Capture fills it
    name_format = capture_description()["destination"]["properties"]["archiveNameFormat"]
    name = (
        name_format.replace("{Namespace}", "evhns-x").replace("{EventHub}", "usage-events")
        .replace("{PartitionId}", "7").replace("{Year}", "2026").replace("{Month}", "03").replace("{Day}", "01")
        .replace("{Hour}", "09").replace("{Minute}", "15").replace("{Second}", "00")
        + ".avro"
    )  # fmt: skip
    # THEN squall backfill reads the partition and the window start from it
    capture = parse_capture_name(name)
    assert capture is not None
    assert (capture.partition_name, capture.opened) == (
        "evhns-x/usage-events/7", datetime(2026, 3, 1, 9, 15, tzinfo=UTC)
    )  # fmt: skip


def test_the_capture_container_url_is_an_output_for_backfill() -> None:
    outputs = parse_bicep(MAIN_BICEP)["outputs"]
    assert "captureContainerName" in expression_text(outputs["CAPTURE_CONTAINER_URL"])


def test_captured_files_expire_after_the_retention_days() -> None:
    # GIVEN the storage account's lifecycle policy
    policy = the_resource("Microsoft.Storage/storageAccounts/managementPolicies")
    (rule,) = policy["properties"]["policy"]["rules"]
    # THEN it deletes block blobs under the capture container once older than captureRetentionDays (30 by default)
    assert references(rule["definition"]["filters"]["prefixMatch"], "captureContainerName")
    assert rule["definition"]["actions"]["baseBlob"]["delete"] == {
        "daysAfterModificationGreaterThan": "captureRetentionDays"
    }
    assert parse_bicep(MAIN_BICEP)["parameters"]["captureRetentionDays"]["default"] == 30
