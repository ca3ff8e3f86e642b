"""Where captured history is read from: a local folder (``--capture PATH``) or a blob container
(``--blob``), both walked for files in the Capture layout and read in time order.

Blob storage: ``--blob https://ACCOUNT.blob.core.windows.net/CONTAINER`` authenticates with
``DefaultAzureCredential`` (the developer's ``az login``, a managed identity: *Storage Blob Data
Reader* is enough); ``--blob CONTAINER`` names a container of the dead-letter account —
``DEADLETTER__blobServiceUri`` (identity, the deployed account that also holds ``capture``) or
``DEADLETTER_CONNECTION_STRING`` (a local emulator such as Azurite only, as for dead letters).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import IO, TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from azure.core.exceptions import AzureError

from shared.events.models import RawEvent
from shared.settings import Settings
from shared.store.errors import StoreError
from squall.backfill.capture import CaptureFile, TimeWindow, parse_capture_name, read_capture_records

if TYPE_CHECKING:  # the Blob SDK loads only for --blob: every other command starts faster without it
    from azure.storage.blob import ContainerClient

__all__ = ["BlobCapture", "CaptureSource", "CaptureSourceError", "LocalCapture", "captured_events", "open_blob_capture"]


class CaptureSourceError(RuntimeError):
    """The captured history cannot be read: the message says what to fix."""


class CaptureSource(Protocol):
    """A place holding capture files."""

    def names(self) -> Iterator[str]: ...

    def open(self, name: str) -> IO[bytes]: ...


@dataclass(frozen=True, slots=True)
class LocalCapture:
    """A folder holding the Capture layout anywhere below it (e.g. a downloaded container)."""

    root: Path

    def names(self) -> Iterator[str]:
        if not self.root.is_dir():
            raise CaptureSourceError(f"--capture {self.root}: no such folder")
        for path in self.root.rglob("*.avro"):
            yield path.as_posix()

    def open(self, name: str) -> IO[bytes]:
        return Path(name).open("rb")


class BlobCapture:
    """A blob container Capture writes to; ``close()`` when done."""

    def __init__(self, container: ContainerClient, *, credential: object | None = None) -> None:
        self._container = container
        self._credential = credential

    def names(self) -> Iterator[str]:
        try:
            for blob in self._container.list_blobs():
                if blob.name.endswith(".avro"):
                    yield blob.name
        except AzureError as exc:
            raise CaptureSourceError(_blob_failure(self._container, "listing", exc)) from None

    def open(self, name: str) -> IO[bytes]:
        try:
            return BytesIO(self._container.download_blob(name).readall())
        except AzureError as exc:
            raise CaptureSourceError(_blob_failure(self._container, f"reading {name}", exc)) from None

    def close(self) -> None:
        self._container.close()
        close = getattr(self._credential, "close", None)
        if callable(close):
            close()


def open_blob_capture(spec: str, settings: Settings) -> BlobCapture:
    """``spec``: a container URL (identity) or a container name in the dead-letter account."""
    from azure.storage.blob import ContainerClient

    from shared.store.blob_deadletters import require_emulator

    if spec.startswith(("https://", "http://")):
        parts = urlsplit(spec)
        container = parts.path.strip("/")
        if not container or "/" in container:
            raise CaptureSourceError(f"--blob {spec}: expected https://ACCOUNT.blob.core.windows.net/CONTAINER")
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()
        account_url = f"{parts.scheme}://{parts.netloc}"
        return BlobCapture(ContainerClient(account_url, container, credential=credential), credential=credential)
    if settings.deadletter_connection_string is not None:
        connection_string = settings.deadletter_connection_string.get_secret_value()
        try:
            require_emulator(connection_string)
        except StoreError as exc:  # a real account's key is refused: identity only
            raise CaptureSourceError(str(exc)) from None
        return BlobCapture(ContainerClient.from_connection_string(connection_string, spec))
    if settings.deadletter_blob_service_uri:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()
        client = ContainerClient(settings.deadletter_blob_service_uri, spec, credential=credential)
        return BlobCapture(client, credential=credential)
    raise CaptureSourceError(
        f"--blob {spec}: give a container URL (https://ACCOUNT.blob.core.windows.net/{spec}) or set "
        "DEADLETTER__blobServiceUri (or, for Azurite, DEADLETTER_CONNECTION_STRING)"
    )


def captured_events(
    source: CaptureSource, window: TimeWindow, *, files: list[CaptureFile] | None = None
) -> Iterator[RawEvent]:
    """Every captured event enqueued in ``window``: files in the order their windows opened (partitions
    interleaved, as the hub delivered them), each file's records in sequence order. ``files`` (when
    given) collects the files read."""
    chosen = [capture for name in source.names() if (capture := parse_capture_name(name)) and window.may_hold(capture)]
    chosen.sort(key=lambda capture: (capture.opened, capture.stream, int(capture.partition)))
    for capture in chosen:
        if files is not None:
            files.append(capture)
        with source.open(capture.name) as stream:
            yield from read_capture_records(stream, capture, window)


def _blob_failure(container: ContainerClient, what: str, exc: AzureError) -> str:
    reason = getattr(exc, "reason", None) or type(exc).__name__
    return (
        f"{what} container {container.container_name!r} failed: {reason} — check the name, and that your "
        "identity has Storage Blob Data Reader on the account"
    )
