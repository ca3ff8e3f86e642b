"""Every setting Squall reads, named once, with its environment variable.

The same names appear in ``infra/`` (Function App settings), ``local.settings.json.example`` and
the README's settings table; a test keeps the four in step.
"""

from __future__ import annotations

import re
from datetime import timedelta
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_SECONDS = re.compile(r"\s*\d+(\.\d+)?\s*")


def _seconds_or_iso_duration(value: object) -> object:
    """``300`` (seconds) or an ISO 8601 duration (``PT5M``); an empty string means unset."""
    if isinstance(value, str):
        if not value.strip():
            return None
        if _SECONDS.fullmatch(value):
            return timedelta(seconds=float(value))
    return value


#: A duration setting: seconds (``300``) or ISO 8601 (``PT5M``, ``P1D``); never negative.
Duration = Annotated[timedelta, BeforeValidator(_seconds_or_iso_duration)]
OptionalDuration = Annotated[timedelta | None, BeforeValidator(_seconds_or_iso_duration)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(populate_by_name=True, extra="ignore", case_sensitive=True)

    # --- Event Hubs (read by the Functions host through the trigger binding) ---------------------
    eventhub_namespace: str | None = Field(
        default=None,
        alias="EVENTHUB__fullyQualifiedNamespace",
        description="Event Hubs namespace host name; the trigger's identity-based connection.",
    )
    eventhub_name: str = Field(default="usage-events", alias="EVENTHUB_NAME", description="Event hub name.")
    eventhub_consumer_group: str = Field(
        default="squall", alias="EVENTHUB_CONSUMER_GROUP", description="Consumer group Squall reads with."
    )

    # --- Pipeline ----------------------------------------------------------------------------------
    store: str = Field(
        default="sqlite:.squall/squall.db",
        alias="SQUALL_STORE",
        description="Where rules and state live: `cosmos`, `sqlite:PATH` or `memory`.",
    )
    ruleset: str = Field(default="default", alias="SQUALL_RULESET", description="Name of the rule set to run.")
    event_format: Literal["auto", "o365", "cloudevents", "eventgrid", "iothub", "json"] = Field(
        default="auto",
        alias="SQUALL_EVENT_FORMAT",
        description="Format of incoming events: auto, o365, cloudevents, eventgrid, iothub or json.",
    )
    json_field_map: str | None = Field(
        default=None,
        alias="SQUALL_JSON_FIELD_MAP",
        description="For plain JSON events: JSON object mapping canonical fields to source field paths.",
    )
    dedupe_ttl_s: int = Field(
        default=7 * 24 * 3600,
        alias="SQUALL_DEDUPE_TTL_S",
        description="How long the keys of dead-lettered messages are remembered (seconds).",
    )
    max_clock_skew: Duration = Field(
        default=timedelta(seconds=300),
        alias="SQUALL_MAX_CLOCK_SKEW",
        description="How far an event's time may be ahead of its enqueued time (or the wall clock) before "
        "it is dead-lettered: seconds or an ISO 8601 duration.",
    )
    max_event_age: OptionalDuration = Field(
        default=None,
        alias="SQUALL_MAX_EVENT_AGE",
        description="When set, events older than this behind their enqueued time (or the wall clock) are "
        "dead-lettered as stale: seconds or an ISO 8601 duration; unset: no limit.",
    )

    audit_entity: Literal["hash", "key"] = Field(
        default="hash",
        alias="SQUALL_AUDIT_ENTITY",
        description="How the delivery audit names an entity: `hash` (SHA-256 of its key, the default) or `key` "
        "(the key itself, e.g. an e-mail address).",
    )

    # --- Cosmos DB -------------------------------------------------------------------------------
    cosmos_endpoint: str | None = Field(default=None, alias="COSMOS_ENDPOINT", description="Cosmos DB account URI.")
    cosmos_database: str = Field(default="squall", alias="COSMOS_DATABASE", description="Cosmos DB database.")
    cosmos_rules_container: str = Field(
        default="rules",
        alias="COSMOS_RULES_CONTAINER",
        description="Container of rule sets (partition key /ruleset).",
    )
    cosmos_state_container: str = Field(
        default="state",
        alias="COSMOS_STATE_CONTAINER",
        description="Container of entity state (partition key /entity).",
    )
    cosmos_dedupe_container: str = Field(
        default="dedupe",
        alias="COSMOS_DEDUPE_CONTAINER",
        description="Container of remembered keys of dead-lettered messages, TTL on (partition key /key).",
    )
    cosmos_outbox_container: str = Field(
        default="outbox",
        alias="COSMOS_OUTBOX_CONTAINER",
        description="Container of outbox documents, one per batch, TTL on (partition key /id); its change "
        "feed drives delivery.",
    )
    cosmos_leases_container: str = Field(
        default="leases",
        alias="COSMOS_LEASES_CONTAINER",
        description="Lease container of the outbox change-feed trigger (partition key /id).",
    )
    outbox_tombstone_ttl_s: int = Field(
        default=24 * 3600,
        ge=60,
        alias="SQUALL_OUTBOX_TOMBSTONE_TTL_S",
        description="Seconds a settled outbox document keeps its action keys, so a replayed batch plans "
        "nothing twice: at least the Event Hubs retention.",
    )
    cosmos_key: SecretStr | None = Field(
        default=None,
        alias="COSMOS_KEY",
        description="Account key for a local emulator only; in Azure the managed identity is used.",
    )
    cosmos_create_containers: bool = Field(
        default=False,
        alias="COSMOS_CREATE_CONTAINERS",
        description="Create database and containers on first use (emulators only; Bicep owns them in Azure).",
    )

    # --- Dead letters ------------------------------------------------------------------------------
    deadletter_blob_service_uri: str | None = Field(
        default=None,
        alias="DEADLETTER__blobServiceUri",
        description="Blob service URI for dead letters (identity auth); unset: the local store.",
    )
    deadletter_container: str = Field(
        default="deadletter", alias="DEADLETTER_CONTAINER", description="Blob container for dead letters."
    )
    deadletter_connection_string: SecretStr | None = Field(
        default=None,
        alias="DEADLETTER_CONNECTION_STRING",
        description="Local emulator only (Azurite, e.g. `UseDevelopmentStorage=true`): dead letters in "
        "Blob storage without identity; refused for Azure accounts.",
    )

    # --- Salesforce Marketing Cloud ---------------------------------------------------------------
    sfmc_auth_base_url: str | None = Field(
        default=None,
        alias="SFMC_AUTH_BASE_URL",
        description="Tenant auth base, e.g. https://SUBDOMAIN.auth.marketingcloudapis.com",
    )
    sfmc_rest_base_url: str | None = Field(
        default=None,
        alias="SFMC_REST_BASE_URL",
        description="Tenant REST base, e.g. https://SUBDOMAIN.rest.marketingcloudapis.com",
    )
    sfmc_client_id: str | None = Field(default=None, alias="SFMC_CLIENT_ID", description="Installed package client id.")
    sfmc_client_secret: SecretStr | None = Field(
        default=None,
        alias="SFMC_CLIENT_SECRET",
        description="Installed package client secret (a Key Vault reference in Azure).",
    )
    sfmc_account_id: str | None = Field(
        default=None, alias="SFMC_ACCOUNT_ID", description="Business unit MID (optional)."
    )
    sfmc_journey_entry_mode: Literal["sync", "async"] = Field(
        default="sync",
        alias="SFMC_JOURNEY_ENTRY_MODE",
        description="Journey entries one per call (sync) or up to 100 per async batch call (async).",
    )

    # --- Signed webhooks ---------------------------------------------------------------------------
    webhooks: str | None = Field(
        default=None,
        alias="SQUALL_WEBHOOKS",
        description=(
            'JSON object of webhook destinations by name, e.g. {"crm": {"url": "https://..."}}; no secrets here.'
        ),
    )
    webhook_secrets: SecretStr | None = Field(
        default=None,
        alias="SQUALL_WEBHOOK_SECRETS",
        description="JSON object of signing secrets by webhook name (a Key Vault reference in Azure).",
    )

    # --- Amazon EventBridge --------------------------------------------------------------------------
    eventbridge: str | None = Field(
        default=None,
        alias="SQUALL_EVENTBRIDGE",
        description=(
            'JSON object of EventBridge destinations by name, e.g. {"aws": {"event_bus_name": "marketing", '
            '"source": "com.example.squall", "region": "eu-west-1"}}; credentials from the standard AWS chain.'
        ),
    )

    # --- Observability -----------------------------------------------------------------------------
    appinsights_connection_string: str | None = Field(
        default=None,
        alias="APPLICATIONINSIGHTS_CONNECTION_STRING",
        description="Application Insights connection string (no secret; set by infra).",
    )


    @field_validator("max_clock_skew", "max_event_age")
    @classmethod
    def _not_negative(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value < timedelta(0):
            raise ValueError("a duration cannot be negative")
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings read once from the environment."""
    return Settings()
