"""No key, connection string or secret value in app settings, outputs or the templates; local auth off."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.infra.bicep_source import (
    API_BICEP,
    INFRA_DIR,
    LOCAL_SETTINGS_EXAMPLE,
    MAIN_BICEP,
    REPO_ROOT,
    app_settings,
    bicep_files,
    decorators,
    expression_text,
    parse_bicep,
    references,
    the_resource,
    walk_outputs,
)

# Functions and fragments that put a key or a connection string into a template.
KEY_MATERIAL = re.compile(
    r"listKeys|listConnectionStrings|listCredentials|listSecrets|AccountKey|SharedAccessKey|"
    r"primaryKey|secondaryKey|primaryMasterKey|connectionString|InstrumentationKey",
    re.IGNORECASE,
)
# Published in the Azure Cosmos DB emulator documentation; accepted by the local emulator only.
COSMOS_EMULATOR_WELL_KNOWN_KEY = (
    "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="
)
KEY_VAULT_REFERENCE = re.compile(r"^@Microsoft\.KeyVault\(SecretUri=\$\{\w+\}\)$")
# App Insights' connection string is an ingestion address (no secret; local auth is off), read here.
APP_INSIGHTS_CONNECTION_STRING = {
    "operator": {
        "type": "property_accessor",
        "operands": {
            "operand_1": "applicationInsights",
            "operand_2": {
                "operator": {
                    "type": "property_accessor",
                    "operands": {"operand_1": "properties", "operand_2": "ConnectionString"},
                }
            },
        },
    }
}


def all_app_settings() -> dict[str, object]:
    return {**app_settings(API_BICEP, "squallSettings"), **app_settings(API_BICEP, "hostSettings")}


def test_app_settings_hold_no_key_material() -> None:
    # GIVEN every app setting value of the Function App
    settings = all_app_settings()
    # WHEN searched for keys and connection strings
    leaking = {
        name: value
        for name, value in settings.items()
        if name != "APPLICATIONINSIGHTS_CONNECTION_STRING" and KEY_MATERIAL.search(expression_text(value))
    }
    # THEN none holds any, and App Insights' value is read from the component, not written down
    assert leaking == {}
    assert settings["APPLICATIONINSIGHTS_CONNECTION_STRING"] == APP_INSIGHTS_CONNECTION_STRING


@pytest.mark.parametrize("setting", ["SFMC_CLIENT_SECRET", "SQUALL_WEBHOOK_SECRETS"])
def test_secret_settings_are_key_vault_references(setting: str) -> None:
    # GIVEN a secret app setting
    value = app_settings(API_BICEP, "squallSettings")[setting]
    # THEN it is a Key Vault reference to a secret URI, resolved with the user-assigned identity
    assert isinstance(value, str) and KEY_VAULT_REFERENCE.match(value), value
    assert the_resource("Microsoft.Web/sites")["properties"]["keyVaultReferenceIdentity"] == "identityId"


def test_identity_based_connections_use_the_user_assigned_identity() -> None:
    # GIVEN the host settings
    host = app_settings(API_BICEP, "hostSettings")
    # THEN each identity-based connection names managed identity and the identity's client id
    for prefix in ("AzureWebJobsStorage", "EVENTHUB", "DEADLETTER"):
        assert host[f"{prefix}__credential"] == "managedidentity"
        assert host[f"{prefix}__clientId"] == "identityClientId"


def test_outputs_hold_no_secret_and_no_key_material() -> None:
    # GIVEN every output of every template, and every @secure parameter of its file
    for path, name, output in walk_outputs():
        secure = [
            p
            for p, parameter in parse_bicep(path).get("parameters", {}).items()
            if "secure" in decorators(parameter)
        ]
        # THEN no output reads a secure parameter or key material
        assert not any(references(output["value"], parameter) for parameter in secure), f"{path.name}: {name}"
        assert not KEY_MATERIAL.search(expression_text(output["value"])), f"{path.name}: {name}"
        assert "secure" not in decorators(output), f"{path.name}: {name}"


@pytest.mark.parametrize("parameter_name", ["sfmcClientSecret", "webhookSecrets"])
def test_secret_parameters_are_secure_and_only_reach_key_vault(parameter_name: str) -> None:
    # GIVEN main.bicep
    main = parse_bicep(MAIN_BICEP)
    # THEN the secret parameter is @secure, with no default but the empty one (webhooks are optional)
    parameter = main["parameters"][parameter_name]
    assert "secure" in decorators(parameter) and parameter.get("default") in (None, "")
    # AND the only module it is passed to is the Key Vault one
    receivers = {
        name
        for name, module in main["modules"].items()
        if references(module["config"]["params"], parameter_name)
    }
    assert receivers == {"keyVault"}


def test_no_webhook_secrets_are_stored_as_an_empty_json_object() -> None:
    # GIVEN what main.bicep stores in Key Vault for the webhook signing secrets
    stored = parse_bicep(MAIN_BICEP)["modules"]["keyVault"]["config"]["params"]["webhookSecrets"]
    operands = stored["operator"]["operands"]
    # THEN an empty parameter is stored as {} (so the reference always resolves to JSON the app reads)
    assert stored["operator"]["type"] == "conditional"
    assert operands["condition"] == {"function": {"type": "empty", "parameters": {"item_to_test": "webhookSecrets"}}}
    assert (operands["true_value"], operands["false_value"]) == ("{}", "webhookSecrets")


@pytest.mark.parametrize(
    "path",
    [*bicep_files(), INFRA_DIR / "main.parameters.json", INFRA_DIR / "deploy.sh"],
    ids=lambda path: str(path.relative_to(REPO_ROOT)),
)
def test_no_template_or_script_reads_keys(path: Path) -> None:
    # GIVEN an infra file, comments included
    text = path.read_text(encoding="utf-8")
    # THEN it never lists keys nor writes a key-bearing connection string
    assert not re.search(
        r"list(Keys|ConnectionStrings|Credentials|Secrets)\(|AccountKey=|SharedAccessKey=", text
    )


def test_local_auth_and_shared_keys_are_off_everywhere() -> None:
    # GIVEN the services that support keys
    namespace = the_resource("Microsoft.EventHub/namespaces")["properties"]
    cosmos = the_resource("Microsoft.DocumentDB/databaseAccounts")["properties"]
    insights = the_resource("Microsoft.Insights/components")["properties"]
    workspace = the_resource("Microsoft.OperationalInsights/workspaces")["properties"]
    storage = the_resource("Microsoft.Storage/storageAccounts")["properties"]
    vault = the_resource("Microsoft.KeyVault/vaults")["properties"]
    # THEN each accepts Entra ID only
    assert namespace["disableLocalAuth"] is True
    assert cosmos["disableLocalAuth"] is True and cosmos["disableKeyBasedMetadataWriteAccess"] is True
    assert insights["DisableLocalAuth"] is True
    assert workspace["features"]["disableLocalAuth"] is True
    assert storage["allowSharedKeyAccess"] is False and storage["allowBlobPublicAccess"] is False
    assert storage["minimumTlsVersion"] == "TLS1_2"
    assert vault["enableRbacAuthorization"] is True


def test_local_settings_example_holds_emulator_connections_only() -> None:
    # GIVEN local.settings.json.example
    values = json.loads(LOCAL_SETTINGS_EXAMPLE.read_text())["Values"]
    # WHEN looking at every value that carries a key or a connection string
    keyed = {name: value for name, value in values.items() if re.search(r"Key=|UseDevelopment", value)}
    # THEN each is a local emulator's documented development value
    assert keyed == {
        "AzureWebJobsStorage": "UseDevelopmentStorage=true",
        "EVENTHUB": "Endpoint=sb://localhost;SharedAccessKeyName=RootManageSharedAccessKey;"
        "SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;",
    }
    # AND the only key is the Cosmos DB emulator's published well-known key, for a localhost endpoint
    assert values["COSMOS_KEY"] == COSMOS_EMULATOR_WELL_KNOWN_KEY
    assert values["COSMOS_ENDPOINT"].startswith("https://localhost:")
    # AND Marketing Cloud points at the local stub
    assert values["SFMC_AUTH_BASE_URL"].startswith("http://127.0.0.1:")
    assert values["SFMC_REST_BASE_URL"].startswith("http://127.0.0.1:")
