"""Event Hubs batches as the Functions host hands them to the handler, for benches and kill tests.

``hub_partitions`` fills a hub from a JSONL file the way ``squall send`` and ``squall run`` key it
(partition by entity key, sequence number = position); ``event_hub_events`` turns one batch into the
handler's argument with the worker's own converter (``EventHubTriggerConverter``), metadata arrays
and partition context included.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from azure.functions import meta
from azure.functions.eventhub import EventHubTriggerConverter

from squall.local_input import entity_key_for, input_identity, partition_for

BATCH = 100
ENQUEUED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def hub_partitions(events: Path) -> dict[str, list[tuple[int, bytes]]]:
    """partition -> [(sequence number, body)], as a sender keyed by entity would have filled the hub."""
    with events.open("rb") as stream:
        return partitioned(stream, identity=input_identity(events))


def partitioned(lines: Iterable[bytes], *, identity: str) -> dict[str, list[tuple[int, bytes]]]:
    hub: dict[str, list[tuple[int, bytes]]] = defaultdict(list)
    for position, line in enumerate((line for line in lines if line.strip()), start=1):
        body = line.rstrip(b"\r\n")
        hub[f"{identity}/{partition_for(entity_key_for(body))}"].append((position, body))
    return hub


def event_hub_events(partition: str, batch: list[tuple[int, bytes]]) -> list[Any]:
    """The handler's argument for one batch, decoded by the worker's own converter."""
    system = [
        {"SequenceNumber": seq, "Offset": str(seq), "PartitionKey": None,
         "EnqueuedTimeUtc": (ENQUEUED + timedelta(milliseconds=seq)).isoformat()}
        for seq, _ in batch
    ]  # fmt: skip
    metadata = {
        "SystemPropertiesArray": meta.Datum(type="json", value=json.dumps(system)),
        "PropertiesArray": meta.Datum(type="json", value=json.dumps([{} for _ in batch])),
        "PartitionContext": meta.Datum(
            type="json",
            value=json.dumps({"EventHubName": "usage-events", "ConsumerGroup": "squall", "PartitionId": partition}),
        ),  # fmt: skip
    }
    data = meta.Datum(type="collection_bytes", value=SimpleNamespace(bytes=[body for _, body in batch]))
    decoded = EventHubTriggerConverter.decode(data, trigger_metadata=metadata)
    return decoded if isinstance(decoded, list) else [decoded]
