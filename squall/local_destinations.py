"""Every destination of a local run, on this machine: what ``squall demo`` / ``squall run`` deliver to.

Against the local stub, each kind reaches a local receiver over real HTTP: journey entries and rows
the stub's Marketing Cloud endpoints, every webhook name the rules use the stub's webhook receiver
(signed with a throwaway secret, verified there), and every EventBridge name the rules use moto's
EventBridge (``LocalEventBridge``) when it is on. When it is off (moto not installed, or
``--no-eventbridge``) the rules that put events on a bus are left out of the run, and said so.
Retries are quick, as the local receivers answer in microseconds.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

from shared.actions.ports import ActionSender
from shared.actions.routing import ActionRouter
from shared.actions.sfmc import MarketingCloudConfig, MarketingCloudDeliverer
from shared.actions.webhook import WebhookDeliverer, webhooks_from_settings
from shared.rules import RuleDefinition
from shared.settings import Settings
from squall.eventbridge_local import FaultyEventsClient, LocalEventBridge
from squall.stub import FaultRates, MarketingCloudStub

#: Delivery tuning against the in-process receivers (Azure uses each destination's defaults).
LOCAL_STUB_DELIVERY = {"backoff_base_s": 0.02, "backoff_max_s": 2.0, "max_concurrency": 32}
_LOCAL_RETRIES = {"backoff_base_s": 0.02, "backoff_max_s": 2.0, "max_attempts": 8}


@dataclass(frozen=True, slots=True)
class MarketingCloudUrls:
    """A real Marketing Cloud (or a stub) instead of the local one: the tenant's auth base, where
    tokens come from, and its REST base, where journeys and rows go — two hosts on a real tenant
    (``https://SUBDOMAIN.auth.marketingcloudapis.com``, ``https://SUBDOMAIN.rest...``); a stub
    serves both on one URL. Credentials come from the SFMC_* settings."""

    auth_base_url: str
    rest_base_url: str

    @classmethod
    def of(cls, target: MarketingCloudUrls | str) -> MarketingCloudUrls:
        """``target`` itself, or one URL (``--sfmc-url``) serving both."""
        return target if isinstance(target, MarketingCloudUrls) else cls(target, target)

    def as_settings(self) -> dict[str, str]:
        return {"SFMC_AUTH_BASE_URL": self.auth_base_url, "SFMC_REST_BASE_URL": self.rest_base_url}


def destinations_used(rules: Iterable[RuleDefinition], kind: str) -> list[str]:
    """The destination names the rules' actions of ``kind`` use, sorted."""
    return sorted({action.destination for rule in rules for action in rule.actions() if action.kind == kind})


def without_kind(rules: list[dict[str, Any]], definitions: list[RuleDefinition], kind: str) -> list[str]:
    """Drop (in place) the raw rules with an action of ``kind``; the ids dropped."""
    dropped = {rule.id for rule in definitions if any(action.kind == kind for action in rule.actions())}
    rules[:] = [rule for rule in rules if rule.get("id") not in dropped]
    return sorted(dropped)


def local_destination_settings(
    stub: MarketingCloudStub, webhooks: list[str], bus: LocalEventBridge | None, buses: list[str]
) -> dict[str, str]:
    """``SQUALL_WEBHOOKS`` / ``SQUALL_WEBHOOK_SECRETS`` / ``SQUALL_EVENTBRIDGE`` for the local receivers."""
    values: dict[str, str] = {}
    if webhooks:
        specs = {name: {"url": stub.webhook_url(name), "allow_private": True, **_LOCAL_RETRIES} for name in webhooks}
        values["SQUALL_WEBHOOKS"] = json.dumps(specs)
        values["SQUALL_WEBHOOK_SECRETS"] = json.dumps({name: stub.webhook_secret for name in webhooks})
    if bus is not None and buses:
        values["SQUALL_EVENTBRIDGE"] = json.dumps(
            {name: {**bus.destination_spec(), **_LOCAL_RETRIES} for name in buses}
        )
    return values


async def open_local_sender(
    settings: Settings, stack: AsyncExitStack, *, faults: FaultRates | None = None, seed: int | None = None
) -> ActionSender:
    """The router over the local receivers: Marketing Cloud with quick retries, webhooks, EventBridge
    (with ``faults``, its calls fail at the stub's rates: ``FaultyEventsClient``)."""
    config = MarketingCloudConfig.from_settings(settings).model_copy(update=LOCAL_STUB_DELIVERY)
    senders: dict[str, ActionSender] = {"sfmc": await stack.enter_async_context(MarketingCloudDeliverer(config))}
    webhooks = webhooks_from_settings(settings)
    if webhooks:
        webhook_sender = await stack.enter_async_context(WebhookDeliverer(webhooks))
        senders.update({name: webhook_sender for name in webhooks})
    if settings.eventbridge:
        from shared.actions.eventbridge import EventBridgeDestination, eventbridge_from_settings
        from shared.actions.eventbridge.deliverer import EventBridgeDeliverer, EventsClient, boto3_client

        buses = eventbridge_from_settings(settings)
        factory = boto3_client
        if faults is not None and (faults.error_rate or faults.throttle_rate):
            rates = faults

            def factory(destination: EventBridgeDestination) -> EventsClient:
                return FaultyEventsClient(boto3_client(destination), rates, seed=seed)

        bus_sender = await stack.enter_async_context(EventBridgeDeliverer(buses, client_factory=factory))
        senders.update({name: bus_sender for name in buses})
    return ActionRouter(senders)


@dataclass(slots=True)
class Receipts:
    """What each local receiver got: by action kind, and repeats of an idempotency key."""

    by_kind: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0

    @property
    def total(self) -> int:
        return sum(self.by_kind.values())


def count_receipts(stub: MarketingCloudStub, bus: LocalEventBridge | None) -> Receipts:
    receipts = Receipts(
        by_kind={
            "journey_entry": len(stub.received()) + len(stub.received_async()),
            "data_extension_row": len(stub.received_rows()),
            "webhook": len(stub.received_webhooks()),
        },
        duplicates=stub.duplicates(),
    )
    if bus is not None:
        receipts.by_kind["eventbridge"] = len(bus.received())
        receipts.duplicates += bus.duplicates()
    return receipts
