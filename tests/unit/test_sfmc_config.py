"""MarketingCloudConfig: built from settings, with errors that name the env var to set."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from shared.actions import MarketingCloudConfigError
from shared.actions.sfmc import MarketingCloudConfig
from shared.settings import Settings

COMPLETE = {
    "SFMC_AUTH_BASE_URL": "https://tenant.auth.example.test/",
    "SFMC_REST_BASE_URL": "https://tenant.rest.example.test",
    "SFMC_CLIENT_ID": "client-id",
    "SFMC_CLIENT_SECRET": "fake-secret-for-tests",
}


def test_config_from_complete_settings_keeps_secret_hidden_and_trims_slash() -> None:
    # GIVEN settings with every Marketing Cloud variable
    settings = Settings(**COMPLETE, SFMC_ACCOUNT_ID="514009999")
    # WHEN the config is built
    config = MarketingCloudConfig.from_settings(settings)
    # THEN bases lose the trailing slash, the secret stays a SecretStr and is not in the repr
    assert config.auth_base_url == "https://tenant.auth.example.test"
    assert config.account_id == "514009999"
    assert isinstance(config.client_secret, SecretStr)
    assert config.client_secret.get_secret_value() == "fake-secret-for-tests"
    assert "fake-secret-for-tests" not in repr(config)


def test_missing_settings_are_named_by_their_environment_variables() -> None:
    # GIVEN settings without the client secret and the REST base
    partial = {k: v for k, v in COMPLETE.items() if k not in ("SFMC_CLIENT_SECRET", "SFMC_REST_BASE_URL")}
    # WHEN the config is built  THEN the error names both env vars
    with pytest.raises(MarketingCloudConfigError) as caught:
        MarketingCloudConfig.from_settings(Settings(**partial))
    assert "SFMC_REST_BASE_URL" in str(caught.value)
    assert "SFMC_CLIENT_SECRET" in str(caught.value)
    assert "SFMC_CLIENT_ID" not in str(caught.value)


def test_a_base_url_that_is_not_http_is_rejected_with_the_setting_name() -> None:
    # GIVEN an auth base without a scheme
    settings = Settings(**{**COMPLETE, "SFMC_AUTH_BASE_URL": "tenant.auth.example.test"})
    # WHEN / THEN
    with pytest.raises(MarketingCloudConfigError, match="SFMC_AUTH_BASE_URL"):
        MarketingCloudConfig.from_settings(settings)


def test_config_accepts_a_plain_string_secret_and_rejects_zero_concurrency() -> None:
    # GIVEN / WHEN a config built directly with a str secret
    config = MarketingCloudConfig(
        auth_base_url="http://127.0.0.1:1",
        rest_base_url="http://127.0.0.1:1",
        client_id="c",
        client_secret="s",
    )
    # THEN the secret is wrapped, defaults are the documented ones
    assert isinstance(config.client_secret, SecretStr)
    assert (config.max_concurrency, config.max_attempts, config.timeout_s) == (16, 5, 10.0)
    # AND a concurrency of 0 is refused
    with pytest.raises(ValueError, match="max_concurrency"):
        MarketingCloudConfig(
            auth_base_url="http://x",
            rest_base_url="http://x",
            client_id="c",
            client_secret="s",
            max_concurrency=0,
        )
