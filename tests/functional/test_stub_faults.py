"""Random fault injection in the stub: rates, seeds, shapes, latency and token lifetime."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from squall.stub import FaultRates, MarketingCloudStub
from tests.functional.delivery_support import fetch_token, stub_with_known_credentials, token_request_body

EVENT = {"ContactKey": "c-1", "EventDefinitionKey": "APIEvent-any"}


def statuses(stub: MarketingCloudStub, count: int) -> list[tuple[int, str | None]]:
    with httpx.Client(base_url=stub.base_url) as http:
        headers = {"Authorization": f"Bearer {fetch_token(http)}"}
        answers = [http.post("/interaction/v1/events", json=EVENT, headers=headers) for _ in range(count)]
    return [(r.status_code, r.headers.get("Retry-After")) for r in answers]


def faulty_stub(**options: object) -> MarketingCloudStub:
    return stub_with_known_credentials(journey_keys=None, **options)


def test_rates_inject_5xx_and_both_kinds_of_429_and_only_successes_are_recorded() -> None:
    # GIVEN 30 % errors and 20 % throttles
    with faulty_stub(error_rate=0.3, throttle_rate=0.2, seed=7) as stub:
        # WHEN 400 events are posted
        answers = statuses(stub, 400)
        # THEN the shares are near the rates, 5xx are 500/503, 429s come with and without Retry-After
        counts = Counter(status for status, _ in answers)
        assert set(counts) == {201, 429, 500, 503}
        assert 80 <= counts[500] + counts[503] <= 160
        assert 45 <= counts[429] <= 115
        hints = {retry for status, retry in answers if status == 429}
        assert hints == {"1", None}
        # AND only the accepted ones were recorded, and the injected count matches
        assert len(stub.received()) == counts[201]
        assert stub.faults_injected == 400 - counts[201]


def test_the_same_seed_injects_the_same_faults() -> None:
    with faulty_stub(error_rate=0.25, throttle_rate=0.25, seed=99) as first:
        a = statuses(first, 60)
    with faulty_stub(error_rate=0.25, throttle_rate=0.25, seed=99) as second:
        b = statuses(second, 60)
    assert a == b


def test_latency_holds_every_rest_answer_so_concurrent_requests_overlap() -> None:
    # GIVEN a stub that holds each answer 300 ms
    with faulty_stub(latency_ms=300) as stub:
        # WHEN four clients post at the same moment
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda _: statuses(stub, 1), range(4)))
        # THEN the stub was holding all four at once
        assert stub.peak_concurrent_event_requests == 4


def test_tokens_expire_after_token_ttl() -> None:
    clock = [0.0]
    with faulty_stub(token_ttl_s=1, clock=lambda: clock[0]) as stub, httpx.Client(base_url=stub.base_url) as http:
        grant = http.post("/v2/token", json=token_request_body()).json()
        assert grant["expires_in"] == 1
        headers = {"Authorization": f"Bearer {grant['access_token']}"}
        assert http.post("/interaction/v1/events", json=EVENT, headers=headers).status_code == 201
        clock[0] = 1.0
        assert http.post("/interaction/v1/events", json=EVENT, headers=headers).status_code == 401


@pytest.mark.parametrize(
    "rates",
    [{"error_rate": 1.5}, {"throttle_rate": -0.1}, {"error_rate": 0.6, "throttle_rate": 0.6}, {"latency_ms": -1}],
)
def test_impossible_rates_are_refused(rates: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        FaultRates(**rates)  # type: ignore[arg-type]
