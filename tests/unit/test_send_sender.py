"""Building the Event Hubs producer: connection strings from env vars, namespaces, hub names.

Constructing a producer opens no connection, so these run without a network.
"""

from __future__ import annotations

import pytest

from squall.send.errors import SendConfigError
from squall.send.sender import HubTarget, describe_sdk_error, open_producer, read_connection_string

FAKE_KEY = "fake-local-test-key-0000"


def _host(producer: object) -> str:
    return producer._address.hostname  # type: ignore[attr-defined]  # the SDK has no public accessor


VALID = (
    f"Endpoint=sb://squall-test.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey={FAKE_KEY}"
)


def test_missing_env_var_names_the_variable() -> None:
    # GIVEN no EVENTHUB_CONNECTION_STRING  WHEN read  THEN the error names the variable and the alternative
    with pytest.raises(SendConfigError, match=r"\$EVENTHUB_CONNECTION_STRING is not set.*--namespace"):
        read_connection_string("EVENTHUB_CONNECTION_STRING", environ={})


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("not a connection string", "blank or malformed"),
        (f"SharedAccessKeyName=send;SharedAccessKey={FAKE_KEY}", "Endpoint"),
        ("Endpoint=sb://squall-test.servicebus.windows.net/;SharedAccessKeyName=send", "SharedAccessKey"),
        (f"Endpoint=nohost;SharedAccessKeyName=send;SharedAccessKey={FAKE_KEY}", "Endpoint"),
    ],
)
def test_malformed_connection_string_is_one_clear_line_without_the_secret(value: str, reason: str) -> None:
    # GIVEN a malformed connection string in the variable  WHEN read
    with pytest.raises(SendConfigError) as caught:
        read_connection_string("HUB_CS", environ={"HUB_CS": value})
    # THEN the message names the variable and the problem, on one line, and never echoes the key
    message = str(caught.value)
    assert "$HUB_CS" in message and reason in message
    assert "\n" not in message and FAKE_KEY not in message


def test_connection_string_entity_path_names_the_hub() -> None:
    # GIVEN a connection string with EntityPath and no --hub  WHEN a producer is built
    environ = {"EVENTHUB_CONNECTION_STRING": VALID + ";EntityPath=from-string"}
    with open_producer(HubTarget(hub=None), default_hub="usage-events", environ=environ) as producer:
        # THEN it targets the string's hub, not the default
        assert producer.eventhub_name == "from-string"


def test_connection_string_without_entity_path_uses_hub_then_default() -> None:
    # GIVEN a connection string without EntityPath  WHEN built with and without --hub
    environ = {"EVENTHUB_CONNECTION_STRING": VALID}
    with open_producer(HubTarget(hub="explicit"), default_hub="usage-events", environ=environ) as producer:
        assert producer.eventhub_name == "explicit"
    with open_producer(HubTarget(hub=None), default_hub="usage-events", environ=environ) as producer:
        assert producer.eventhub_name == "usage-events"


def test_custom_env_var_is_read() -> None:
    # GIVEN --connection-string-env MY_CS  WHEN built  THEN MY_CS's namespace is the target
    target = HubTarget(hub="h", connection_string_env="MY_CS")
    with open_producer(target, environ={"MY_CS": VALID}) as producer:
        assert _host(producer) == "squall-test.servicebus.windows.net"


def test_retries_reach_the_sdk() -> None:
    # GIVEN --retries 0  WHEN built  THEN the SDK's retry_total is 0 (tests and scripts fail fast)
    with open_producer(
        HubTarget(hub="h"), retries=0, environ={"EVENTHUB_CONNECTION_STRING": VALID}
    ) as producer:
        assert producer._config.retry_total == 0  # the SDK exposes no public accessor


def test_namespace_producer_uses_the_hub_and_host() -> None:
    # GIVEN a namespace host name  WHEN built (DefaultAzureCredential makes no call yet)
    target = HubTarget(hub=None, namespace="squall-test.servicebus.windows.net")
    with open_producer(target, default_hub="usage-events") as producer:
        # THEN the producer targets that namespace and the default hub
        assert (_host(producer), producer.eventhub_name) == (
            "squall-test.servicebus.windows.net",
            "usage-events",
        )


def test_namespace_given_as_url_is_refused() -> None:
    # GIVEN a URL where a host name belongs  WHEN built  THEN a clear config error
    with pytest.raises(SendConfigError, match="host name"):
        open_producer(HubTarget(hub="h", namespace="sb://squall-test.servicebus.windows.net/"))


def test_sdk_error_description_is_its_first_line() -> None:
    # GIVEN a multi-line SDK error  WHEN described  THEN one line with the type
    assert describe_sdk_error(RuntimeError("link detached\nat frame 7")) == (
        "sending to Event Hubs failed: RuntimeError: link detached"
    )
