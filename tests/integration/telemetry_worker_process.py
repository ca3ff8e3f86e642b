"""Run as its own process (``python -m``), like a Functions worker: one Event Hub batch through the
real ``process_usage_events`` handler, then its outbox document through ``deliver_outbox`` (as the
change feed hands it over), with telemetry configured from the environment, then flush.

The batch: partition 6, sequence 100 is invalid JSON, sequence 101 an Office 365 record whose body
holds PAYLOAD_MARKER. Settings (store, Marketing Cloud, Application Insights) come from the
environment the test sets.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

from shared.settings import get_settings
from shared.telemetry import configure_telemetry
from tests.blueprints.conftest import change_feed, registered_handler
from tests.blueprints.test_ingest_blueprint import hub_batch, o365_record

PAYLOAD_MARKER = "payload-marker-93c1"
BAD_BODY = b'{"Id": "payload-marker-93c1-bad", "Operation": '


def main() -> None:
    from functions import dependencies

    logging.getLogger().setLevel(logging.INFO)  # as the Python worker sets it
    handler = registered_handler("process_usage_events")
    record = json.loads(o365_record("record-telemetry-1", "user-7@contoso.example"))
    good = json.dumps(record | {"UserKey": PAYLOAD_MARKER, "ObjectId": PAYLOAD_MARKER}).encode()

    async def batch_then_change_feed() -> None:  # one event loop, as in the Functions worker
        await handler(hub_batch("6", 100, [BAD_BODY, good]))
        await change_feed(Path(get_settings().store.removeprefix("sqlite:")))
        await dependencies.close_dependencies()

    asyncio.run(batch_then_change_feed())
    pipeline = configure_telemetry(get_settings())  # the one the handler installed
    assert pipeline is not None, "APPLICATIONINSIGHTS_CONNECTION_STRING was not set"
    pipeline.shutdown()  # flushes spans, metrics and logs to the ingestion endpoint


if __name__ == "__main__":
    main()
