"""Composition root: build the store, the action sender and the pipeline's dependencies from settings.

The only module of ``shared`` that chooses adapters (the memory, SQLite and Cosmos stores, Blob dead
letters, the Marketing Cloud and webhook deliverers, the delivery metrics around them); the core
depends on ports alone, and package ``__init__``s export the core only.
"""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

from shared.actions.ports import ActionSender
from shared.actions.routing import open_action_sender
from shared.events import NormalizeOptions
from shared.pipeline import EventTimePolicy, PipelineDeps
from shared.pipeline.audit import DeliveryAudit
from shared.rules import RuleSetCache
from shared.settings import Settings
from shared.store.errors import StoreError
from shared.store.memory import MemoryStore
from shared.store.ports import Store
from shared.telemetry.measured_sender import MeasuredSender

log = logging.getLogger(__name__)

LOCAL_DEADLETTERS = Path(".squall/deadletters.db")

__all__ = [
    "LOCAL_DEADLETTERS",
    "ConfigurationError",
    "OpenPipeline",
    "normalize_options_from",
    "open_action_sender",
    "open_pipeline",
    "open_store",
]


class ConfigurationError(ValueError):
    """A setting is missing or malformed; the message names the setting to fix."""


async def open_store(spec: str, settings: Settings) -> Store:
    """The store named by ``spec`` (``SQUALL_STORE``): ``memory``, ``sqlite:PATH`` or ``cosmos``."""
    kind, _, argument = spec.partition(":")
    if kind == "memory" and not argument:
        return MemoryStore()
    if kind == "sqlite" and argument:
        from shared.store.sqlite import SqliteStore

        return SqliteStore(argument, tombstone_ttl_s=settings.outbox_tombstone_ttl_s)
    if kind == "cosmos" and not argument:
        return _open_cosmos(settings)
    raise StoreError(f"SQUALL_STORE={spec!r} is not a store: use memory, sqlite:PATH or cosmos")


def _open_cosmos(settings: Settings) -> Store:
    """Cosmos DB for rules, state and dedupe; dead letters in Blob storage when configured."""
    from shared.store.cosmos import CosmosStore

    if settings.deadletter_blob_service_uri or settings.deadletter_connection_string:
        from shared.store.blob_deadletters import BlobDeadLetterStore

        blob = BlobDeadLetterStore.from_settings(settings)
        return CosmosStore.from_settings(settings, deadletters=blob, closing=[blob])
    from shared.store.sqlite import SqliteStore

    log.info("dead letters go to %s (DEADLETTER__blobServiceUri is unset)", LOCAL_DEADLETTERS)
    local = SqliteStore(LOCAL_DEADLETTERS)
    return CosmosStore.from_settings(settings, deadletters=local.deadletters, closing=[local])


@dataclass(slots=True)
class OpenPipeline:
    """Pipeline dependencies plus what must be closed when the host shuts down."""

    deps: PipelineDeps
    exit_stack: AsyncExitStack

    async def aclose(self) -> None:
        await self.exit_stack.aclose()


def normalize_options_from(settings: Settings) -> NormalizeOptions:
    try:
        return NormalizeOptions.from_settings(settings)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from exc


async def open_pipeline(
    settings: Settings, *, sender: ActionSender | None = None, store: Store | None = None
) -> OpenPipeline:
    """Open the store, the rule cache and the deliverer named by ``settings``.

    ``sender`` replaces the deliverers (Marketing Cloud and the configured webhooks) for tests.
    Either way the sender is wrapped in ``MeasuredSender``, so delivery metrics are recorded.
    ``store`` is an already open store to build on; its owner closes it (the pipeline does not).
    """
    stack = AsyncExitStack()
    try:
        if store is None:
            store = await open_store(settings.store, settings)
            stack.push_async_callback(store.close)
        if sender is None:
            sender = await stack.enter_async_context(open_action_sender(settings))
        deps = PipelineDeps(
            rules=RuleSetCache(store.rules, settings.ruleset),
            states=store.states,
            dedupe=store.dedupe,
            deadletters=store.deadletters,
            sender=sender if isinstance(sender, MeasuredSender) else MeasuredSender(sender),
            normalize_options=normalize_options_from(settings),
            dedupe_ttl_s=settings.dedupe_ttl_s,
            event_time=EventTimePolicy(max_skew=settings.max_clock_skew, max_age=settings.max_event_age),
            audit=DeliveryAudit(settings.audit_entity),
        )
    except BaseException:
        await stack.aclose()
        raise
    return OpenPipeline(deps=deps, exit_stack=stack)
