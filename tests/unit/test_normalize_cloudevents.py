"""CloudEvents 1.0 (structured, batch, binary mode) -> canonical events, for every fixture record."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from shared.events import NormalizeOptions, NormalizeResult, RawEvent, normalize_raw_event
from tests.fixtures import load_json

ENQUEUED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
SPEC_TIME = datetime(2018, 4, 5, 17, 31, tzinfo=UTC)
SAMPLES = load_json("cloudevents_samples.json")
APPINFO = {"appinfoA": "abc", "appinfoB": 123, "appinfoC": True}
SPEC_EXTENSIONS = {"comexampleextension1": "value", "comexampleothervalue": 5}
BLOB_SOURCE = (
    "/subscriptions/{subscription-id}/resourceGroups/{resource-group}/providers/Microsoft.Storage/"
    "storageAccounts/{storage-account}"
)
BLOB_SUBJECT = "blobServices/default/containers/{storage-container}/blobs/{new-file}"


def sample(group: str, sample_id: str) -> dict[str, Any]:
    return next(item for item in SAMPLES[group] if item["id"] == sample_id)


def normalize(
    body: bytes, *, properties: dict[str, Any] | None = None, source: str = "auto"
) -> NormalizeResult:
    raw = RawEvent(
        body=body, partition="1", sequence_number=9, enqueued_time=ENQUEUED, properties=properties or {}
    )
    return normalize_raw_event(raw, NormalizeOptions(source=source))  # type: ignore[arg-type]


# sample id: (id, time, entity, attributes without ce_source/specversion)
STRUCTURED_EXPECTED = {
    "spec-3.2-xml-string": (
        "B234-1234-1234",
        SPEC_TIME,
        "/mycontext",
        {"datacontenttype": "application/xml", **SPEC_EXTENSIONS, "data": '<much wow="xml"/>'},
    ),
    "spec-3.2-json-object": (
        "C234-1234-1234",
        SPEC_TIME,
        "/mycontext",
        {"datacontenttype": "application/json", **SPEC_EXTENSIONS, "data": APPINFO},
    ),
    "spec-3.2-json-string-no-datacontenttype": (
        "D234-1234-1234",
        SPEC_TIME,
        "/mycontext",
        {**SPEC_EXTENSIONS, "data": "I'm just a string"},
    ),
    "msdocs-eventgrid-cloudevent-blobcreated": (
        "9aeb0fdf-c01e-0131-0922-9eb54906e209",
        datetime(2019, 11, 18, 15, 13, 39, 458925, tzinfo=UTC),
        BLOB_SUBJECT,
        {"dataschema": "#", "subject": BLOB_SUBJECT},
    ),
    "constructed-valid-base64": (
        "A234-1234-1234",
        SPEC_TIME,
        "/mycontext",
        {"datacontenttype": "application/vnd.apache.thrift.binary", **SPEC_EXTENSIONS, "data": "hello world"},
    ),
}
GROUP_OF = {
    "msdocs-eventgrid-cloudevent-blobcreated": "azure_event_grid_cloudevent",
    "constructed-valid-base64": "constructed",
}


@pytest.mark.parametrize("source", ["auto", "cloudevents"])
@pytest.mark.parametrize("sample_id", sorted(STRUCTURED_EXPECTED))
def test_structured_cloudevent_fixture_maps_to_expected_canonical_fields(sample_id: str, source: str) -> None:
    # GIVEN a structured-mode CloudEvent from the spec or Microsoft docs
    item = sample(GROUP_OF.get(sample_id, "structured_mode_events"), sample_id)
    # WHEN normalized
    result = normalize(msgspec.json.encode(item["event"]), source=source)
    # THEN one event with the expected canonical fields
    assert result.rejections == []
    (event,) = result.events
    ident, time, entity, attributes = STRUCTURED_EXPECTED[sample_id]
    assert (event.id, event.source, event.type, event.time, event.entity, event.tenant) == (
        ident,
        "cloudevents",
        item["event"]["type"],
        time,
        entity,
        None,
    )
    expected = {"ce_source": item["event"]["source"], "specversion": "1.0", **attributes}
    if sample_id == "msdocs-eventgrid-cloudevent-blobcreated":
        expected["data"] = item["event"]["data"]
    assert event.attributes == expected
    assert (event.partition, event.sequence_number, event.enqueued_time) == ("1", 9, ENQUEUED)


def test_spec_placeholder_data_base64_is_rejected_with_reason() -> None:
    # GIVEN the spec's example whose data_base64 is the text "... base64 encoded string ..."
    body = msgspec.json.encode(sample("structured_mode_events", "spec-3.2-binary")["event"])
    # WHEN normalized  THEN it is rejected, with the whole body as payload
    result = normalize(body)
    assert result.events == []
    (rejection,) = result.rejections
    assert rejection.reason == "cloudevents: field 'data_base64' is not valid base64"
    assert (rejection.index, rejection.payload) == (None, body)


def test_spec_batch_normalizes_good_item_and_rejects_bad_item_by_index() -> None:
    # GIVEN the spec's batch: item 0 has placeholder base64, item 1 is valid
    batch = sample("batches", "spec-4.3-batch")["batch"]
    # WHEN normalized
    result = normalize(msgspec.json.encode(batch))
    # THEN item 1 is an event and item 0 a rejection carrying its own bytes
    (event,) = result.events
    assert (event.id, event.type, event.entity, event.time) == (
        "C234-1234-1234",
        "com.example.someotherevent",
        "/mycontext/9",
        datetime(2018, 4, 5, 17, 31, 5, tzinfo=UTC),
    )
    assert event.attributes["data"] == APPINFO
    (rejection,) = result.rejections
    assert rejection.index == 0
    assert msgspec.json.decode(rejection.payload) == batch[0]


def test_empty_batch_gives_no_events_and_no_rejections() -> None:
    result = normalize(msgspec.json.encode(sample("batches", "spec-4.3-empty-batch")["batch"]))
    assert (result.events, result.rejections) == ([], [])


BINARY_DATA = {
    "spec-3.2-binary-http-1": (
        "A234-1234-1234",
        "application/vnd.apache.thrift.binary",
        "...raw binary bytes...",
    ),
    "spec-3.2-binary-http-2": ("B234-1234-1234", "application/xml", '<much wow="xml"/>'),
    "spec-3.2-binary-http-3": ("C234-1234-1234", "application/json", APPINFO),
    "spec-3.2-binary-http-4": ("D234-1234-1234", "application/json", "I'm just a string"),
}


@pytest.mark.parametrize("sample_id", sorted(BINARY_DATA))
def test_binary_mode_cloudevent_from_message_properties(sample_id: str) -> None:
    # GIVEN the spec's binary-mode HTTP headers as Event Hubs message properties, body as the data
    item = sample("binary_mode_http", sample_id)
    # WHEN normalized
    result = normalize(item["body"].encode(), properties=item["headers"])
    # THEN the context attributes come from the properties and data from the body
    (event,) = result.events
    ident, content_type, data = BINARY_DATA[sample_id]
    assert (event.id, event.source, event.type, event.time, event.entity) == (
        ident,
        "cloudevents",
        "com.example.someevent",
        SPEC_TIME,
        "/mycontext",
    )
    assert event.attributes == {
        "ce_source": "/mycontext",
        "specversion": "1.0",
        "datacontenttype": content_type,
        "comexampleextension1": "value",
        "comexampleothervalue": "5",
        "data": data,
    }


def test_binary_mode_with_amqp_property_prefix_and_tenant_extension() -> None:
    # GIVEN AMQP-binding property names (cloudEvents:...) with entity and tenant extensions
    properties = {
        "cloudEvents:specversion": "1.0",
        "cloudEvents:id": "e-1",
        "cloudEvents:source": "/app",
        "cloudEvents:type": "app.login",
        "cloudEvents:userid": "u-42",
        "cloudEvents:tenantid": "t-7",
        "content-type": "application/json",
    }
    # WHEN normalized without a time attribute
    result = normalize(b'{"ok": true}', properties=properties)
    # THEN entity/tenant come from the extensions and time falls back to the enqueued time
    (event,) = result.events
    assert (event.id, event.entity, event.tenant, event.time) == ("e-1", "u-42", "t-7", ENQUEUED)
    assert event.attributes["data"] == {"ok": True}


def test_subject_wins_over_extensions_and_null_subject_is_absent() -> None:
    base = {"specversion": "1.0", "id": "1", "source": "/s", "type": "t", "entity": "ext-entity"}
    with_subject = normalize(msgspec.json.encode({**base, "subject": "user-9"})).events[0]
    null_subject = normalize(msgspec.json.encode({**base, "subject": None})).events[0]
    assert (with_subject.entity, null_subject.entity) == ("user-9", "ext-entity")
    assert "subject" not in null_subject.attributes


def test_data_base64_holding_json_is_decoded_for_json_content_type() -> None:
    payload = base64.b64encode(b'{"n": 1}').decode()
    body = msgspec.json.encode(
        {
            "specversion": "1.0",
            "id": "1",
            "source": "/s",
            "type": "t",
            "time": "2024-01-01T00:00:00+01:00",
            "datacontenttype": "application/json",
            "data_base64": payload,
        }
    )
    (event,) = normalize(body).events
    assert event.attributes["data"] == {"n": 1}
    assert event.time == datetime(2023, 12, 31, 23, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"id": None}, "cloudevents: field 'id' must be a string, got null"),
        ({"id": ""}, "cloudevents: field 'id' is empty"),
        ({"type": 5}, "cloudevents: field 'type' must be a string, got number"),
        ({"specversion": "0.3"}, "cloudevents: unsupported specversion (only 1.0 is accepted)"),
        ({"time": "yesterday"}, "cloudevents: field 'time' is not an ISO 8601 timestamp"),
        (
            {"data": 1, "data_base64": "AA=="},
            "cloudevents: both 'data' and 'data_base64' are present (spec allows one)",
        ),
        ({"subject": ["x"]}, "cloudevents: field 'subject' must be a string, got array"),
    ],
)
def test_invalid_cloudevent_is_rejected_with_precise_reason(change: dict[str, Any], reason: str) -> None:
    event = {"specversion": "1.0", "id": "1", "source": "/s", "type": "t", "time": "2024-01-01T00:00:00Z"}
    result = normalize(msgspec.json.encode({**event, **change}))
    assert result.events == []
    assert [rejection.reason for rejection in result.rejections] == [reason]


def test_cloudevent_without_time_and_without_enqueued_time_is_rejected() -> None:
    raw = RawEvent(body=b'{"specversion":"1.0","id":"1","source":"/s","type":"t"}')
    result = normalize_raw_event(raw, NormalizeOptions())
    assert [r.reason for r in result.rejections] == [
        "cloudevents: no 'time' attribute and no enqueued time to fall back on"
    ]
