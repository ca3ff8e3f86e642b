"""The worker's one store and one pipeline, shared by every blueprint.

A Functions worker process serves all of the app's functions; each blueprint imports this module
(never another blueprint), so the Event Hubs trigger, the timer and the rules API use the same
store connection and the same rule-set cache. The store opens on first use; the pipeline (rules
cache, deliverers, telemetry) opens on first use on top of that store, so the rules API works even
when a destination setting is wrong. ``close_dependencies`` closes both (tests, host shutdown).
"""

from __future__ import annotations

import asyncio

from shared.settings import get_settings
from shared.store import Store
from shared.telemetry import configure_telemetry
from shared.wiring import OpenPipeline, open_pipeline, open_store

_store: Store | None = None
_pipeline: OpenPipeline | None = None
_lock = asyncio.Lock()


async def get_store() -> Store:
    """The worker's store, opened from SQUALL_STORE on first use and reused after."""
    async with _lock:
        return await _open_store()


async def get_pipeline() -> OpenPipeline:
    """The worker's pipeline on the worker's store, opened on first use and reused after."""
    global _pipeline
    async with _lock:
        if _pipeline is None:
            settings = get_settings()
            configure_telemetry(settings)
            _pipeline = await open_pipeline(settings, store=await _open_store())
        return _pipeline


async def _open_store() -> Store:
    global _store
    if _store is None:
        settings = get_settings()
        _store = await open_store(settings.store, settings)
    return _store


async def close_dependencies() -> None:
    """Close the pipeline, then the store (tests, or a host shutting down)."""
    global _store, _pipeline
    async with _lock:
        pipeline, store = _pipeline, _store
        _pipeline = _store = None
        if pipeline is not None:
            await pipeline.aclose()
        if store is not None:
            await store.close()
