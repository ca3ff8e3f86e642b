"""``squall send`` of envelope lines: the body goes out with its application properties (a binary-mode
CloudEvent keyed by its attributes); system properties are the hub's, so such a line is refused."""

from __future__ import annotations

import json

from squall.send.models import OutgoingRecord, PackedBatch, Refusal
from squall.send.packing import offline_batch_factory, pack_batches
from squall.send.runner import key_records
from squall.send.source import read_jsonl

BINARY_CLOUDEVENT = {
    "body": {"appinfoA": "abc"},
    "properties": {"ce_specversion": "1.0", "ce_id": "C234", "ce_source": "/mycontext", "ce_type": "com.example.e",
                   "ce_subject": "device-7", "content-type": "application/json"},
}  # fmt: skip
IOT_MESSAGE = {"body": "{}", "system_properties": {"iothub-connection-device-id": "dev-1"}}


def test_an_envelope_is_sent_as_its_body_with_its_properties_keyed_by_its_cloudevent_subject() -> None:
    # GIVEN a file with a binary-mode CloudEvent in an envelope
    lines = [b"\xef\xbb\xbf" + json.dumps(BINARY_CLOUDEVENT).encode() + b"\n"]
    # WHEN read, keyed and packed
    items = list(read_jsonl(lines))
    packed = list(pack_batches(key_records(items), new_batch=offline_batch_factory(1024 * 1024)))
    # THEN one event: the body alone, the ce_ attributes as application properties, keyed by subject
    assert isinstance(items[0], OutgoingRecord) and items[0].body == b'{"appinfoA":"abc"}'
    [batch] = [item for item in packed if isinstance(item, PackedBatch)]
    assert batch.partition_key == "device-7"
    [event] = batch.batch._internal_events  # the SDK keeps the events it packed here
    assert event.properties == BINARY_CLOUDEVENT["properties"]


def test_an_envelope_with_system_properties_is_refused_naming_the_reason() -> None:
    [item] = list(read_jsonl([json.dumps(IOT_MESSAGE).encode()]))
    assert isinstance(item, Refusal) and "system properties are set by the hub" in item.reason
