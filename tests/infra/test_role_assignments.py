"""rbac.bicep grants the right built-in roles, by their real ids, to the Function App's identity."""

from __future__ import annotations

import re

from tests.infra.bicep_source import RBAC_BICEP, expression_text, parse_bicep, resources

# Built-in role definition ids (identical in every Azure tenant), from Microsoft's built-in roles list.
BUILT_IN_ROLE_IDS = {
    "Azure Event Hubs Data Receiver": "a638d3c7-ab3a-418d-83e6-5f17a39d4fde",
    "Azure Event Hubs Data Sender": "2b629674-e913-4c01-ae53-ef4638d8f975",
    "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
    # Cosmos DB data plane: a Cosmos SQL role definition, assigned with sqlRoleAssignments.
    "Cosmos DB Built-in Data Contributor": "00000000-0000-0000-0000-000000000002",
}
ROLES_OF_THE_APP = set(BUILT_IN_ROLE_IDS) - {"Azure Event Hubs Data Sender"}
ROLE_VARIABLE = re.compile(
    r"^var (?P<variable>\w+RoleId) = '(?P<guid>[0-9a-f-]{36})' // (?P<role>.+?)\s*$", re.M
)


def role_variables() -> dict[str, tuple[str, str]]:
    """Variable name -> (role named in its comment, GUID)."""
    text = RBAC_BICEP.read_text()
    return {m.group("variable"): (m.group("role"), m.group("guid")) for m in ROLE_VARIABLE.finditer(text)}


def roles_assigned_to(principal: str) -> set[str]:
    """Role names (via the role variables) of the assignments whose principalId is `principal`."""
    by_variable = role_variables()
    assigned = set()
    for resource in resources(RBAC_BICEP).values():
        properties = resource["config"].get("properties", {})
        if properties.get("principalId") != principal:
            continue
        text = expression_text(properties.get("roleDefinitionId"))
        assigned |= {role for variable, (role, _) in by_variable.items() if variable in text}
    return assigned


def test_every_role_variable_holds_the_built_in_id_of_the_role_in_its_comment() -> None:
    # GIVEN the role GUID variables of rbac.bicep, each with the role named in a comment
    variables = role_variables()
    # THEN every role of the table is there, with its real id
    assert {role for role, _ in variables.values()} == set(BUILT_IN_ROLE_IDS)
    for variable, (role, guid) in variables.items():
        assert guid == BUILT_IN_ROLE_IDS[role], f"{variable}: {guid} is not the id of {role!r}"


def test_role_guids_appear_only_in_the_named_variables() -> None:
    # GIVEN rbac.bicep's variables as parsed
    parsed = parse_bicep(RBAC_BICEP)["variables"]
    # WHEN looking for GUID literals outside the role variables
    stray = {
        name: variable["value"]
        for name, variable in parsed.items()
        if name not in role_variables() and re.search(r"[0-9a-f]{8}-[0-9a-f]{4}", expression_text(variable))
    }
    # THEN there are none: every role is read from its named variable
    assert stray == {}


def test_function_app_identity_holds_every_role_it_needs() -> None:
    # GIVEN the assignments to the app's principal
    # THEN it receives exactly the roles the design lists
    assert roles_assigned_to("appPrincipalId") == ROLES_OF_THE_APP


def test_optional_sender_may_only_send() -> None:
    # GIVEN the assignments to the optional sender principal
    # THEN it may send events and nothing else, and only when a principal is given
    assert roles_assigned_to("senderPrincipalId") == {"Azure Event Hubs Data Sender"}
    sender = parse_bicep(RBAC_BICEP)["resources"]["senderSendsEvents"]["config"]
    assert "condition" in sender


def test_cosmos_data_role_is_a_sql_role_assignment_on_the_squall_database() -> None:
    # GIVEN the Cosmos DB data-plane assignment
    cosmos = [
        r["config"]
        for r in resources(RBAC_BICEP).values()
        if r["type"] == "Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments"
    ]
    assert len(cosmos) == 1
    properties = cosmos[0]["properties"]
    # THEN it references the account's built-in role definition by its full path, scoped to the database
    assert (
        properties["roleDefinitionId"]
        == "${cosmosAccount.id}/sqlRoleDefinitions/${cosmosDataContributorRoleId}"
    )
    assert properties["scope"] == "${cosmosAccount.id}/dbs/${cosmosDatabaseName}"
    assert properties["principalId"] == "appPrincipalId"


def test_azure_role_assignments_name_the_principal_type() -> None:
    # GIVEN every Azure RBAC assignment (not Cosmos data-plane ones)
    assignments = [
        r["config"]["properties"]
        for r in resources(RBAC_BICEP).values()
        if r["type"] == "Microsoft.Authorization/roleAssignments"
    ]
    # THEN each names its principal type (avoids replication-delay failures for new identities)
    assert len(assignments) == 5
    assert all(properties.get("principalType") for properties in assignments)
