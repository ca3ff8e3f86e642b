"""Cosmos DB adapter: rule sets, entity state, the outbox, and de-duplication keys (DESIGN §5).

``CosmosStore`` bundles the three Cosmos-backed ports around one async ``CosmosClient`` (pass your
own, or build it from settings). Dead letters are not Cosmos data (payloads can exceed an item), so
the caller hands in the dead-letter store to use beside it.

Authentication: ``DefaultAzureCredential`` against ``COSMOS_ENDPOINT`` (the Function App's
managed identity in Azure; set ``AZURE_CLIENT_ID`` for a user-assigned one). ``COSMOS_KEY`` only
for a local emulator, whose self-signed certificate is then accepted on localhost.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlparse

from azure.core.credentials_async import AsyncTokenCredential
from azure.cosmos.aio import CosmosClient

from shared.settings import Settings
from shared.store.cosmos_calls import CosmosCalls, CosmosRetry
from shared.store.cosmos_containers import ContainerNames, CosmosContainers
from shared.store.cosmos_dedupe import CosmosDedupeStore
from shared.store.cosmos_outbox import CosmosOutbox
from shared.store.cosmos_rules import CosmosRuleStore
from shared.store.cosmos_state import CosmosStateStore
from shared.store.errors import StoreError
from shared.store.ports import DeadLetterStore

_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


class Closable(Protocol):
    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class CosmosOptions:
    """Where Squall's data lives in the account, and how hard to push it."""

    database: str = "squall"
    containers: ContainerNames = ContainerNames()
    create_containers: bool = False
    retry: CosmosRetry = CosmosRetry()
    concurrency: int = 32  # parallel requests per port (point reads, per-entity batches, upserts)
    tombstone_ttl_s: int = 24 * 3600  # how long a settled outbox document keeps its keys

    @classmethod
    def from_settings(cls, settings: Settings) -> CosmosOptions:
        return cls(
            database=settings.cosmos_database,
            containers=ContainerNames(
                rules=settings.cosmos_rules_container,
                state=settings.cosmos_state_container,
                dedupe=settings.cosmos_dedupe_container,
                outbox=settings.cosmos_outbox_container,
            ),
            tombstone_ttl_s=settings.outbox_tombstone_ttl_s,
            create_containers=settings.cosmos_create_containers,
        )


class CosmosStore:
    """Rules, states and dedupe in Cosmos DB; ``deadletters`` as given. Close it when done."""

    def __init__(
        self,
        client: CosmosClient,
        *,
        endpoint: str,
        deadletters: DeadLetterStore,
        options: CosmosOptions | None = None,
        credential: AsyncTokenCredential | None = None,
        closing: Sequence[Closable] = (),
    ) -> None:
        """``closing``: what else to close with the store (e.g. the owner of ``deadletters``)."""
        options = options or CosmosOptions()
        calls = CosmosCalls(endpoint=endpoint, retry=options.retry)
        containers = CosmosContainers(
            client,
            calls,
            database=options.database,
            names=options.containers,
            create=options.create_containers,
        )
        self._client = client
        self._credential = credential
        self._closing = list(closing)
        self.rules = CosmosRuleStore(containers, calls)
        outbox = CosmosOutbox(
            containers, calls, tombstone_ttl_s=options.tombstone_ttl_s, concurrency=options.concurrency
        )
        self.states = CosmosStateStore(containers, calls, outbox=outbox, concurrency=options.concurrency)
        self.dedupe = CosmosDedupeStore(containers, calls, concurrency=options.concurrency)
        self.deadletters = deadletters

    @classmethod
    def from_settings(
        cls, settings: Settings, *, deadletters: DeadLetterStore, closing: Sequence[Closable] = ()
    ) -> CosmosStore:
        endpoint = _account_uri(settings.cosmos_endpoint)
        credential: AsyncTokenCredential | None = None
        if settings.cosmos_key is not None:  # a local emulator: accept its self-signed certificate
            emulator = urlparse(endpoint).hostname in _LOCAL_HOSTS
            key = _account_key(settings.cosmos_key.get_secret_value())
            client = CosmosClient(endpoint, credential=key, connection_verify=not emulator)
        else:
            from azure.identity.aio import DefaultAzureCredential  # only Azure needs azure-identity

            credential = DefaultAzureCredential()
            client = CosmosClient(endpoint, credential=credential)
        return cls(
            client,
            endpoint=endpoint,
            deadletters=deadletters,
            options=CosmosOptions.from_settings(settings),
            credential=credential,
            closing=closing,
        )

    async def close(self) -> None:
        await self._client.close()
        if self._credential is not None:
            await self._credential.close()
        for resource in self._closing:
            await resource.close()


def _account_uri(endpoint: str | None) -> str:
    """COSMOS_ENDPOINT, checked here so a typo is one line naming the setting, not an SDK traceback."""
    if not endpoint:
        raise StoreError("SQUALL_STORE=cosmos needs COSMOS_ENDPOINT (the account URI, https://NAME.documents.azure.com)")
    parts = urlparse(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise StoreError(f"COSMOS_ENDPOINT={endpoint!r} is not an account URI: use https://NAME.documents.azure.com")
    return endpoint


def _account_key(key: str) -> str:
    """COSMOS_KEY (emulators only): the SDK signs with its base64 bytes, so check they decode."""
    try:
        base64.b64decode(key, validate=True)
    except binascii.Error:
        raise StoreError("COSMOS_KEY is not a base64 account key (the emulator's key, as it prints it)") from None
    return key
