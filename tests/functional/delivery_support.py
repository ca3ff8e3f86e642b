"""Shared setup for tests that deliver to the Marketing Cloud stub over real HTTP.

One set of obviously fake credentials, a stub started with them, a deliverer configuration pointed at
it with fast backoff, planned journey entries, and the idempotency keys the stub accepted.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import httpx

from shared.actions import ActionKind, DeliveryOutcome, PlannedAction
from shared.actions.sfmc import MarketingCloudConfig, MarketingCloudDeliverer
from squall.stub import MarketingCloudStub

STUB_CLIENT_ID = "squall-test-client"
STUB_CLIENT_SECRET = "obviously-fake-secret-squall-tests"
STUB_JOURNEY_KEY = "APIEvent-squall-test"
FAST_BACKOFF: dict[str, float] = {"backoff_base_s": 0.001, "backoff_max_s": 0.01}


class ManualClock:
    """A monotonic clock the test moves by hand (``clock.now += seconds``)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def stub_with_known_credentials(
    *, journey_keys: Iterable[str] | None = (STUB_JOURNEY_KEY,), **options: Any
) -> MarketingCloudStub:
    """A stub (use it as a context manager) that knows the test credentials; ``journey_keys=None`` accepts any key."""
    return MarketingCloudStub(
        event_definition_keys=journey_keys, client_id=STUB_CLIENT_ID, client_secret=STUB_CLIENT_SECRET, **options
    )


def token_request_body(*, client_secret: str = STUB_CLIENT_SECRET) -> dict[str, str]:
    """The client-credentials grant a client posts to the stub's ``/v2/token``."""
    return {"grant_type": "client_credentials", "client_id": STUB_CLIENT_ID, "client_secret": client_secret}


def fetch_token(http: httpx.Client) -> str:
    """A fresh access token from the stub ``http`` talks to, for the test credentials."""
    return http.post("/v2/token", json=token_request_body()).json()["access_token"]


def config_for_stub(stub: MarketingCloudStub, **overrides: Any) -> MarketingCloudConfig:
    """A deliverer configuration pointed at ``stub`` with the test credentials and fast backoff."""
    options: dict[str, Any] = {
        "auth_base_url": stub.auth_base_url,
        "rest_base_url": stub.rest_base_url,
        "client_id": STUB_CLIENT_ID,
        "client_secret": STUB_CLIENT_SECRET,
        **FAST_BACKOFF,
    }
    options.update(overrides)
    return MarketingCloudConfig(**options)


def journey_entry(who: str, *, rule_id: str = "rule-1", **overrides: Any) -> PlannedAction:
    """One journey entry for contact ``who``; ``overrides`` replace any PlannedAction field."""
    fields: dict[str, Any] = {
        "key": f"{rule_id}:v1:event-{who}:journey_entry",
        "kind": ActionKind.JOURNEY_ENTRY,
        "rule_id": rule_id,
        "event_id": f"event-{who}",
        "entity": who,
        "contact_key": who,
        "event_definition_key": STUB_JOURNEY_KEY,
    }
    fields.update(overrides)
    return PlannedAction(**fields)


def journey_entries(count: int, *, prefix: str = "contact", **overrides: Any) -> list[PlannedAction]:
    """``count`` journey entries for distinct contacts ``<prefix>-<n>@contoso.example``, carrying ``{"n": n}``."""
    return [journey_entry(f"{prefix}-{n}@contoso.example", data={"n": n}, **overrides) for n in range(count)]


def with_fields(action: PlannedAction, **changes: Any) -> PlannedAction:
    """A copy of ``action`` with some fields changed."""
    fields = {name: getattr(action, name) for name in PlannedAction.__dataclass_fields__}
    return PlannedAction(**{**fields, **changes})


def deliver_batches(
    config: MarketingCloudConfig, *batches: Sequence[PlannedAction], **deliverer_options: Any
) -> list[list[DeliveryOutcome]]:
    """Deliver each batch in turn through one deliverer opened for the whole run."""

    async def scenario() -> list[list[DeliveryOutcome]]:
        async with MarketingCloudDeliverer(config, **deliverer_options) as deliverer:
            return [await deliverer.deliver(actions) for actions in batches]

    return asyncio.run(scenario())


def deliver_batch(
    config: MarketingCloudConfig, actions: Sequence[PlannedAction], **deliverer_options: Any
) -> list[DeliveryOutcome]:
    """Deliver one batch through a fresh deliverer."""
    [outcomes] = deliver_batches(config, actions, **deliverer_options)
    return outcomes


def accepted_idempotency_keys(stub: MarketingCloudStub) -> Counter[str]:
    """How many times the stub accepted each idempotency key on the journey entry endpoint."""
    return Counter(r["idempotency_key"] for r in stub.received())
