"""The Event Hubs producer: built from a namespace + DefaultAzureCredential or from a connection string.

The connection string is only ever read from an environment variable and never appears in a message.
SDK errors become ``SendConfigError`` (fix the command) or ``SendFailed`` (the service said no).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import AzureError
from azure.core.utils import parse_connection_string
from azure.eventhub import EventHubProducerClient
from azure.eventhub.exceptions import EventHubError

from squall.send.errors import SendConfigError, SendFailed
from squall.send.packing import BatchFactory

DEFAULT_CONNECTION_STRING_ENV = "EVENTHUB_CONNECTION_STRING"
USER_AGENT = "squall-send"


@dataclass(frozen=True, slots=True)
class HubTarget:
    """Which hub to send to and how to authenticate (exactly one of namespace / connection string)."""

    hub: str | None
    namespace: str | None = None
    connection_string_env: str | None = None


def open_producer(target: HubTarget, *, environ: Mapping[str, str] = os.environ) -> EventHubProducerClient:
    """A producer for ``target``; no network traffic happens until the first batch is made."""
    if target.namespace:
        if not target.hub:
            raise SendConfigError("--hub is required with --namespace (or set EVENTHUB_NAME)")
        from azure.identity import DefaultAzureCredential

        return EventHubProducerClient(
            fully_qualified_namespace=target.namespace,
            eventhub_name=target.hub,
            credential=DefaultAzureCredential(),
            user_agent=USER_AGENT,
        )
    env_var = target.connection_string_env or DEFAULT_CONNECTION_STRING_ENV
    connection_string = read_connection_string(env_var, environ=environ)
    try:
        return EventHubProducerClient.from_connection_string(
            connection_string, eventhub_name=target.hub, user_agent=USER_AGENT
        )
    except ValueError as exc:
        raise SendConfigError(f"bad connection string in ${env_var}: {exc}") from None


def read_connection_string(env_var: str, *, environ: Mapping[str, str] = os.environ) -> str:
    """The connection string from ``env_var``, checked for shape (Endpoint=sb://...; a key or SAS)."""
    value = environ.get(env_var, "").strip()
    if not value:
        raise SendConfigError(
            f"${env_var} is not set: export the Event Hubs connection string there, or use --namespace"
        )
    try:
        fields = parse_connection_string(value, case_sensitive_keys=False)
    except ValueError as exc:
        raise SendConfigError(f"bad connection string in ${env_var}: {exc}") from None
    endpoint = fields.get("endpoint", "")
    if not endpoint.startswith("sb://"):
        raise SendConfigError(f"bad connection string in ${env_var}: Endpoint must look like sb://NAMESPACE/")
    if "sharedaccesskey" not in fields and "sharedaccesssignature" not in fields:
        raise SendConfigError(
            f"bad connection string in ${env_var}: needs SharedAccessKeyName+SharedAccessKey or SharedAccessSignature"
        )
    return value


def producer_batch_factory(producer: EventHubProducerClient, *, max_batch_bytes: int | None) -> BatchFactory:
    """``producer.create_batch`` for one partition key; too large a ``max_batch_bytes`` is a config error."""

    def new_batch(partition_key: str) -> Any:
        try:
            return producer.create_batch(partition_key=partition_key, max_size_in_bytes=max_batch_bytes)
        except ValueError as exc:
            raise SendConfigError(f"--max-batch-bytes: {exc}") from None

    return new_batch


@contextmanager
def translated_send_errors(progress_sent: list[int]):  # type: ignore[no-untyped-def]
    """Turn SDK failures into ``SendFailed`` with the events sent so far (``progress_sent[0]``)."""
    try:
        yield
    except (EventHubError, AzureError) as exc:
        first_line = (str(exc).strip().splitlines() or [""])[0]
        message = f"sending to Event Hubs failed: {type(exc).__name__}: {first_line}"
        raise SendFailed(message, events_sent=progress_sent[0]) from None
