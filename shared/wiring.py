"""Composition root: build the pipeline's dependencies from settings.

The only module of ``shared`` that names adapters; the core depends on ports alone.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass

from shared.actions.ports import ActionSender
from shared.actions.routing import open_action_sender
from shared.events import NormalizeOptions
from shared.pipeline import PipelineDeps
from shared.rules import RuleSetCache
from shared.settings import Settings
from shared.store import open_store


class ConfigurationError(ValueError):
    """A setting is missing or malformed; the message names the setting to fix."""


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


async def open_pipeline(settings: Settings, *, sender: ActionSender | None = None) -> OpenPipeline:
    """Open the store, the rule cache and the deliverer named by ``settings``.

    ``sender`` replaces the deliverers (Marketing Cloud and the configured webhooks) for tests.
    """
    stack = AsyncExitStack()
    try:
        store = await open_store(settings.store, settings)
        stack.push_async_callback(store.close)
        if sender is None:
            sender = await stack.enter_async_context(open_action_sender(settings))
        deps = PipelineDeps(
            rules=RuleSetCache(store.rules, settings.ruleset),
            states=store.states,
            dedupe=store.dedupe,
            deadletters=store.deadletters,
            sender=sender,
            normalize_options=normalize_options_from(settings),
            dedupe_ttl_s=settings.dedupe_ttl_s,
        )
    except BaseException:
        await stack.aclose()
        raise
    return OpenPipeline(deps=deps, exit_stack=stack)
