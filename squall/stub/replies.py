"""Response bodies shaped like the real Marketing Cloud API's (see tests/fixtures/sfmc_examples.json)."""

from __future__ import annotations

from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

ERROR_DOCUMENTATION = "https://developer.salesforce.com/docs/atlas.en-us.mc-apis.meta/mc-apis/error-handling.htm"

#: REST error codes from Salesforce "Handle Errors in REST API".
GENERIC_EXCEPTION = 10000
INVALID_DATA_TYPE = 10001
MISSING_REQUIRED_FIELD = 10002
INVALID_MESSAGE_FORMAT = 10004
RATE_LIMIT_EXCEEDED = 50100
REQUESTS_BLOCKED = 50200


@dataclass(frozen=True, slots=True)
class StubReply:
    """What the stub answers: a status, a JSON body and extra headers."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


def rest_error(status: int, message: str, *, errorcode: int = 0) -> StubReply:
    """The REST error envelope ``{message, errorcode, documentation}``."""
    body = {"message": message, "errorcode": errorcode, "documentation": ERROR_DOCUMENTATION}
    return StubReply(status, body)


def oauth_error(status: int, error: str, description: str) -> StubReply:
    """The token endpoint's OAuth error envelope ``{error, error_description, error_uri}``."""
    body = {
        "error": error,
        "error_description": description,
        "error_uri": "https://developer.salesforce.com/docs",
    }
    return StubReply(status, body)


def invalid_client() -> StubReply:
    return oauth_error(
        401,
        "invalid_client",
        "Client authentication failed. Make sure that the client ID and client secret are valid and "
        "that the package is installed and enabled.",
    )


def unsupported_grant_type() -> StubReply:
    return oauth_error(
        400,
        "unsupported_grant_type",
        'Use "authorization_code" or "refresh_token" or "client_credentials" or '
        '"urn:ietf:params:oauth:grant-type:jwt-bearer" as the grant_type.',
    )


def not_authorized() -> StubReply:
    return rest_error(401, "Not Authorized", errorcode=0)


def injected_fault(status: int, *, retry_after: int | None) -> StubReply:
    """A fault the test asked for: 429s as documented (50100 with Retry-After, 50200 without)."""
    if status == 429 and retry_after is not None:
        reply = rest_error(429, "Rate limit exceeded", errorcode=RATE_LIMIT_EXCEEDED)
        reply.body["retryAfter"] = retry_after
        return StubReply(429, reply.body, {"Retry-After": str(retry_after)})
    if status == 429:
        return rest_error(429, "Your requests are temporarily blocked.", errorcode=REQUESTS_BLOCKED)
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    reply = rest_error(status, HTTPStatus(status).phrase, errorcode=0)
    return StubReply(status, reply.body, headers)


INVALID_VALUE = 10005
AGGREGATE_ERROR = 10006


def member_error(contact_key: object, errorcode: int, message: str) -> dict[str, Any]:
    """One not-queued member of an async batch answer (errorcode is a string, as documented)."""
    return {"contactKey": contact_key, "errorcode": str(errorcode), "message": message}


def rowset_error(data_extension_key: str, message: str, *, errorcode: int) -> StubReply:
    """A refused rowset: the aggregate 10006 envelope with the cause in ``additionalErrors``."""
    reply = rest_error(400, f"Unable to save rows for data extension {data_extension_key}", errorcode=AGGREGATE_ERROR)
    reply.body["additionalErrors"] = [
        {"message": message, "errorcode": errorcode, "documentation": ERROR_DOCUMENTATION}
    ]
    return reply
