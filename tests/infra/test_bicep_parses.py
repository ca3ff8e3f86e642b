"""Every Bicep file parses, every module is used, and the pieces DESIGN.md section 8 asks for exist."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.infra.bicep_source import (
    INFRA_DIR,
    MAIN_BICEP,
    REPO_ROOT,
    bicep_files,
    expression_text,
    parse_bicep,
    resources_of_type,
    the_resource,
)


@pytest.mark.parametrize("path", bicep_files(), ids=lambda path: str(path.relative_to(REPO_ROOT)))
def test_bicep_file_parses_with_pycep(path: Path) -> None:
    # GIVEN a Bicep file of the project / WHEN pycep parses it
    model = parse_bicep(path)
    # THEN it yields a template with a scope and at least one declaration
    assert model["globals"]["scope"]["value"] == "resourceGroup"
    assert any(model.get(section) for section in ("resources", "modules", "outputs"))


def test_main_bicep_composes_every_app_module() -> None:
    # GIVEN the modules declared by main.bicep
    modules = parse_bicep(MAIN_BICEP)["modules"]
    used = {(INFRA_DIR / module["detail"]["path"]).resolve() for module in modules.values()}
    # WHEN compared with the files under infra/app
    available = {path.resolve() for path in (INFRA_DIR / "app").glob("*.bicep")}
    # THEN every module file is used and every used module exists
    assert used == available


def test_cosmos_containers_have_the_designed_partition_keys_and_ttl() -> None:
    # GIVEN the container table of the Cosmos module
    cosmos = parse_bicep(INFRA_DIR / "app" / "cosmos.bicep")
    containers = {c["name"]: c for c in cosmos["variables"]["containers"]["value"]}
    # THEN the containers and partition keys are those of DESIGN.md section 5, the outbox and its leases
    assert {name: c["partitionKey"] for name, c in containers.items()} == {
        "rules": "/ruleset",
        "state": "/entity",
        "outbox": "/id",
        "leases": "/id",
        "dedupe": "/key",
    }
    # AND dedupe expires entries, outbox tombstones set their own ttl, state keeps them
    assert containers["dedupe"]["defaultTtl"] == "dedupeTtlSeconds"
    assert containers["outbox"]["defaultTtl"] == {"operator": {"type": "minus", "operands": {"integer_value": 1}}}
    assert containers["state"]["defaultTtl"] is None
    # AND state and outbox index only the paths their queries filter on (every other path costs RUs)
    for name, queried in (("state", {"/type/?", "/due_at/?"}), ("outbox", {"/status/?", "/created_at/?"})):
        assert {p["path"] for p in containers[name]["includedPaths"]} == queried
        assert '"/*"' in expression_text(containers[name]["excludedPaths"])


def test_function_app_is_flex_consumption_python_311_with_identity_based_deployment() -> None:
    # GIVEN the plan and the Function App
    plan = the_resource("Microsoft.Web/serverfarms")
    app = the_resource("Microsoft.Web/sites")
    config = app["properties"]["functionAppConfig"]
    # THEN the plan is Flex Consumption and the runtime Python 3.13
    assert plan["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    assert config["runtime"] == {"name": "python", "version": "3.13"}
    # AND the package is pulled with the user-assigned identity, not a connection string
    authentication = config["deployment"]["storage"]["authentication"]
    assert authentication == {"type": "UserAssignedIdentity", "userAssignedIdentityResourceId": "identityId"}
    assert app["identity"]["type"] == "UserAssigned"
    assert app["properties"]["keyVaultReferenceIdentity"] == "identityId"


def test_event_hub_consumer_group_and_dead_letter_container_exist() -> None:
    # GIVEN the declared resources
    consumer_groups = resources_of_type("Microsoft.EventHub/namespaces/eventhubs/consumergroups")
    containers = resources_of_type("Microsoft.Storage/storageAccounts/blobServices/containers")
    main_variables = parse_bicep(MAIN_BICEP)["variables"]
    main_parameters = parse_bicep(MAIN_BICEP)["parameters"]
    # THEN one consumer group, named `squall` by default, and the package, `deadletter` and `capture` containers
    assert len(consumer_groups) == 1
    assert main_parameters["eventHubConsumerGroup"]["default"] == "squall"
    assert len(containers) == 3
    assert main_variables["deadLetterContainerName"]["value"] == "deadletter"
    assert main_variables["captureContainerName"]["value"] == "capture"
