"""The Event Hubs function as one host instance runs it, in its own process, for the kill tests.

Reads a JSONL file as a hub would hold it (partition by entity key, sequence number = position, as
``squall run`` numbers them), and for each partition hands the real ``process_usage_events`` handler
(the function ``function_app.py`` registers, with real ``EventHubEvent`` objects built by the
worker's own converter) one batch of 100 after another, from the partition's checkpoint. Like the
host, it checkpoints a partition after the handler returns for a batch, and only then — so a process
killed mid-batch replays that batch when it starts again. When every partition is done it runs the
timer's outbox retry, as the timer would, with no grace (no other instance is running).

Settings (store, Marketing Cloud) come from the environment, as app settings do.

Usage: python -m tests.crash.handler_process EVENTS.jsonl CHECKPOINTS.json
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections import defaultdict
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
    hub: dict[str, list[tuple[int, bytes]]] = defaultdict(list)
    identity = input_identity(events)
    with events.open("rb") as stream:
        for position, line in enumerate((line for line in stream if line.strip()), start=1):
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
            type="json", value=json.dumps({"EventHubName": "usage-events", "ConsumerGroup": "squall",
                                           "PartitionId": partition})
        ),  # fmt: skip
    }
    data = meta.Datum(type="collection_bytes", value=SimpleNamespace(bytes=[body for _, body in batch]))
    return EventHubTriggerConverter.decode(data, trigger_metadata=metadata)


def save_checkpoints(path: Path, checkpoints: dict[str, int]) -> None:
    scratch = path.with_suffix(".tmp")
    scratch.write_text(json.dumps(checkpoints))
    os.replace(scratch, path)  # atomic: a kill leaves the old or the new checkpoints, never half


async def run(events: Path, checkpoints_path: Path) -> None:
    from function_app import app
    from functions import dependencies
    from shared.pipeline import retry_pending_outbox

    handler = {f.get_function_name(): f for f in app.get_functions()}["process_usage_events"].get_user_function()
    checkpoints: dict[str, int] = json.loads(checkpoints_path.read_text()) if checkpoints_path.exists() else {}
    try:
        for partition, records in sorted(hub_partitions(events).items()):
            todo = [record for record in records if record[0] > checkpoints.get(partition, 0)]
            for start in range(0, len(todo), BATCH):
                batch = todo[start : start + BATCH]
                await handler(event_hub_events(partition, batch))
                checkpoints[partition] = batch[-1][0]
                save_checkpoints(checkpoints_path, checkpoints)
        pipeline = await dependencies.get_pipeline()
        while (await retry_pending_outbox(pipeline.deps, now=datetime.now(UTC), grace=timedelta(0))).actions_recovered:
            pass
    finally:
        await dependencies.close_dependencies()


if __name__ == "__main__":
    asyncio.run(run(Path(sys.argv[1]), Path(sys.argv[2])))
    print("done", flush=True)
