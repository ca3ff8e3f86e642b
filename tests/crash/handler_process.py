"""The Event Hubs function as one host instance runs it, in its own process, for the kill tests.

Reads a JSONL file as a hub would hold it (partition by entity key, sequence number = position, as
``squall run`` numbers them), and for each partition hands the real ``process_usage_events`` handler
(the function ``function_app.py`` registers, with real ``EventHubEvent`` objects built by the
worker's own converter) one batch of 100 after another, from the partition's checkpoint. Like the
host, it checkpoints a partition after the handler returns for a batch, and only then — so a process
killed mid-batch replays that batch when it starts again. After each batch the real ``deliver_outbox``
function gets the outbox documents still pending, as the change feed would hand them over (the local
Cosmos DB server has no change feed), and when every partition is done the timer's outbox retry
runs, as the timer would, with no grace (no other instance is running).

Settings (store, Marketing Cloud) come from the environment, as app settings do.

Usage: python -m tests.crash.handler_process EVENTS.jsonl CHECKPOINTS.json
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from squall.bench.hub import BATCH, event_hub_events, hub_partitions


def save_checkpoints(path: Path, checkpoints: dict[str, int]) -> None:
    scratch = path.with_suffix(".tmp")
    scratch.write_text(json.dumps(checkpoints))
    os.replace(scratch, path)  # atomic: a kill leaves the old or the new checkpoints, never half


def changed_outbox_documents() -> Any:
    """The pending outbox documents, as the change feed hands documents to ``deliver_outbox``."""
    import azure.functions as func
    import urllib3
    from azure.cosmos import CosmosClient

    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)  # the local server's own certificate
    client = CosmosClient(os.environ["COSMOS_ENDPOINT"], credential=os.environ["COSMOS_KEY"], connection_verify=False)
    container = client.get_database_client(os.environ["COSMOS_DATABASE"]).get_container_client("outbox")
    query = "SELECT * FROM c WHERE c.status = 'pending'"
    items = container.query_items(query, enable_cross_partition_query=True)
    return func.DocumentList(func.Document.from_dict(item) for item in items)


async def run(events: Path, checkpoints_path: Path) -> None:
    from function_app import app
    from functions import dependencies
    from shared.pipeline import retry_pending_outbox

    functions = {f.get_function_name(): f for f in app.get_functions()}
    handler = functions["process_usage_events"].get_user_function()
    relay = functions["deliver_outbox"].get_user_function()
    checkpoints: dict[str, int] = json.loads(checkpoints_path.read_text()) if checkpoints_path.exists() else {}
    try:
        for partition, records in sorted(hub_partitions(events).items()):
            todo = [record for record in records if record[0] > checkpoints.get(partition, 0)]
            for start in range(0, len(todo), BATCH):
                batch = todo[start : start + BATCH]
                await handler(event_hub_events(partition, batch))
                checkpoints[partition] = batch[-1][0]
                save_checkpoints(checkpoints_path, checkpoints)
                await relay(changed_outbox_documents())
        pipeline = await dependencies.get_pipeline()
        while (await retry_pending_outbox(pipeline.deps, now=datetime.now(UTC), grace=timedelta(0))).actions_recovered:
            pass
    finally:
        await dependencies.close_dependencies()


if __name__ == "__main__":
    asyncio.run(run(Path(sys.argv[1]), Path(sys.argv[2])))
    print("done", flush=True)
