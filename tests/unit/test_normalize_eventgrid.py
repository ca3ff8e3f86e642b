"""Event Grid schema events -> canonical events, for every fixture record."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from shared.events import NormalizeOptions, NormalizeResult, RawEvent, normalize_raw_event
from tests.fixtures import load_json

ENQUEUED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
SAMPLES = {item["id"]: item for item in load_json("eventgrid_samples.json")["samples"]}
BLOB_CREATED = "Microsoft.Storage.BlobCreated"


def normalize(payload: Any, *, source: str = "auto") -> NormalizeResult:
    raw = RawEvent(
        body=msgspec.json.encode(payload), partition="4", sequence_number=5, enqueued_time=ENQUEUED
    )
    return normalize_raw_event(raw, NormalizeOptions(source=source))  # type: ignore[arg-type]


# sample id: (id, type, time, entity)
EXPECTED = {
    "msdocs-event-schema-blobcreated-2024": (
        "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb",
        BLOB_CREATED,
        datetime(2024, 12, 6, 3, 32, 15, 723887, tzinfo=UTC),
        "/blobServices/default/containers/testcontainer/blobs/dataflow.jpg",
    ),
    "msdocs-receive-events-blobcreated-2017": (
        "831e1650-001e-001b-66ab-eeb76e069631",
        BLOB_CREATED,
        datetime(2017, 6, 26, 18, 41, 0, 958410, tzinfo=UTC),
        "/blobServices/default/containers/testcontainer/blobs/testfile.txt",
    ),
    "msdocs-iothub-devicetelemetry-via-eventgrid": (
        "9af86784-8d40-fe2g-8b2a-bab65e106785",
        "Microsoft.Devices.DeviceTelemetry",
        datetime(2019, 1, 7, 20, 58, 30, 480000, tzinfo=UTC),
        "d1",
    ),
}


def test_every_eventgrid_fixture_is_covered() -> None:
    assert set(SAMPLES) == set(EXPECTED) | {"msdocs-subscription-validation"}


@pytest.mark.parametrize("source", ["auto", "eventgrid"])
@pytest.mark.parametrize("sample_id", sorted(EXPECTED))
def test_eventgrid_fixture_maps_to_expected_canonical_fields(sample_id: str, source: str) -> None:
    # GIVEN an Event Grid delivery (an array with one event) from Microsoft docs
    payload = SAMPLES[sample_id]["payload"]
    # WHEN normalized
    result = normalize(payload, source=source)
    # THEN one event with the expected canonical fields; attributes carry the envelope and data
    assert result.rejections == []
    (event,) = result.events
    ident, type_, time, entity = EXPECTED[sample_id]
    assert (event.id, event.source, event.type, event.time, event.entity, event.tenant) == (
        ident,
        "eventgrid",
        type_,
        time,
        entity,
        None,
    )
    original = payload[0]
    assert event.attributes == {
        key: original[key] for key in ("topic", "subject", "dataVersion", "metadataVersion", "data")
    }
    assert (event.partition, event.sequence_number, event.enqueued_time) == ("4", 5, ENQUEUED)


def test_subscription_validation_event_is_rejected_as_not_usage() -> None:
    # GIVEN Event Grid's subscription validation handshake
    payload = SAMPLES["msdocs-subscription-validation"]["payload"]
    # WHEN normalized  THEN it is a rejection with a stable reason and the item's index
    result = normalize(payload)
    assert result.events == []
    (rejection,) = result.rejections
    assert (rejection.reason, rejection.index) == ("eventgrid: subscription validation event is not usage", 0)
    assert msgspec.json.decode(rejection.payload) == payload[0]


def test_empty_subject_falls_back_to_topic_and_data_tenant_is_used() -> None:
    event = {
        "id": "e1",
        "topic": "/subscriptions/x/topics/usage",
        "subject": "",
        "eventType": "App.Login",
        "eventTime": "2024-02-03T04:05:06Z",
        "dataVersion": "1",
        "data": {"tenantId": "t-1"},
    }
    (result,) = normalize(event).events
    assert (result.entity, result.tenant) == ("/subscriptions/x/topics/usage", "t-1")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"id": 7}, "eventgrid: field 'id' must be a string, got number"),
        ({"eventTime": None}, "eventgrid: field 'eventTime' must be a string, got null"),
        ({"eventTime": "2024-13-01T00:00:00Z"}, "eventgrid: field 'eventTime' is not an ISO 8601 timestamp"),
        (
            {"subject": "", "topic": ""},
            "eventgrid: no entity: 'subject' and 'topic' are both missing or empty",
        ),
    ],
)
def test_invalid_eventgrid_event_is_rejected_with_precise_reason(change: dict[str, Any], reason: str) -> None:
    event = {
        "id": "e1",
        "topic": "/t",
        "subject": "s",
        "eventType": "A.B",
        "eventTime": "2024-02-03T04:05:06Z",
        "dataVersion": "1",
    }
    result = normalize([{**event, **change}])
    assert [r.reason for r in result.rejections] == [reason]
