"""The partition key of each record is its entity key, derived as the normalizers derive `entity`."""

from __future__ import annotations

import pytest

from squall.send.entity_key import EntityKeyMissing, detect_format, entity_key_of, entity_path_from_field_map

O365 = {
    "CreationTime": "2015-06-29T20:03:19",
    "Id": "80c76bd2-9d81-4c57-a97a-accfc3443dca",
    "Operation": "PasswordLogonInitialAuthUsingPassword",
    "OrganizationId": "41463f53-8812-40f4-890f-865bf6e35190",
    "RecordType": 9,
    "UserId": "admin@contoso.onmicrosoft.com",
    "Workload": "AzureActiveDirectory",
}
CLOUDEVENT = {"specversion": "1.0", "type": "com.example.someevent", "source": "/mycontext", "id": "A234"}
EVENTGRID = {
    "topic": "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct",
    "subject": "/blobServices/default/containers/c/blobs/a.jpg",
    "eventType": "Microsoft.Storage.BlobCreated",
    "id": "1",
    "dataVersion": "",
    "metadataVersion": "1",
}


@pytest.mark.parametrize(
    ("record", "expected"),
    [(O365, "o365"), (CLOUDEVENT, "cloudevents"), (EVENTGRID, "eventgrid"), ({"user": {"id": "u1"}}, "json")],
)
def test_detect_format_recognizes_each_signature(record: dict, expected: str) -> None:
    # GIVEN a record of a known shape  WHEN detected  THEN its format is named
    assert detect_format(record) == expected


def test_o365_key_is_user_id_as_sent() -> None:
    # GIVEN an O365 audit record  WHEN keyed  THEN the key is UserId verbatim
    assert entity_key_of(O365) == "admin@contoso.onmicrosoft.com"


def test_o365_key_keeps_system_principals_verbatim() -> None:
    # GIVEN an Exchange record written by a system principal  WHEN keyed  THEN the odd UserId is kept
    record = {**O365, "UserId": "NT AUTHORITY\\SYSTEM (Microsoft.Exchange.ServiceHost)"}
    assert entity_key_of(record) == "NT AUTHORITY\\SYSTEM (Microsoft.Exchange.ServiceHost)"


def test_o365_without_user_id_is_missing_with_field_named() -> None:
    # GIVEN an O365 record with an empty UserId  WHEN keyed  THEN the reason names UserId
    with pytest.raises(EntityKeyMissing, match="UserId"):
        entity_key_of({**O365, "UserId": ""})


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"subject": "user-7"}, "user-7"),
        ({"userid": "user-8"}, "user-8"),
        ({"entity": "device-9", "userid": "user-8"}, "device-9"),
        ({}, "/mycontext"),
    ],
)
def test_cloudevents_key_prefers_subject_then_extension_then_source(extra: dict, expected: str) -> None:
    # GIVEN a CloudEvent with some of subject / entity / userid  WHEN keyed  THEN the first present wins
    assert entity_key_of({**CLOUDEVENT, **extra}) == expected


def test_eventgrid_key_is_subject_and_topic_when_subject_empty() -> None:
    # GIVEN Event Grid events with and without a subject  WHEN keyed  THEN subject, else topic
    assert entity_key_of(EVENTGRID) == EVENTGRID["subject"]
    assert entity_key_of({**EVENTGRID, "subject": ""}) == EVENTGRID["topic"]


def test_eventgrid_iot_telemetry_key_is_the_device_id() -> None:
    # GIVEN IoT Hub telemetry delivered through Event Grid  WHEN keyed  THEN the device id is the key
    record = {
        **EVENTGRID,
        "eventType": "Microsoft.Devices.DeviceTelemetry",
        "subject": "devices/thermostat-1",
        "data": {"systemProperties": {"iothub-connection-device-id": "thermostat-1"}},
    }
    assert entity_key_of(record) == "thermostat-1"


def test_json_key_follows_the_dotted_path_and_accepts_integers() -> None:
    # GIVEN plain JSON records  WHEN keyed by a dotted path  THEN nested strings and ints are keys
    assert entity_key_of({"user": {"id": "u-1"}}, json_entity_path="user.id") == "u-1"
    assert entity_key_of({"user": {"id": 42}}, json_entity_path="user.id") == "42"
    assert entity_key_of({"users": [{"id": "first"}]}, json_entity_path="users.0.id") == "first"


def test_json_key_missing_path_names_the_path() -> None:
    # GIVEN a record without the configured path  WHEN keyed  THEN the reason names the path
    with pytest.raises(EntityKeyMissing, match="user.id is missing"):
        entity_key_of({"user": {}}, json_entity_path="user.id")


def test_json_key_without_configured_path_names_the_setting() -> None:
    # GIVEN a plain JSON record and no field map  WHEN keyed  THEN the reason says how to configure one
    with pytest.raises(EntityKeyMissing, match="SQUALL_JSON_FIELD_MAP"):
        entity_key_of({"user": {"id": "u-1"}})


def test_forced_json_format_ignores_the_o365_signature() -> None:
    # GIVEN an O365 record sent with --source json  WHEN keyed  THEN the json path decides
    assert (
        entity_key_of(O365, record_format="json", json_entity_path="OrganizationId") == O365["OrganizationId"]
    )


def test_boolean_values_are_not_keys() -> None:
    # GIVEN a path that ends in a boolean  WHEN keyed  THEN it is refused, not turned into "True"
    with pytest.raises(EntityKeyMissing, match="empty or not a string"):
        entity_key_of({"flag": True}, json_entity_path="flag")


def test_field_map_entity_path_is_read_and_validated() -> None:
    # GIVEN field maps as SQUALL_JSON_FIELD_MAP holds them  WHEN read  THEN the entity path or a clear error
    assert entity_path_from_field_map('{"id": "eventId", "entity": "user.id"}') == "user.id"
    assert entity_path_from_field_map('{"id": "eventId"}') is None
    assert entity_path_from_field_map(None) is None
    with pytest.raises(ValueError, match="not valid JSON"):
        entity_path_from_field_map("{entity: user.id}")
    with pytest.raises(ValueError, match="JSON object"):
        entity_path_from_field_map('["user.id"]')
