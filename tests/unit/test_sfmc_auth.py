"""Token provider against the Marketing Cloud stub over real HTTP: caching, one refresh, failures."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator

import httpx
import pytest
from pydantic import SecretStr

from shared.actions import MarketingCloudAuthError, MarketingCloudUnavailable
from shared.actions.sfmc import MarketingCloudTokenProvider
from squall.stub import MarketingCloudStub
from tests.functional.delivery_support import (
    STUB_CLIENT_ID,
    STUB_CLIENT_SECRET,
    ManualClock,
    stub_with_known_credentials,
)


@pytest.fixture
def stub() -> Iterator[MarketingCloudStub]:
    with stub_with_known_credentials(journey_keys=None, token_ttl_s=1200) as running:
        yield running


def _provider(
    http: httpx.AsyncClient, stub: MarketingCloudStub, **overrides: object
) -> MarketingCloudTokenProvider:
    options: dict[str, object] = {
        "auth_base_url": stub.auth_base_url,
        "client_id": STUB_CLIENT_ID,
        "client_secret": SecretStr(STUB_CLIENT_SECRET),
    }
    options.update(overrides)
    return MarketingCloudTokenProvider(http, **options)  # type: ignore[arg-type]


def run_with_provider[T](
    stub: MarketingCloudStub,
    scenario: Callable[[MarketingCloudTokenProvider], Awaitable[T]],
    **overrides: object,
) -> T:
    """Run ``scenario`` with a provider for ``stub`` (options overridden) over a fresh HTTP client."""

    async def run() -> T:
        async with httpx.AsyncClient() as http:
            return await scenario(_provider(http, stub, **overrides))

    return asyncio.run(run())


def test_token_is_fetched_once_and_served_from_cache(stub: MarketingCloudStub) -> None:
    async def scenario(provider: MarketingCloudTokenProvider) -> list[str]:
        return [await provider.get_token() for _ in range(3)]

    # GIVEN a provider  WHEN three callers ask one after the other
    tokens = run_with_provider(stub, scenario)
    # THEN they share one token from one request
    assert len(set(tokens)) == 1
    assert stub.token_requests == 1


def test_concurrent_callers_trigger_a_single_token_request(stub: MarketingCloudStub) -> None:
    async def scenario(provider: MarketingCloudTokenProvider) -> list[str]:
        return await asyncio.gather(*(provider.get_token() for _ in range(50)))

    # GIVEN no cached token  WHEN 50 callers ask at the same time
    tokens = run_with_provider(stub, scenario)
    # THEN one request was made and everybody got its token
    assert stub.token_requests == 1
    assert len(set(tokens)) == 1


def test_token_is_refreshed_before_expires_in_runs_out(stub: MarketingCloudStub) -> None:
    clock = ManualClock()

    async def scenario(provider: MarketingCloudTokenProvider) -> tuple[str, str, str]:
        first = await provider.get_token()
        clock.now += 1200 - 61  # still outside the 60 s safety margin
        cached = await provider.get_token()
        clock.now += 2  # inside the margin: refresh
        return first, cached, await provider.get_token()

    # GIVEN a token with expires_in 1200  WHEN time passes on the provider's clock
    first, cached, refreshed = run_with_provider(stub, scenario, clock=clock)
    # THEN it is kept until 60 s before expiry, then replaced
    assert cached == first
    assert refreshed != first
    assert stub.token_requests == 2


def test_invalidate_drops_only_the_token_that_was_refused(stub: MarketingCloudStub) -> None:
    async def scenario(provider: MarketingCloudTokenProvider) -> tuple[str, str, str]:
        first = await provider.get_token()
        provider.invalidate("some-older-token")  # a stale refusal must not evict the current token
        kept = await provider.get_token()
        provider.invalidate(first)
        return first, kept, await provider.get_token()

    # GIVEN a cached token  WHEN callers invalidate an older token, then the current one
    first, kept, renewed = run_with_provider(stub, scenario)
    # THEN only the second invalidation forces a new token
    assert kept == first
    assert renewed != first
    assert stub.token_requests == 2


def test_wrong_credentials_raise_a_clear_auth_error_once_per_batch(stub: MarketingCloudStub) -> None:
    wrong_secret = "wrong-fake-secret-9876"

    async def scenario(provider: MarketingCloudTokenProvider) -> tuple[list[BaseException], int]:
        errors = []
        for _ in range(3):
            try:
                await provider.get_token()
            except MarketingCloudAuthError as exc:
                errors.append(exc)
        requests_before_reset = stub.token_requests
        provider.forget_failure()
        with pytest.raises(MarketingCloudAuthError):
            await provider.get_token()
        return errors, requests_before_reset

    # GIVEN a wrong client secret  WHEN three callers ask for a token
    errors, requests_before_reset = run_with_provider(stub, scenario, client_secret=SecretStr(wrong_secret))
    # THEN each gets an auth error naming the settings, from a single token request
    assert len(errors) == 3
    message = str(errors[0])
    assert "invalid_client" in message
    assert "SFMC_CLIENT_SECRET" in message
    assert wrong_secret not in message
    assert requests_before_reset == 1
    # AND after forget_failure (next batch) the provider asks again
    assert stub.token_requests == 2


def test_token_endpoint_outage_is_transient_with_the_servers_hint(stub: MarketingCloudStub) -> None:
    stub.fail_next(503, 1, retry_after=7, endpoint="token")

    async def scenario(provider: MarketingCloudTokenProvider) -> tuple[MarketingCloudUnavailable, str]:
        with pytest.raises(MarketingCloudUnavailable) as caught:
            await provider.get_token()
        return caught.value, await provider.get_token()

    # GIVEN the token endpoint answers 503 once  WHEN a token is asked twice
    error, token = run_with_provider(stub, scenario)
    # THEN the first is a transient error carrying Retry-After, the second succeeds
    assert error.retry_after == 7.0
    assert "HTTP 503" in str(error)
    assert token


def test_unreachable_token_endpoint_is_transient() -> None:
    async def scenario() -> None:
        async with httpx.AsyncClient() as http:
            provider = MarketingCloudTokenProvider(
                http, auth_base_url="http://127.0.0.1:9", client_id="c", client_secret=SecretStr("s")
            )
            await provider.get_token()

    # GIVEN nothing listens on the auth base  WHEN a token is asked  THEN a transient error says so
    with pytest.raises(MarketingCloudUnavailable, match="unreachable"):
        asyncio.run(scenario())
