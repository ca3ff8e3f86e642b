"""The outbox relay as its own process, for ``squall bench --store cosmos``'s ingest measure.

On Flex Consumption the change-feed function scales on instances of its own, apart from the Event
Hubs function; this process stands in for them: it opens the pipeline from the environment's
settings and delivers whatever the outbox holds, until its stdin closes.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta

from shared.pipeline import BatchRetryRequired, retry_pending_outbox
from shared.settings import get_settings
from shared.wiring import open_pipeline


async def relay_until_stdin_closes() -> None:
    pipeline = await open_pipeline(get_settings())
    stop = asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    try:
        while not stop.done():
            try:
                report = await retry_pending_outbox(pipeline.deps, now=datetime.now(UTC), grace=timedelta(0))
            except BatchRetryRequired:
                report = None
            if report is None or not report.actions_recovered:
                await asyncio.sleep(0.05)
    finally:
        await pipeline.aclose()


if __name__ == "__main__":
    asyncio.run(relay_until_stdin_closes())
