"""How to reach one Marketing Cloud tenant, and how hard to try."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_core import ErrorDetails

from shared.actions.errors import MarketingCloudConfigError
from shared.settings import Settings

#: Settings that must be present for Marketing Cloud delivery (field name in ``Settings``).
_REQUIRED_SETTINGS = ("sfmc_auth_base_url", "sfmc_rest_base_url", "sfmc_client_id", "sfmc_client_secret")


class MarketingCloudConfig(BaseModel):
    """Connection and delivery options for ``MarketingCloudDeliverer``.

    ``auth_base_url`` / ``rest_base_url`` are the tenant bases (``https://SUBDOMAIN.auth...`` and
    ``https://SUBDOMAIN.rest...``), without the ``/v2/token`` or ``/interaction`` paths.

    ``journey_entry_mode``: ``sync`` sends one ``/interaction/v1/events`` call per action;
    ``async`` groups journey entries by event definition key into ``/interaction/v1/async/events``
    calls of up to ``async_batch_size`` (max 100) members. Data-extension rows go in rowset calls
    of up to ``rowset_batch_size`` rows (Salesforce recommends at most 50). The circuit breaker
    opens after ``breaker_failure_threshold`` consecutive failed deliveries and lets a probe
    through after ``breaker_reset_s`` seconds.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    auth_base_url: str
    rest_base_url: str
    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    account_id: str | None = None
    max_concurrency: int = Field(default=16, ge=1, le=1000)
    max_attempts: int = Field(default=5, ge=1, le=50)
    backoff_base_s: float = Field(default=0.2, ge=0)
    backoff_max_s: float = Field(default=10.0, ge=0)
    timeout_s: float = Field(default=10.0, gt=0)
    journey_entry_mode: Literal["sync", "async"] = "sync"
    async_batch_size: int = Field(default=100, ge=1, le=100)
    rowset_batch_size: int = Field(default=50, ge=1, le=500)
    breaker_failure_threshold: int = Field(default=5, ge=1)
    breaker_reset_s: float = Field(default=30.0, ge=0)

    @field_validator("auth_base_url", "rest_base_url")
    @classmethod
    def _http_base_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http(s) URL such as https://SUBDOMAIN.auth.marketingcloudapis.com")
        return value.rstrip("/")

    @classmethod
    def from_settings(cls, settings: Settings) -> MarketingCloudConfig:
        """Build the config from Squall's settings; a missing setting is named by its env var."""
        values = {name: getattr(settings, name) for name in _REQUIRED_SETTINGS}
        missing = [name for name, value in values.items() if value in (None, "")]
        if missing:
            names = ", ".join(str(Settings.model_fields[name].alias) for name in missing)
            raise MarketingCloudConfigError(f"Marketing Cloud delivery is not configured: set {names}")
        try:
            return cls.model_validate(
                {
                    "auth_base_url": values["sfmc_auth_base_url"],
                    "rest_base_url": values["sfmc_rest_base_url"],
                    "client_id": values["sfmc_client_id"],
                    "client_secret": values["sfmc_client_secret"],
                    "account_id": settings.sfmc_account_id or None,
                    "journey_entry_mode": settings.sfmc_journey_entry_mode,
                }
            )
        except ValidationError as exc:
            problems = "; ".join(_setting_problem(error) for error in exc.errors())
            raise MarketingCloudConfigError(f"Marketing Cloud settings are invalid: {problems}") from exc


def _setting_problem(error: ErrorDetails) -> str:
    """``SFMC_REST_BASE_URL='x' must be an http(s) URL ...``: the setting by its env var, and why (the
    value only for URLs: never a secret)."""
    field = str(error["loc"][0]) if error["loc"] else ""
    setting = Settings.model_fields[f"sfmc_{field}"].alias if f"sfmc_{field}" in Settings.model_fields else field
    message = error["msg"].removeprefix("Value error, ")
    return f"{setting}={error.get('input')!r} {message}" if field.endswith("_url") else f"{setting} {message}"
