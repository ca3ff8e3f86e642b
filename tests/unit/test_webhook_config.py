"""Webhook destinations from SQUALL_WEBHOOKS + SQUALL_WEBHOOK_SECRETS, with errors that name the setting."""

from __future__ import annotations

import json

import pytest

from shared.actions import WebhookConfigError
from shared.actions.webhook import webhooks_from_settings
from shared.settings import Settings

SECRET = "obviously-fake-secret-0123456789"


def settings(webhooks: object, secrets: object | None = None) -> Settings:
    values = {"SQUALL_WEBHOOKS": webhooks if isinstance(webhooks, str) else json.dumps(webhooks)}
    if secrets is not None:
        values["SQUALL_WEBHOOK_SECRETS"] = secrets if isinstance(secrets, str) else json.dumps(secrets)
    return Settings(**values)


def test_destinations_are_read_with_their_secret_and_defaults() -> None:
    config = webhooks_from_settings(
        settings({"crm": {"url": "https://hooks.example.test/squall", "timeout_s": 3}}, {"crm": SECRET})
    )
    crm = config["crm"]
    assert (crm.url, crm.timeout_s, crm.allow_private) == ("https://hooks.example.test/squall", 3, False)
    assert crm.secret.get_secret_value() == SECRET
    assert SECRET not in repr(crm)


def test_unset_means_no_webhooks() -> None:
    assert webhooks_from_settings(Settings()) == {}


@pytest.mark.parametrize(
    ("webhooks", "secrets", "message"),
    [
        ("{not json", {}, "SQUALL_WEBHOOKS is not valid JSON"),
        ([], {}, "SQUALL_WEBHOOKS must be a JSON object"),
        ({"crm": {"url": "https://h.example.test"}}, {}, "no signing secret: add it to SQUALL_WEBHOOK_SECRETS"),
        ({"crm": {"url": "ftp://h.example.test"}}, {"crm": SECRET}, r"SQUALL_WEBHOOKS\['crm'\] is invalid: url"),
        ({"crm": {"url": "https://h.example.test", "secret": SECRET}}, {"crm": SECRET}, "put the secret in"),
        ({"crm": {"url": "https://h.example.test"}}, {"crm": "short"}, "at least 16 characters"),
        ({"sfmc": {"url": "https://h.example.test"}}, {"sfmc": SECRET}, "reserved"),
        ({"crm": {"url": "https://h.example.test"}}, "{oops " + SECRET, "SQUALL_WEBHOOK_SECRETS is not valid JSON$"),
    ],
)
def test_invalid_configuration_names_the_setting_and_never_echoes_a_secret(
    webhooks: object, secrets: object, message: str
) -> None:
    with pytest.raises(WebhookConfigError, match=message) as raised:
        webhooks_from_settings(settings(webhooks, secrets))
    assert SECRET not in str(raised.value)
