"""Every setting of shared/settings.py is set, by the same name, in the four places that name it.

The places: the Settings model (source of truth), the Function App settings in infra/app/api.bicep,
local.settings.json.example, and the settings table of README.md (section "Settings", the one home
of that text). Host-only settings (read by the Functions host or the Azure SDK, never by Squall's
code) are allowed on the host side only, and are listed here with the reason.
"""

from __future__ import annotations

import json
from typing import get_args

from shared.actions.sfmc.config import MarketingCloudConfig
from shared.actions.webhook.config import webhooks_from_settings
from shared.settings import Settings
from tests.infra.bicep_source import (
    API_BICEP,
    LOCAL_SETTINGS_EXAMPLE,
    REPO_ROOT,
    app_settings,
    decorators,
    markdown_table_first_column,
    parse_bicep,
    resources,
)

README = REPO_ROOT / "README.md"

# Set in Azure by infra/app/api.bicep `hostSettings`, read by the Functions host or the Azure SDK.
HOST_ONLY_APP_SETTINGS = {
    "AzureWebJobsStorage__blobServiceUri": "host storage (checkpoints, timer locks), identity-based",
    "AzureWebJobsStorage__credential": "selects managed identity for host storage",
    "AzureWebJobsStorage__clientId": "selects the user-assigned identity for host storage",
    "EVENTHUB__credential": "selects managed identity for the Event Hubs trigger connection",
    "EVENTHUB__clientId": "selects the user-assigned identity for the Event Hubs trigger connection",
    "COSMOS__accountEndpoint": "the Cosmos DB trigger connection (outbox change feed), identity-based",
    "COSMOS__credential": "selects managed identity for the Cosmos DB trigger connection",
    "COSMOS__clientId": "selects the user-assigned identity for the Cosmos DB trigger connection",
    "DEADLETTER__credential": "selects managed identity for the dead-letter blob connection",
    "DEADLETTER__clientId": "selects the user-assigned identity for the dead-letter blob connection",
    "AZURE_CLIENT_ID": "makes DefaultAzureCredential (Cosmos, Blob SDKs) use the user-assigned identity",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "Entra ID telemetry (App Insights local auth is off)",
}

# Set in local.settings.json.example only: the local Functions host and its emulators.
LOCAL_HOST_SETTINGS = {
    "FUNCTIONS_WORKER_RUNTIME": "Core Tools needs it; on Flex Consumption the runtime is functionAppConfig",
    "AzureWebJobsStorage": "Azurite (UseDevelopmentStorage=true)",
    "EVENTHUB": "the Event Hubs emulator's development connection string",
}

# Squall settings deliberately absent from the Function App in Azure.
LOCAL_ONLY_SQUALL_SETTINGS = {
    "COSMOS_KEY": "emulator key only; in Azure Cosmos DB keys are disabled and the identity is used",
    "DEADLETTER_CONNECTION_STRING": "Azurite only (the code refuses Azure accounts); in Azure shared keys "
    "are off and DEADLETTER__blobServiceUri is used with the identity",
}


def settings_aliases() -> set[str]:
    return {field.alias or name for name, field in Settings.model_fields.items()}


def settings_table_rows() -> str:
    rows = []
    for name, field in Settings.model_fields.items():
        default = field.default if field.default is not None else ""
        rows.append(f"| `{field.alias or name}` | `{default}` | {field.description or ''} |")
    return "\n".join(rows)


def diff_message(where: str, *, missing: set[str], extra: set[str]) -> str:
    return f"{where}: missing {sorted(missing)}; not in shared/settings.py {sorted(extra)}"


def test_function_app_settings_set_every_squall_setting_and_nothing_else() -> None:
    # GIVEN the Squall settings the Function App gets, and the Settings model
    in_bicep = set(app_settings(API_BICEP, "squallSettings"))
    expected = settings_aliases() - set(LOCAL_ONLY_SQUALL_SETTINGS)
    # THEN they name the same settings
    assert in_bicep == expected, diff_message(
        "api.bicep squallSettings", missing=expected - in_bicep, extra=in_bicep - expected
    )


def test_local_only_settings_are_real_settings() -> None:
    # GIVEN the settings kept out of Azure on purpose
    # THEN each still exists in shared/settings.py (a rename must update this list)
    assert set(LOCAL_ONLY_SQUALL_SETTINGS) <= settings_aliases()


def test_function_app_host_settings_are_the_documented_host_only_ones() -> None:
    # GIVEN the host settings of the Function App
    host = set(app_settings(API_BICEP, "hostSettings"))
    # THEN each is allow-listed with its reason, and none shadows a Squall setting
    assert host <= set(HOST_ONLY_APP_SETTINGS), (
        f"undocumented host settings: {sorted(host - set(HOST_ONLY_APP_SETTINGS))}"
    )
    assert not host & settings_aliases()


def test_function_app_applies_both_setting_groups() -> None:
    # GIVEN the app settings of the Function App (siteConfig.appSettings, set with the site)
    app = next(r["config"] for r in resources(API_BICEP).values() if r["type"] == "Microsoft.Web/sites")
    site_settings = app["properties"]["siteConfig"]["appSettings"]
    # THEN they are the two groups, nothing more
    assert site_settings == {
        "function": {"type": "concat", "parameters": {"arg_1": "squallSettings", "arg_2": "hostSettings"}}
    }
    assert not [r for r in resources(API_BICEP).values() if r["type"] == "Microsoft.Web/sites/config"]


def test_local_settings_example_lists_every_squall_setting_and_the_local_host_ones() -> None:
    # GIVEN local.settings.json.example
    values = json.loads(LOCAL_SETTINGS_EXAMPLE.read_text())["Values"]
    listed = set(values)
    expected = settings_aliases() | set(LOCAL_HOST_SETTINGS)
    # THEN it lists the same settings, every value a string (Core Tools requires strings)
    assert listed == expected, diff_message(
        "local.settings.json.example", missing=expected - listed, extra=listed - expected
    )
    assert all(isinstance(value, str) for value in values.values())
    assert values["FUNCTIONS_WORKER_RUNTIME"] == "python"


def test_readme_settings_table_documents_every_setting() -> None:
    # GIVEN the settings table (| Setting | Default | Description |) of README.md, section "Settings"
    documented = markdown_table_first_column(README.read_text(encoding="utf-8"), header="Setting")
    expected = settings_aliases()
    # THEN it has one row per setting, no more, no fewer
    hint = (
        "\nREADME.md, section 'Settings', needs one row per setting. Rows generated from "
        f"shared/settings.py:\n| Setting | Default | Description |\n|---|---|---|\n{settings_table_rows()}"
    )
    assert set(documented) == expected, (
        diff_message("README.md", missing=expected - set(documented), extra=set(documented) - expected) + hint
    )
    assert len(documented) == len(set(documented)), "README.md lists a setting twice"


def test_deployment_text_lives_in_the_readme_only() -> None:
    # GIVEN the README, the one home of the deploy, Core Tools and settings text
    headings = {line.strip() for line in README.read_text(encoding="utf-8").splitlines() if line.startswith("## ")}
    # THEN it has the three sections, and the old copy under docs/ is gone
    assert {"## Deploy to Azure", "## Run with Functions Core Tools", "## Settings"} <= headings
    assert not (REPO_ROOT / "docs" / "deploy.md").exists()


def test_main_bicep_outputs_tell_a_sender_where_to_send() -> None:
    # GIVEN main.bicep's outputs
    outputs = set(parse_bicep(REPO_ROOT / "infra" / "main.bicep")["outputs"])
    # THEN a sender finds the namespace, the hub, the resource group and the function app
    assert {
        "EVENTHUB_FULLY_QUALIFIED_NAMESPACE",
        "EVENTHUB_NAME",
        "AZURE_RESOURCE_GROUP",
        "AZURE_FUNCTION_APP_NAME",
    } <= outputs


def test_infra_defaults_for_the_optional_delivery_settings_are_accepted_by_the_app() -> None:
    # GIVEN the defaults main.bicep deploys when nothing is configured: journey mode `sync`, no
    # webhooks (''), and '{}' behind the SQUALL_WEBHOOK_SECRETS Key Vault reference
    parameters = parse_bicep(REPO_ROOT / "infra" / "main.bicep")["parameters"]
    deployed = Settings(
        SFMC_AUTH_BASE_URL="https://example.auth.marketingcloudapis.com",
        SFMC_REST_BASE_URL="https://example.rest.marketingcloudapis.com",
        SFMC_CLIENT_ID="example-client-id",
        SFMC_CLIENT_SECRET="example-client-secret",
        SFMC_JOURNEY_ENTRY_MODE=parameters["sfmcJourneyEntryMode"]["default"],
        SQUALL_WEBHOOKS=parameters["webhooks"]["default"],
        SQUALL_WEBHOOK_SECRETS="{}",
    )
    # WHEN the app builds its destinations from them
    marketing_cloud = MarketingCloudConfig.from_settings(deployed)
    webhooks = webhooks_from_settings(deployed)
    # THEN Marketing Cloud sends journey entries one per call, and there is no webhook
    assert marketing_cloud.journey_entry_mode == "sync"
    assert webhooks == {}
    # AND the @allowed journey modes are exactly the ones the Settings model accepts
    allowed = decorators(parameters["sfmcJourneyEntryMode"])["allowed"]
    assert set(allowed) == set(get_args(Settings.model_fields["sfmc_journey_entry_mode"].annotation))


def test_infra_audit_entity_choices_are_the_ones_the_app_accepts() -> None:
    # GIVEN main.bicep's auditEntity parameter (SQUALL_AUDIT_ENTITY)
    parameter = parse_bicep(REPO_ROOT / "infra" / "main.bicep")["parameters"]["auditEntity"]
    # THEN its @allowed values are the Settings model's, and its default is the app's: the hash
    allowed = decorators(parameter)["allowed"]
    assert set(allowed) == set(get_args(Settings.model_fields["audit_entity"].annotation))
    assert parameter["default"] == Settings.model_fields["audit_entity"].default == "hash"
