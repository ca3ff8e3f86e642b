"""Marketing Cloud OAuth2 client-credentials tokens: fetched once, cached, refreshed one at a time.

``POST {auth_base}/v2/token`` with ``{grant_type, client_id, client_secret, account_id?}`` answers
``{access_token, expires_in, ...}``. The token is opaque: never parsed, never logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from pydantic import SecretStr

from shared.actions.errors import MarketingCloudAuthError, MarketingCloudUnavailable
from shared.actions.sfmc.responses import error_summary, retry_after_seconds

logger = logging.getLogger("shared.actions")  # one logger for every destination: filter and alert on one name

#: Refresh this long before ``expires_in`` runs out (capped at 10 % of the lifetime for short tokens).
SAFETY_MARGIN_S = 60.0
_FIX_CREDENTIALS = "check SFMC_CLIENT_ID, SFMC_CLIENT_SECRET and SFMC_ACCOUNT_ID"


@dataclass(frozen=True, slots=True)
class _CachedToken:
    value: str
    refresh_at: float  # on the provider's clock


class MarketingCloudTokenProvider:
    """Hands out a valid access token to any number of concurrent callers.

    At most one token request is in flight at a time; callers that arrive during a refresh wait
    for it and share its result. A credentials failure is remembered until ``forget_failure()``, so
    a batch asks the token endpoint once, not once per action.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        auth_base_url: str,
        client_id: str,
        client_secret: SecretStr,
        account_id: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._token_url = f"{auth_base_url.rstrip('/')}/v2/token"
        self._client_id = client_id
        self._client_secret = client_secret
        self._account_id = account_id
        self._clock = clock
        self._lock = asyncio.Lock()
        self._cached: _CachedToken | None = None
        self._failure: str | None = None

    async def get_token(self) -> str:
        """A token valid for at least the safety margin; raises MarketingCloudAuthError/Unavailable."""
        token = self._fresh_token()
        if token is not None:
            return token
        async with self._lock:
            token = self._fresh_token()  # another caller may have refreshed while we waited
            if token is not None:
                return token
            if self._failure is not None:
                raise MarketingCloudAuthError(self._failure)
            self._cached = await self._request_token()
            return self._cached.value

    def invalidate(self, token: str) -> None:
        """Drop ``token`` after the API refused it, unless a newer token has already replaced it."""
        if self._cached is not None and self._cached.value == token:
            self._cached = None

    def rebind(self, http: httpx.AsyncClient) -> None:
        """Use ``http`` and a fresh lock from now on (after an event loop change); keeps the token."""
        self._http = http
        self._lock = asyncio.Lock()

    def forget_failure(self) -> None:
        """Allow a new token request after a credentials failure (called at the start of a batch)."""
        self._failure = None

    def _fresh_token(self) -> str | None:
        cached = self._cached
        if cached is not None and self._clock() < cached.refresh_at:
            return cached.value
        return None

    async def _request_token(self) -> _CachedToken:
        body = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._client_secret.get_secret_value(),
        }
        if self._account_id:
            body["account_id"] = self._account_id
        requested_at = self._clock()
        try:
            response = await self._http.post(self._token_url, json=body)
        except httpx.TransportError as exc:
            raise MarketingCloudUnavailable(
                f"Marketing Cloud token endpoint unreachable ({type(exc).__name__})"
            ) from exc
        cached = self._read_token_response(response, requested_at=requested_at)
        refresh_in = cached.refresh_at - requested_at
        logger.info("Marketing Cloud access token obtained (refresh in %.0f s)", refresh_in)
        return cached

    def _read_token_response(self, response: httpx.Response, *, requested_at: float) -> _CachedToken:
        status = response.status_code
        if status in (400, 401, 403):
            summary = error_summary(response)
            self._failure = f"Marketing Cloud refused the client credentials ({summary}): {_FIX_CREDENTIALS}"
            logger.error("%s", self._failure)
            raise MarketingCloudAuthError(self._failure)
        if status != 200:
            raise MarketingCloudUnavailable(
                f"Marketing Cloud token endpoint failed ({error_summary(response)})",
                retry_after=retry_after_seconds(response),
            )
        try:
            payload = response.json()
            value = str(payload["access_token"])
            lifetime = float(payload["expires_in"])
        except (ValueError, KeyError, TypeError) as exc:
            raise MarketingCloudUnavailable(
                "Marketing Cloud token endpoint answered 200 without access_token/expires_in"
            ) from exc
        margin = min(SAFETY_MARGIN_S, lifetime * 0.1)
        return _CachedToken(value=value, refresh_at=requested_at + lifetime - margin)
