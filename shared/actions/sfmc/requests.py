"""One authorized JSON POST to Marketing Cloud, classified into the delivery error taxonomy.

Every request carries ``Authorization: Bearer <token>``, ``Content-Type: application/json;
charset=utf-8`` and ``Idempotency-Key`` (the action's key; for batch requests the keys of its
members, comma-separated, in member order). Marketing Cloud ignores the unknown header; the stub
uses it to count duplicates.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from shared.actions.errors import MarketingCloudAuthError, MarketingCloudUnavailable
from shared.actions.retrying import AttemptResult, AttemptVerdict
from shared.actions.sfmc.auth import MarketingCloudTokenProvider
from shared.actions.sfmc.responses import error_summary, response_id, retry_after_seconds

IDEMPOTENCY_HEADER = "Idempotency-Key"
_DELIVERED_STATUSES = frozenset({200, 201, 202})
_RETRYABLE_STATUSES = frozenset({408, 429})


class MarketingCloudRequests:
    """Posts JSON with a cached token over a shared ``httpx.AsyncClient``; never raises."""

    def __init__(self, http: httpx.AsyncClient, tokens: MarketingCloudTokenProvider) -> None:
        self._http = http
        self._tokens = tokens

    def rebind(self, http: httpx.AsyncClient) -> None:
        """Send through ``http`` from now on (the deliverer opened a new pool on a new event loop)."""
        self._http = http

    async def post(self, url: str, body: bytes, *, idempotency_key: str) -> AttemptResult:
        try:
            token = await self._tokens.get_token()
        except MarketingCloudAuthError as exc:
            return AttemptResult(AttemptVerdict.CREDENTIALS, reason=str(exc))
        except MarketingCloudUnavailable as exc:
            return AttemptResult(AttemptVerdict.RETRY, reason=str(exc), retry_after=exc.retry_after)
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json; charset=utf-8",
            IDEMPOTENCY_HEADER: idempotency_key,
        }
        try:
            response = await self._http.post(url, content=body, headers=headers)
        except httpx.TransportError as exc:
            return AttemptResult(AttemptVerdict.RETRY, reason=f"transport error ({type(exc).__name__})")
        if response.status_code == 401:
            self._tokens.invalidate(token)
            return AttemptResult(AttemptVerdict.UNAUTHORIZED, reason=error_summary(response))
        return classify_response(response)


def classify_response(response: httpx.Response) -> AttemptResult:
    """The taxonomy: delivered (200/201/202), retry (408, 429, 5xx), permanent (any other 4xx)."""
    status = response.status_code
    if status in _DELIVERED_STATUSES:
        return AttemptResult(AttemptVerdict.DELIVERED, response_id=response_id(response), payload=_json(response))
    if status in _RETRYABLE_STATUSES or status >= 500:
        hint = retry_after_seconds(response)
        reason = error_summary(response)
        return AttemptResult(AttemptVerdict.RETRY, reason=reason, retry_after=hint, throttled=status == 429)
    return AttemptResult(AttemptVerdict.PERMANENT, reason=error_summary(response))


def json_body(document: Any) -> bytes:
    """UTF-8 JSON (the API wants ``charset=utf-8`` for non-ASCII data); raises ValueError/TypeError."""
    return json.dumps(document, ensure_ascii=False, allow_nan=False).encode("utf-8")


def joined_keys(keys: list[str]) -> str:
    """The ``Idempotency-Key`` value of a batch request: member keys in member order."""
    return ",".join(keys)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
