"""IoT Hub messages from the Event Hubs-compatible endpoint -> canonical events, for every fixture."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from shared.events import UNKNOWN_FORMAT_REASON, NormalizeOptions, RawEvent, normalize_raw_event
from tests.fixtures import load_json

ENQUEUED = datetime(2020, 10, 6, 11, 0, tzinfo=UTC)
SAMPLES = load_json("iothub_samples.json")
OBSERVED = {item["id"]: item for item in SAMPLES["observed_via_event_hubs_sdk"]}
TRIGGER = {item["id"]: item for item in SAMPLES["functions_python_trigger"]}


def observed_raw(item: dict[str, Any]) -> RawEvent:
    """The message as an Event Hubs reader hands it over: body bytes + application/system properties."""
    body = item["body_text"].encode() if "body_text" in item else msgspec.json.encode(item["body_json"])
    return RawEvent(
        body=body,
        partition="2",
        sequence_number=1234,
        enqueued_time=ENQUEUED,
        properties=item["application_properties"] or {},
        system_properties=item["system_properties"],
    )


# sample id: (type, time, body, extra attributes)
EXPECTED = {
    "csharp-telemetry-thermostat": (
        "iothub/Telemetry",
        ENQUEUED,
        {"temperature": 25.5},
        {"dataschema": "dtmi:com:example:Thermostat;1", "content_type": "application/json"},
    ),
    "csharp-telemetry-component-thermostat1": (
        "iothub/Telemetry",
        ENQUEUED,
        {"temperature": 11.1},
        {
            "component": "thermostat1",
            "dataschema": "dtmi:com:example:TemperatureController;1",
            "content_type": "application/json",
        },
    ),
    "csharp-telemetry-component-thermostat2": (
        "iothub/Telemetry",
        ENQUEUED,
        {"temperature": 41.2},
        {
            "component": "thermostat2",
            "dataschema": "dtmi:com:example:TemperatureController;1",
            "content_type": "application/json",
        },
    ),
    "csharp-twin-change": (
        "iothub/twinChangeEvents",
        ENQUEUED,
        {
            "version": 3,
            "properties": {
                "reported": {
                    "maxTempSinceLastReboot": 9.6,
                    "$metadata": {
                        "$lastUpdated": "2020-10-06T10:17:41.7408552Z",
                        "maxTempSinceLastReboot": {"$lastUpdated": "2020-10-06T10:17:41.7408552Z"},
                    },
                    "$version": 2,
                }
            },
        },
        {"content_type": "application/json"},
    ),
    "csharp-digital-twin-change": (
        "iothub/digitalTwinChangeEvents",
        ENQUEUED,
        [
            {
                "op": "add",
                "path": "/$metadata/maxTempSinceLastReboot",
                "value": {"lastUpdateTime": "2020-10-06T10:39:16.0209836Z"},
            },
            {"op": "add", "path": "/maxTempSinceLastReboot", "value": 34.9},
        ],
        {"content_type": "application/json-patch+json"},
    ),
    "node-telemetry-component-thermostat1": (
        "iothub/Telemetry",
        datetime(2020, 10, 20, 15, 11, 9, 320000, tzinfo=UTC),
        {"temperature": 68.77370855171125},
        {
            "component": "thermostat1",
            "dataschema": "dtmi:com:example:TemperatureController;1",
            "content_type": "application/json",
        },
    ),
}


def test_every_observed_iothub_fixture_is_covered() -> None:
    assert set(OBSERVED) == set(EXPECTED)


@pytest.mark.parametrize("source", ["auto", "iothub"])
@pytest.mark.parametrize("sample_id", sorted(EXPECTED))
def test_iothub_message_maps_to_expected_canonical_fields(sample_id: str, source: str) -> None:
    # GIVEN a message read from IoT Hub's built-in endpoint (device id in the system properties)
    item = OBSERVED[sample_id]
    # WHEN normalized
    result = normalize_raw_event(observed_raw(item), NormalizeOptions(source=source))  # type: ignore[arg-type]
    # THEN it is ONE event (even a JSON-array body) about the device, id from the hub position
    assert result.rejections == []
    (event,) = result.events
    type_, time, body, extra = EXPECTED[sample_id]
    assert (event.id, event.source, event.type, event.time, event.entity, event.tenant) == (
        "2:1234",
        "iothub",
        type_,
        time,
        "my-pnp-device",
        None,
    )
    assert event.attributes == {
        "message_source": type_.removeprefix("iothub/"),
        "properties": item["application_properties"] or {},
        "body": body,
        **extra,
    }


def test_message_id_and_hub_name_become_id_and_tenant_and_iso_time_is_used() -> None:
    raw = RawEvent(
        body=b"not json",
        partition="0",
        sequence_number=1,
        enqueued_time=ENQUEUED,
        system_properties={
            b"iothub-connection-device-id": b"dev-1",
            b"message-id": b"m-77",
            "iothub-hub-name": "hub-a",
            "iothub-enqueuedtime": "2020-10-06T10:59:58.5Z",
            "iothub-connection-module-id": "mod-1",
        },
    )
    (event,) = normalize_raw_event(raw).events
    assert (event.id, event.entity, event.tenant, event.time) == (
        "m-77",
        "dev-1",
        "hub-a",
        datetime(2020, 10, 6, 10, 59, 58, 500000, tzinfo=UTC),
    )
    assert (event.attributes["body"], event.attributes["module_id"]) == ("not json", "mod-1")


def test_non_utf8_body_is_kept_as_base64() -> None:
    raw = RawEvent(
        body=b"\xff\x00",
        partition="0",
        sequence_number=1,
        enqueued_time=ENQUEUED,
        system_properties={"iothub-connection-device-id": "dev-1"},
    )
    (event,) = normalize_raw_event(raw).events
    assert event.attributes["body_base64"] == "/wA="


def test_functions_trigger_single_event_metadata() -> None:
    # GIVEN the azure-functions library's captured trigger metadata for one IoT Hub message
    meta = TRIGGER["functions-python-single-event-metadata-captured"]["trigger_metadata_datums"]
    raw = RawEvent(
        body=b"body_bytes",
        partition=meta["PartitionContext"]["value"]["PartitionId"],
        sequence_number=meta["SequenceNumber"]["value"],
        offset=meta["Offset"]["value"],
        enqueued_time=datetime.fromisoformat(meta["EnqueuedTimeUtc"]["value"]),
        system_properties=meta["SystemProperties"]["value"],
    )
    # WHEN normalized
    (event,) = normalize_raw_event(raw).events
    # THEN the id comes from partition + sequence number, time from the enqueued time
    assert (event.id, event.type, event.time, event.entity, event.attributes["body"]) == (
        "0:47",
        "iothub/Telemetry",
        datetime(2020, 7, 14, 1, 27, 55, 627000, tzinfo=UTC),
        "awesome-device-id",
        "body_bytes",
    )


def test_functions_trigger_batch_routes_each_message_by_its_own_system_properties() -> None:
    # GIVEN a cardinality=many batch: message 0 from IoT Hub, message 1 a plain JSON body
    item = TRIGGER["functions-python-batch-metadata-constructed-v5"]
    bodies = item["data_datum"]["value"]
    system = item["trigger_metadata_datums"]["SystemPropertiesArray"]["value"]
    raws = [
        RawEvent(
            body=body.encode(),
            partition="0",
            sequence_number=props["SequenceNumber"],
            partition_key=props["PartitionKey"],
            system_properties=props,
            enqueued_time=datetime.fromisoformat(props["EnqueuedTimeUtc"]),
        )
        for body, props in zip(bodies, system, strict=True)
    ]
    # WHEN each is normalized
    first, second = (normalize_raw_event(raw) for raw in raws)
    # THEN the IoT Hub one is an event and the unmapped plain JSON one a rejection
    (event,) = first.events
    assert (event.id, event.entity, event.type, event.attributes["body"]) == (
        "0:47",
        "my-pnp-device",
        "iothub/Telemetry",
        {"a": 1},
    )
    assert [r.reason for r in second.rejections] == [UNKNOWN_FORMAT_REASON]


def test_iothub_forced_without_device_property_is_rejected() -> None:
    result = normalize_raw_event(RawEvent(body=b"{}"), NormalizeOptions(source="iothub"))
    assert [r.reason for r in result.rejections] == [
        "iothub: message has no 'iothub-connection-device-id' system property"
    ]


def test_iothub_without_message_id_or_position_is_rejected() -> None:
    raw = RawEvent(body=b"{}", enqueued_time=ENQUEUED, system_properties={"iothub-connection-device-id": "d"})
    assert [r.reason for r in normalize_raw_event(raw).rejections] == [
        "iothub: no 'message-id' and no partition/sequence number to derive an id from"
    ]
