"""The Event Hubs producer: built from a namespace + DefaultAzureCredential or from a connection string.

The connection string is only ever read from an environment variable and never appears in a message.
SDK errors become ``SendConfigError`` (fix the command) or ``SendFailed`` (the service said no).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from azure.core.exceptions import AzureError
from azure.core.utils import parse_connection_string
from azure.eventhub import EventHubProducerClient
from azure.eventhub.exceptions import EventHubError

from squall.send.errors import SendConfigError
from squall.send.packing import BatchFactory

DEFAULT_CONNECTION_STRING_ENV = "EVENTHUB_CONNECTION_STRING"
USER_AGENT = "squall-send"
#: The SDK's own default: each failed operation is retried this many times, with backoff.
DEFAULT_RETRIES = 3


@dataclass(frozen=True, slots=True)
class HubTarget:
    """Which hub to send to and how to authenticate (exactly one of namespace / connection string)."""

    hub: str | None
    namespace: str | None = None
    connection_string_env: str | None = None


def open_producer(
    target: HubTarget,
    *,
    default_hub: str | None = None,
    retries: int = DEFAULT_RETRIES,
    environ: Mapping[str, str] = os.environ,
) -> EventHubProducerClient:
    """A producer for ``target``; no network traffic happens until the first batch is made.

    Hub name: ``target.hub``, else the connection string's EntityPath, else ``default_hub``.
    """
    if target.namespace:
        return _producer_for_namespace(target.namespace, hub=target.hub or default_hub, retries=retries)
    env_var = target.connection_string_env or DEFAULT_CONNECTION_STRING_ENV
    connection_string = read_connection_string(env_var, environ=environ)
    has_entity_path = "entitypath" in parse_connection_string(connection_string, case_sensitive_keys=False)
    hub = target.hub or (None if has_entity_path else default_hub)
    if not hub and not has_entity_path:
        raise SendConfigError(f"no event hub name: pass --hub, set EVENTHUB_NAME or add EntityPath to ${env_var}")
    try:
        return EventHubProducerClient.from_connection_string(
            connection_string, eventhub_name=hub, user_agent=USER_AGENT, retry_total=retries
        )
    except ValueError as exc:
        raise SendConfigError(f"bad connection string in ${env_var}: {exc}") from None


def _producer_for_namespace(namespace: str, *, hub: str | None, retries: int) -> EventHubProducerClient:
    if not hub:
        raise SendConfigError("no event hub name: pass --hub or set EVENTHUB_NAME")
    if "://" in namespace or "/" in namespace:
        raise SendConfigError(f"--namespace takes a host name like NAME.servicebus.windows.net, not {namespace!r}")
    from azure.identity import DefaultAzureCredential  # only this auth path needs it

    return EventHubProducerClient(
        fully_qualified_namespace=namespace,
        eventhub_name=hub,
        credential=DefaultAzureCredential(),
        user_agent=USER_AGENT,
        retry_total=retries,
    )


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
    if not urlparse(fields.get("endpoint", "")).netloc:
        raise SendConfigError(f"bad connection string in ${env_var}: Endpoint must look like sb://NAMESPACE/")
    if "sharedaccesskey" not in fields and "sharedaccesssignature" not in fields:
        raise SendConfigError(
            f"bad connection string in ${env_var}:"
            " needs SharedAccessKeyName + SharedAccessKey, or SharedAccessSignature"
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


#: What the SDK raises when the service or the credential says no.
SDK_ERRORS: tuple[type[BaseException], ...] = (EventHubError, AzureError)


def describe_sdk_error(exc: BaseException) -> str:
    """One line: the error type and the first line of its message (never a traceback)."""
    first_line = (str(exc).strip().splitlines() or [""])[0]
    return f"sending to Event Hubs failed: {type(exc).__name__}: {first_line}"
