"""O365 Management Activity records -> canonical events, for every O365 fixture record."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.events import Event, NormalizeOptions, RawEvent, normalize_raw_event
from shared.events.client_ip import parse_client_ip
from tests.fixtures import jsonl_lines

ENQUEUED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
MS_ORG = "41463f53-8812-40f4-890f-865bf6e35190"
OME_ORG = "84b06764-3e5e-4f51-9a78-046a7f38b59b"
NW_ORG = "6d2f4c1a-93b7-4e0a-b8c5-1f7e2a9d3b64"
ROSA = "rosa@nwlab.onmicrosoft.com"
SYSTEM_USER = "NT AUTHORITY\\SYSTEM (Microsoft.Exchange.ServiceHost)"

FILE_DELETED_BY_ROSA = (
    "71d4e8b3-9a2f-4c60-b5d7-08d9144a2f81",
    "OneDrive/FileDeleted",
    datetime(2021, 5, 3, 9, 21, 52, tzinfo=UTC),
    ROSA,
    NW_ORG,
    6,
    None,
    "203.0.113.24",
    "regular",
)

# (file, line): id, type, time, entity, tenant, record_type, result_status, client_ip, user_type
EXPECTED = {
    ("o365_microsoft_docs.jsonl", 1): (
        "80c76bd2-9d81-4c57-a97a-accfc3443dca",
        "AzureActiveDirectory/PasswordLogonInitialAuthUsingPassword",
        datetime(2015, 6, 29, 20, 3, 19, tzinfo=UTC),
        "admin@contoso.onmicrosoft.com",
        MS_ORG,
        9,
        "failed",
        "134.170.188.221",
        "regular",
    ),
    ("o365_microsoft_docs.jsonl", 2): (
        "4e655d3f-35fa-42e0-b050-264b2d255c7a",
        "AzureActiveDirectory/PasswordLogonInitialAuthUsingPassword",
        datetime(2015, 6, 29, 20, 3, 34, tzinfo=UTC),
        "admin@contoso.onmicrosoft.com",
        MS_ORG,
        9,
        "succeeded",
        "134.170.188.221",
        "regular",
    ),
    ("o365_microsoft_docs.jsonl", 3): (
        "b567caf0-088e-4c1c-a4ea-633a1e3d66c8",
        "AzureActiveDirectory/Add User.",
        datetime(2015, 6, 29, 20, 4, 55, tzinfo=UTC),
        "admin@contoso.onmicrosoft.com",
        MS_ORG,
        8,
        "succeeded",
        None,
        "regular",
    ),
    ("o365_microsoft_docs.jsonl", 4): (
        "a3500d45-6ab3-4971-a762-a01a846015d0",
        "Exchange/MessageAccess",
        datetime(2023, 3, 22, 19, 0, 59, tzinfo=UTC),
        "admin@M365x965352.onmicrosoft.com",
        OME_ORG,
        154,
        "succeeded",
        None,
        "regular",
    ),
    ("o365_microsoft_docs.jsonl", 5): (
        "ef29c387-c81b-4812-9020-90b378d92cde",
        "Exchange/AttachmentReview",
        datetime(2023, 3, 22, 19, 4, 9, tzinfo=UTC),
        "admin@M365x965352.onmicrosoft.com",
        OME_ORG,
        154,
        "failed",
        None,
        "regular",
    ),
    ("o365_microsoft_docs.jsonl", 6): (
        "99b0a960-13a0-461f-8c5c-cb2316ea273d",
        "Copilot/CopilotInteraction",
        datetime(2023, 12, 13, 17, 12, 36, tzinfo=UTC),
        "admin@MODERNCOMMS975184.onmicrosoft.com",
        "408e31c8-8f05-410a-9221-84335f0ce512",
        261,
        None,
        None,
        "regular",
    ),
    ("o365_recreated.jsonl", 1): (
        "5e0b7c21-94fd-4a3e-8b61-d2c7f9a04e3b",
        "MicrosoftTeams/TeamCreated",
        datetime(2021, 5, 11, 8, 14, 2, tzinfo=UTC),
        "Application",
        NW_ORG,
        25,
        None,
        None,
        "application",
    ),
    ("o365_recreated.jsonl", 2): (
        "c93e5a10-7b2d-5f48-a6c9-41e0d8b7f265",
        "MicrosoftTeams/MemberAdded",
        datetime(2021, 5, 11, 8, 14, 9, tzinfo=UTC),
        ROSA,
        NW_ORG,
        25,
        None,
        None,
        "regular",
    ),
    ("o365_recreated.jsonl", 3): (
        "3f7d2b90-c5e1-4a86-9d24-8b6a0e1c7f53",
        "MicrosoftTeams/TeamsSessionStarted",
        datetime(2021, 5, 11, 8, 13, 55, tzinfo=UTC),
        "tomas@nwlab.onmicrosoft.com",
        NW_ORG,
        25,
        None,
        None,
        "regular",
    ),
    ("o365_recreated.jsonl", 4): (
        "8a2c4e61-07b9-4d3f-51e8-08d9143b6f0a",
        "SharePoint/AddedToGroup",
        datetime(2021, 5, 11, 8, 14, 15, tzinfo=UTC),
        "app@sharepoint",
        NW_ORG,
        14,
        None,
        None,
        "regular",
    ),
    ("o365_recreated.jsonl", 5): (
        "e61b0f37-2c8d-4a95-7d10-08d9144a2c5e",
        "OneDrive/PageViewed",
        datetime(2021, 5, 3, 9, 21, 40, tzinfo=UTC),
        ROSA,
        NW_ORG,
        4,
        None,
        "203.0.113.24",
        "regular",
    ),
    ("o365_recreated.jsonl", 6): (
        "0f93c6a2-5b1e-4d7f-a8c4-08d9144a3b6f",
        "OneDrive/FileUploaded",
        datetime(2021, 5, 3, 9, 22, 5, tzinfo=UTC),
        ROSA,
        NW_ORG,
        6,
        None,
        "203.0.113.24",
        "regular",
    ),
    # line 8 is line 7's record again, keys in another order (content blobs repeat records)
    ("o365_recreated.jsonl", 7): FILE_DELETED_BY_ROSA,
    ("o365_recreated.jsonl", 8): FILE_DELETED_BY_ROSA,
    ("o365_recreated.jsonl", 9): (
        "b4f7a2c9-6e3d-4108-9c5b-08d912f0e7a4",
        "OneDrive/AnonymousLinkCreated",
        datetime(2021, 5, 9, 14, 2, 31, tzinfo=UTC),
        ROSA,
        NW_ORG,
        14,
        None,
        "198.51.100.77",
        "regular",
    ),
    ("o365_recreated.jsonl", 10): (
        "d8a5c1e7-3f92-4b6d-e014-08d9143d9c25",
        "Exchange/Create",
        datetime(2021, 5, 11, 8, 26, 48, tzinfo=UTC),
        "S-1-5-18",
        NW_ORG,
        2,
        "succeeded",
        "::1",
        "admin",
    ),
    ("o365_recreated.jsonl", 11): (
        "2c6e9a4f-b7d1-4e38-5a92-08d90db4c7e6",
        "Exchange/Set-Mailbox",
        datetime(2021, 5, 2, 22, 7, 13, tzinfo=UTC),
        SYSTEM_USER,
        NW_ORG,
        1,
        "true",
        None,
        "dc_admin",
    ),
    ("o365_recreated.jsonl", 12): (
        "6b1f4d8a-2e5c-4397-8a0d-f5c3e9b7a214",
        "AzureActiveDirectory/UserLoggedIn",
        datetime(2021, 5, 4, 7, 45, 29, tzinfo=UTC),
        ROSA,
        NW_ORG,
        15,
        "succeeded",
        "192.0.2.45",
        "regular",
    ),
    ("o365_constructed_quirks.jsonl", 1): (
        "0a1b2c3d-0001-4e5f-8a9b-c0d1e2f3a4b5",
        "Exchange/MailItemsAccessed",
        datetime(2021, 5, 12, 10, 0, 1, tzinfo=UTC),
        ROSA,
        NW_ORG,
        50,
        "partially_succeeded",
        "203.0.113.9",
        "regular",
    ),
    ("o365_constructed_quirks.jsonl", 2): (
        "0a1b2c3d-0002-4e5f-8a9b-c0d1e2f3a4b5",
        "SharePoint/FileDownloaded",
        datetime(2021, 5, 12, 10, 0, 2, tzinfo=UTC),
        ROSA,
        NW_ORG,
        6,
        None,
        "2001:db8::5",
        "99",
    ),
    ("o365_constructed_quirks.jsonl", 3): (
        "0a1b2c3d-0003-4e5f-8a9b-c0d1e2f3a4b5",
        "AzureActiveDirectory/UserLoginFailed",
        datetime(2021, 5, 12, 10, 0, 3, tzinfo=UTC),
        "tomas@nwlab.onmicrosoft.com",
        NW_ORG,
        15,
        "failed",
        "2001:db8:0:0::17",
        "regular",
    ),
    ("o365_constructed_quirks.jsonl", 4): (
        "0a1b2c3d-0004-4e5f-8a9b-c0d1e2f3a4b5",
        "Copilot/CopilotInteraction",
        datetime(2021, 5, 12, 10, 0, 4, tzinfo=UTC),
        "ines@nwlab.onmicrosoft.com",
        None,
        None,
        "succeeded",
        None,
        "regular",
    ),
}
FILES = ("o365_microsoft_docs.jsonl", "o365_recreated.jsonl", "o365_constructed_quirks.jsonl")
ALL_LINES = {(name, number): line for name in FILES for number, line in enumerate(jsonl_lines(name), 1)}


def normalize_one(body: bytes, **options: object) -> Event:
    raw = RawEvent(body=body, partition="3", sequence_number=77, enqueued_time=ENQUEUED)
    result = normalize_raw_event(raw, NormalizeOptions(**options))  # type: ignore[arg-type]
    assert result.rejections == [], result.rejections
    assert len(result.events) == 1
    return result.events[0]


def test_every_o365_fixture_line_has_an_expectation() -> None:
    # GIVEN the fixture files  WHEN listing their lines  THEN each one is asserted below
    assert set(ALL_LINES) == set(EXPECTED)


@pytest.mark.parametrize("source", ["auto", "o365"])
@pytest.mark.parametrize("key", sorted(EXPECTED), ids=lambda key: f"{key[0]}:{key[1]}")
def test_o365_fixture_record_maps_to_expected_canonical_fields(key: tuple[str, int], source: str) -> None:
    # GIVEN one real-shaped O365 record as producer bytes
    body = ALL_LINES[key]
    # WHEN it is normalized (detected or forced)
    event = normalize_one(body, source=source)
    # THEN every canonical field and derived attribute is exactly as expected
    ident, type_, time, entity, tenant, record_type, status, client_ip, user_type = EXPECTED[key]
    assert (event.id, event.source, event.type, event.time, event.entity, event.tenant) == (
        ident,
        "o365",
        type_,
        time,
        entity,
        tenant,
    )
    assert event.time.tzinfo is UTC
    attributes = event.attributes
    assert attributes["record_type"] == record_type
    assert attributes["result_status"] == status
    assert attributes["client_ip"] == client_ip
    assert attributes["user_type"] == user_type
    assert (attributes["workload"], attributes["operation"]) == tuple(type_.split("/", 1))
    assert (event.partition, event.sequence_number, event.enqueued_time) == ("3", 77, ENQUEUED)


def test_o365_attributes_keep_producer_fields_verbatim_except_canonical_ones() -> None:
    # GIVEN the Copilot record with nested data and a malformed ClientIP
    body = ALL_LINES[("o365_microsoft_docs.jsonl", 6)]
    # WHEN normalized
    event = normalize_one(body)
    # THEN producer fields keep their names and values, canonical ones are not repeated
    assert event.attributes["ClientIP"] == "ffff:10.11.0.229"
    assert event.attributes["client_ip"] is None
    assert event.attributes["CopilotEventData"]["AppHost"] == "Word"
    assert event.attributes["RecordType"] == 261
    assert not {"Id", "CreationTime", "UserId", "OrganizationId"} & set(event.attributes)


def test_o365_same_record_in_different_key_order_gives_equal_events() -> None:
    # GIVEN the same record twice with a different key order (as O365 content blobs repeat records)
    first, second = ALL_LINES[("o365_recreated.jsonl", 7)], ALL_LINES[("o365_recreated.jsonl", 8)]
    assert first != second
    # WHEN both are normalized  THEN the events are equal (same id, same attributes)
    assert normalize_one(first) == normalize_one(second)


def test_o365_empty_user_key_is_kept_as_sent() -> None:
    event = normalize_one(ALL_LINES[("o365_recreated.jsonl", 1)])
    assert event.attributes["UserKey"] == ""
    assert event.entity == "Application"


def test_o365_content_blob_array_gives_one_event_per_record() -> None:
    # GIVEN an O365 content blob: a JSON array of records
    body = b"[" + b",".join(jsonl_lines("o365_recreated.jsonl")) + b"]"
    # WHEN normalized
    raw = RawEvent(body=body, partition="0", sequence_number=1, enqueued_time=ENQUEUED)
    result = normalize_raw_event(raw, NormalizeOptions())
    # THEN there is one event per record, in order
    assert result.rejections == []
    assert [event.type for event in result.events][:3] == [
        "MicrosoftTeams/TeamCreated",
        "MicrosoftTeams/MemberAdded",
        "MicrosoftTeams/TeamsSessionStarted",
    ]
    assert len(result.events) == 12


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1.2.3.4", "1.2.3.4"),
        ("1.2.3.4:5678", "1.2.3.4"),
        ("[::1]:443", "::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("::1", "::1"),
        ("::ffff:10.11.0.229", "::ffff:10.11.0.229"),
        ("ffff:10.11.0.229", None),
        ("", None),
        (None, None),
        (42, None),
        ("1.2.3.4:http", None),
        ("[::1]x", None),
        ("[::1", None),
        ("999.1.1.1", None),
        ("host.example.com", None),
    ],
)
def test_client_ip_is_a_valid_address_without_port_or_none(value: object, expected: str | None) -> None:
    assert parse_client_ip(value) == expected
