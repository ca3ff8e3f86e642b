"""One ActionSender for the pipeline: routes each action by ``action.destination``.

``"sfmc"`` goes to the Marketing Cloud deliverer, a configured webhook name to the webhook
deliverer, a configured EventBridge name to the EventBridge deliverer; any other name fails
(UNSUPPORTED, no request). Senders serving several destinations
get their actions in one ``deliver()`` call. If any sender raises ``DestinationUnavailable``, the
router raises one for the whole batch, carrying every outcome of every sender (in action order).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager

from shared.actions.errors import DestinationUnavailable, EventBridgeConfigError, MarketingCloudConfigError
from shared.actions.eventbridge.config import eventbridge_from_settings
from shared.actions.models import DeliveryOutcome, FailureKind, PlannedAction
from shared.actions.outcomes import failed
from shared.actions.ports import ActionSender, SendingCallback, SettledCallback
from shared.actions.sfmc.config import MarketingCloudConfig
from shared.actions.sfmc.deliverer import SFMC_DESTINATION, MarketingCloudDeliverer
from shared.actions.webhook.config import webhooks_from_settings
from shared.actions.webhook.deliverer import WebhookDeliverer
from shared.settings import Settings

logger = logging.getLogger("shared.actions")  # one logger for every destination: filter and alert on one name


class ActionRouter:
    """``ActionRouter({"sfmc": sfmc, "crm": webhooks, "erp": webhooks})`` — itself an ActionSender."""

    def __init__(self, senders: Mapping[str, ActionSender]) -> None:
        self._senders = dict(senders)

    @property
    def destinations(self) -> frozenset[str]:
        return frozenset(self._senders)

    async def deliver(
        self,
        actions: Sequence[PlannedAction],
        *,
        on_sending: SendingCallback | None = None,
        on_settled: SettledCallback | None = None,
    ) -> list[DeliveryOutcome]:
        outcomes: list[DeliveryOutcome | None] = [None] * len(actions)
        groups: dict[int, tuple[ActionSender, list[int]]] = {}
        for index, action in enumerate(actions):
            sender = self._senders.get(action.destination)
            if sender is None:
                reason = (
                    f"no destination named {action.destination!r} is configured "
                    "(SQUALL_WEBHOOKS, SQUALL_EVENTBRIDGE, SFMC_*)"
                )
                outcomes[index] = failed(action, FailureKind.UNSUPPORTED, reason, attempts=0, what="action")
                continue
            groups.setdefault(id(sender), (sender, []))[1].append(index)
        batches = list(groups.values())
        results = await asyncio.gather(
            *(
                sender.deliver([actions[i] for i in indexes], on_sending=on_sending, on_settled=on_settled)
                for sender, indexes in batches
            ),
            return_exceptions=True,
        )
        down: list[DestinationUnavailable] = []
        for (_, indexes), result in zip(batches, results, strict=True):
            if isinstance(result, DestinationUnavailable):
                down.append(result)
                result = result.outcomes
            elif isinstance(result, BaseException):
                raise result
            for index, outcome in zip(indexes, result, strict=True):
                outcomes[index] = outcome
        settled = [outcome for outcome in outcomes if outcome is not None]
        if down:
            raise _merged(down, settled)
        return settled


def _merged(down: list[DestinationUnavailable], outcomes: list[DeliveryOutcome]) -> DestinationUnavailable:
    hints = [exc.retry_after for exc in down if exc.retry_after is not None]
    message = "; ".join(str(exc) for exc in down)
    return DestinationUnavailable(
        message, destination=down[0].destination, retry_after=max(hints) if hints else None, outcomes=outcomes
    )


@asynccontextmanager
async def open_action_sender(settings: Settings) -> AsyncIterator[ActionRouter]:
    """The pipeline's one ActionSender, built from settings; closes what it opened.

    Marketing Cloud is required unless webhooks or EventBridge buses are configured (then actions for
    ``sfmc`` fail with the configuration message). A configuration problem raises at once, naming the
    setting; so does a name used by two kinds of destination.
    """
    webhooks = webhooks_from_settings(settings)
    buses = eventbridge_from_settings(settings)
    if shared := sorted(set(webhooks) & set(buses)):
        raise EventBridgeConfigError(f"SQUALL_WEBHOOKS and SQUALL_EVENTBRIDGE both name {', '.join(shared)}")
    async with AsyncExitStack() as stack:
        senders: dict[str, ActionSender] = {}
        try:
            sfmc_config = MarketingCloudConfig.from_settings(settings)
        except MarketingCloudConfigError:
            if not webhooks and not buses:
                raise
            logger.warning("Marketing Cloud is not configured: only webhooks and EventBridge will be delivered")
        else:
            senders[SFMC_DESTINATION] = await stack.enter_async_context(MarketingCloudDeliverer(sfmc_config))
        if webhooks:
            webhook_sender = await stack.enter_async_context(WebhookDeliverer(webhooks))
            senders.update({name: webhook_sender for name in webhooks})
        if buses:
            from shared.actions.eventbridge.deliverer import EventBridgeDeliverer  # boto3 only when needed

            bus_sender = await stack.enter_async_context(EventBridgeDeliverer(buses))
            senders.update({name: bus_sender for name in buses})
        yield ActionRouter(senders)
