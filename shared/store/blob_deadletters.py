"""Dead letters in Blob storage (DESIGN §5: payloads can exceed a Cosmos item), for the Azure store.

One JSON blob per letter in ``DEADLETTER_CONTAINER``; names, bodies and metadata are described in
``shared/store/blob_deadletter_format.py``. The letter's id is its blob name.

Authentication: ``DefaultAzureCredential`` against ``DEADLETTER__blobServiceUri`` (the managed
identity in Azure). ``DEADLETTER_CONNECTION_STRING`` is for a local emulator (Azurite) only.
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TypeVar
from urllib.parse import urlsplit

from azure.core.credentials_async import AsyncTokenCredential
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    ResourceExistsError,
    ResourceNotFoundError,
)
from azure.storage.blob import BlobProperties
from azure.storage.blob.aio import ContainerClient

from shared.log_fields import entity_hash
from shared.settings import Settings
from shared.store.blob_deadletter_format import (
    ENTITY_HASH,
    blob_name,
    decode_body,
    encode_body,
    encode_metadata,
    listing_order,
    summary_from_metadata,
)
from shared.store.deadletter_archive import DeadLetterSummary
from shared.store.deadletter_entity import letter_holds_entity
from shared.store.errors import StoreError, StoreUnavailable
from shared.store.models import DeadLetter, DeadLetterKind

T = TypeVar("T")

#: Concurrent uploads or downloads per call.
CONCURRENCY = 16
#: Blob hosts of real Azure accounts: a connection string naming one is refused (identity only).
AZURE_STORAGE_SUFFIXES = (
    ".core.windows.net",
    ".core.chinacloudapi.cn",
    ".core.usgovcloudapi.net",
    ".storage.azure.net",
)
_BLOB_NOT_FOUND = "BlobNotFound"


class BlobDeadLetterStore:
    """Writes, lists, reads and deletes dead letters in one blob container; close it when done."""

    def __init__(
        self,
        container: ContainerClient,
        *,
        create_container: bool = False,
        credential: AsyncTokenCredential | None = None,
    ) -> None:
        """``credential``: closed with the store when given (the one ``from_settings`` makes)."""
        self._container = container
        self._create = create_container
        self._created = False
        self._credential = credential
        self._slots = asyncio.Semaphore(CONCURRENCY)

    @classmethod
    def from_settings(cls, settings: Settings, *, create_container: bool = False) -> BlobDeadLetterStore:
        """Identity auth against ``DEADLETTER__blobServiceUri``, or an emulator's connection string."""
        uri = settings.deadletter_blob_service_uri
        emulator = settings.deadletter_connection_string
        if uri and emulator:
            raise StoreError(
                "set DEADLETTER__blobServiceUri (Azure, identity) or DEADLETTER_CONNECTION_STRING "
                "(local emulator), not both"
            )
        if emulator:
            connection_string = emulator.get_secret_value()
            require_emulator(connection_string)
            container = ContainerClient.from_connection_string(connection_string, settings.deadletter_container)
            return cls(container, create_container=True)  # an emulator starts empty; Azure's is Bicep's
        if not uri:
            raise StoreError(
                "Blob dead letters need DEADLETTER__blobServiceUri (https://ACCOUNT.blob.core.windows.net)"
                " or, for Azurite, DEADLETTER_CONNECTION_STRING"
            )
        from azure.identity.aio import DefaultAzureCredential

        credential = DefaultAzureCredential()
        container = ContainerClient(uri, settings.deadletter_container, credential=credential)
        return cls(container, create_container=create_container, credential=credential)

    async def write(self, letters: Sequence[DeadLetter]) -> None:
        now = datetime.now(UTC)
        stamped = [letter if letter.created_at else replace(letter, created_at=now) for letter in letters]
        await self._ensure_container()
        await asyncio.gather(*(self._upload(letter, order) for order, letter in enumerate(stamped)))

    async def list(self, *, limit: int = 100, kind: DeadLetterKind | None = None) -> builtins.list[DeadLetter]:
        summaries = await self.list_summaries(limit=limit, kind=kind)
        found = await asyncio.gather(*(self.get(summary.id) for summary in summaries))
        return [letter for letter in found if letter is not None]  # None: deleted meanwhile

    async def list_summaries(
        self, *, limit: int = 100, kind: DeadLetterKind | None = None
    ) -> builtins.list[DeadLetterSummary]:
        """Oldest first, from blob metadata alone (every blob of the kind is listed, none downloaded)."""
        blobs = await self._call(lambda: self._list_blobs(kind), what="listing dead letters")
        blobs.sort(key=lambda blob: listing_order(blob.metadata or {}, blob.name))
        return [
            summary_from_metadata(blob.name, blob.metadata or {}, last_modified=blob.last_modified)
            for blob in blobs[:limit]
        ]

    async def get(self, letter_id: str) -> DeadLetter | None:
        async def download() -> DeadLetter | None:
            async with self._slots:
                try:
                    downloaded = await self._container.download_blob(letter_id)
                    data = await downloaded.readall()
                except ResourceNotFoundError as exc:
                    if _is_missing_blob(exc):
                        return None
                    raise
            return decode_body(data, name=letter_id)

        return await self._call(download, what=f"reading dead letter {letter_id}")

    async def delete(self, letter_id: str) -> bool:
        async def delete_blob() -> bool:
            try:
                await self._container.delete_blob(letter_id)
            except ResourceNotFoundError as exc:
                if _is_missing_blob(exc):
                    return False
                raise
            return True

        return await self._call(delete_blob, what=f"deleting dead letter {letter_id}")

    async def delete_entity_letters(self, entity: str) -> int:
        """One listing of the container (a request per 5,000 letters, metadata included): a letter
        naming an entity is decided by its ``entity_hash`` metadata alone; one naming none (a refused
        record, a letter older than the metadata) is downloaded and its payload decides."""
        digest = entity_hash(entity)
        await self._ensure_container()
        blobs = await self._call(lambda: self._list_blobs(None), what="listing dead letters")
        named = [blob.name for blob in blobs if (blob.metadata or {}).get(ENTITY_HASH) == digest]
        unnamed = [blob.name for blob in blobs if ENTITY_HASH not in (blob.metadata or {})]
        holding = await asyncio.gather(*(self._holds(name, entity) for name in unnamed))
        doomed = named + [name for name, holds in zip(unnamed, holding, strict=True) if holds]
        deleted = await asyncio.gather(*(self._delete_one(name) for name in doomed))
        return sum(deleted)

    async def _holds(self, letter_id: str, entity: str) -> bool:
        letter = await self.get(letter_id)
        return letter is not None and letter_holds_entity(letter.entity, letter.payload, entity)

    async def _delete_one(self, letter_id: str) -> bool:
        async with self._slots:
            return await self.delete(letter_id)

    async def close(self) -> None:
        await self._container.close()
        if self._credential is not None:
            await self._credential.close()

    async def _list_blobs(self, kind: DeadLetterKind | None) -> builtins.list[BlobProperties]:
        prefix = f"{kind}/" if kind else None
        return [blob async for blob in self._container.list_blobs(name_starts_with=prefix, include=["metadata"])]

    async def _upload(self, letter: DeadLetter, order: int) -> None:
        name = blob_name(letter)
        body = encode_body(letter)
        metadata = encode_metadata(letter, write_order=order)

        async def upload() -> None:
            async with self._slots:
                await self._container.upload_blob(
                    name, body, overwrite=False, metadata=metadata, content_type="application/json"
                )

        await self._call(upload, what=f"writing dead letter {name}")

    async def _ensure_container(self) -> None:
        if not self._create or self._created:
            return

        async def create() -> None:
            try:
                await self._container.create_container()
            except ResourceExistsError:
                return

        await self._call(create, what="creating the dead-letter container")
        self._created = True

    async def _call(self, request: Callable[[], Awaitable[T]], *, what: str) -> T:
        """The SDK retries transient failures itself; what is left means the store is unavailable."""
        try:
            return await request()
        except ResourceNotFoundError as exc:
            raise StoreUnavailable(
                f"{what}: blob container {self._container.container_name!r} not found; deploy infra/ "
                "or check DEADLETTER_CONTAINER"
            ) from exc
        except ClientAuthenticationError as exc:
            raise StoreUnavailable(
                f"{what}: not authorized ({type(exc).__name__}); give the identity 'Storage Blob Data "
                "Owner' on the account of DEADLETTER__blobServiceUri"
            ) from exc
        except AzureError as exc:
            raise StoreUnavailable(
                f"{what} failed ({type(exc).__name__}); check DEADLETTER__blobServiceUri "
                "(or DEADLETTER_CONNECTION_STRING for an emulator)"
            ) from exc


def _is_missing_blob(error: ResourceNotFoundError) -> bool:
    """The blob is gone (the container is there); the storage SDK sets ``error_code``."""
    return getattr(error, "error_code", None) == _BLOB_NOT_FOUND


def require_emulator(connection_string: str) -> None:
    """Refuse a connection string for a real Azure account: in Azure, identity is the only way in."""
    parts = dict(
        (key.strip().lower(), value.strip())
        for key, _, value in (part.partition("=") for part in connection_string.split(";"))
        if key.strip()
    )
    if parts.get("usedevelopmentstorage", "").lower() == "true":
        return
    host = (urlsplit(parts.get("blobendpoint", "")).hostname or "").lower()
    if not host or host.endswith(AZURE_STORAGE_SUFFIXES):
        raise StoreError(
            "DEADLETTER_CONNECTION_STRING is for a local emulator only (UseDevelopmentStorage=true or "
            "a BlobEndpoint on your machine); for an Azure account set DEADLETTER__blobServiceUri"
        )
