"""Dead letters as blobs (DESIGN §5: payloads can exceed a Cosmos item), for the Azure store.

One JSON blob per letter in the ``deadletter`` container (``DEADLETTER_CONTAINER``): the original
bytes (base64), the reason and the provenance. Names start with the UTC time written, so listing
the container returns the oldest first: ``2024/05/01/120000.123456-0003-1f2e3d4c.json``.
Authentication: ``DefaultAzureCredential`` against ``DEADLETTER__blobServiceUri``.
"""

from __future__ import annotations

import asyncio
import base64
import builtins
import json
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from azure.core.credentials_async import AsyncTokenCredential
from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError
from azure.storage.blob.aio import ContainerClient

from shared.settings import Settings
from shared.store.errors import StoreError, StoreUnavailable
from shared.store.models import DeadLetter

T = TypeVar("T")

_TIMES = ("enqueued_time", "created_at")


def blob_name(letter: DeadLetter, index: int) -> str:
    assert letter.created_at is not None
    stamp = letter.created_at.astimezone(UTC).strftime("%Y/%m/%d/%H%M%S.%f")
    return f"{stamp}-{index:04d}-{uuid.uuid4().hex[:8]}.json"


def encode_letter(letter: DeadLetter) -> bytes:
    record: dict[str, Any] = asdict(letter)
    record["payload"] = base64.b64encode(letter.payload).decode()
    for name in _TIMES:
        record[name] = record[name].isoformat() if record[name] else None
    return json.dumps(record, separators=(",", ":")).encode()


def decode_letter(data: bytes) -> DeadLetter:
    record = json.loads(data)
    record["payload"] = base64.b64decode(record["payload"])
    for name in _TIMES:
        record[name] = datetime.fromisoformat(record[name]) if record[name] else None
    return DeadLetter(**record)


class BlobDeadLetterStore:
    """Writes and lists dead letters in one blob container; close it when done."""

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

    @classmethod
    def from_settings(cls, settings: Settings, *, create_container: bool = False) -> BlobDeadLetterStore:
        if not settings.deadletter_blob_service_uri:
            raise StoreError(
                "Blob dead letters need DEADLETTER__blobServiceUri (https://ACCOUNT.blob.core.windows.net)"
            )
        from azure.identity.aio import DefaultAzureCredential

        credential = DefaultAzureCredential()
        container = ContainerClient(
            settings.deadletter_blob_service_uri, settings.deadletter_container, credential=credential
        )
        return cls(container, create_container=create_container, credential=credential)

    async def write(self, letters: Sequence[DeadLetter]) -> None:
        now = datetime.now(UTC)
        stamped = [letter if letter.created_at else replace(letter, created_at=now) for letter in letters]
        await self._ensure_container()
        await asyncio.gather(*(self._upload(letter, index) for index, letter in enumerate(stamped)))

    async def list(self, *, limit: int = 100) -> builtins.list[DeadLetter]:
        async def read() -> builtins.list[DeadLetter]:
            letters: builtins.list[DeadLetter] = []
            async for blob in self._container.list_blobs():
                if len(letters) == limit:
                    break
                downloaded = await self._container.download_blob(blob.name)
                letters.append(decode_letter(await downloaded.readall()))
            return letters

        return await self._call(read, what="listing dead letters")

    async def close(self) -> None:
        await self._container.close()
        if self._credential is not None:
            await self._credential.close()

    async def _upload(self, letter: DeadLetter, index: int) -> None:
        name = blob_name(letter, index)
        data = encode_letter(letter)

        async def upload() -> None:
            await self._container.upload_blob(name, data, overwrite=False)

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
        """The SDK retries transient failures itself; what is left means the sink is unavailable."""
        try:
            return await request()
        except ResourceNotFoundError as exc:
            raise StoreUnavailable(
                f"{what}: blob container {self._container.container_name!r} not found; deploy infra/ "
                "or check DEADLETTER_CONTAINER"
            ) from exc
        except AzureError as exc:
            raise StoreUnavailable(
                f"{what} failed ({type(exc).__name__}); check DEADLETTER__blobServiceUri"
            ) from exc
