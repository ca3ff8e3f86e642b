"""The Marketing Cloud stub answers as the real API does (shapes from tests/fixtures/sfmc_examples.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from squall.stub import MarketingCloudStub
from tests.functional.delivery_support import (
    STUB_JOURNEY_KEY,
    ManualClock,
    fetch_token,
    token_request_body,
)

EXAMPLES = json.loads((Path(__file__).parents[1] / "fixtures" / "sfmc_examples.json").read_text())


@pytest.fixture
def clock() -> ManualClock:
    """The stub's token clock, moved by hand."""
    return ManualClock(start=0.0)


@pytest.fixture
def stub_options(clock: ManualClock) -> dict[str, Any]:
    return {"clock": clock}


def _enter(http: httpx.Client, token: str | None, body: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return http.post("/interaction/v1/events", json=body, headers=headers)


def test_token_response_has_the_documented_fields(http: httpx.Client, stub: MarketingCloudStub) -> None:
    # GIVEN the documented token request (with the optional account_id)
    body = token_request_body()
    # WHEN it is posted
    response = http.post("/v2/token", json={**body, "account_id": "514009999"})
    # THEN 200 with the same fields as the recorded real answer, pointing at the stub
    assert response.status_code == 200
    token = response.json()
    assert set(token) == set(EXAMPLES["token"]["response_200"]["body"])
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 1200
    assert token["rest_instance_url"] == stub.base_url + "/"
    assert stub.token_requests == 1


def test_tokens_are_random_per_request(http: httpx.Client) -> None:
    # GIVEN / WHEN two token requests  THEN two different tokens
    assert fetch_token(http) != fetch_token(http)


def test_wrong_secret_gets_the_recorded_invalid_client_answer(http: httpx.Client) -> None:
    # GIVEN a wrong secret  WHEN a token is requested
    body = token_request_body(client_secret="wrong")
    response = http.post("/v2/token", json=body)
    # THEN 401 with exactly the body Marketing Cloud sends
    expected = EXAMPLES["token"]["response_401_invalid_client"]
    assert (response.status_code, response.json()) == (expected["status"], expected["body"])


def test_bad_grant_type_is_a_400_unsupported_grant_type(http: httpx.Client) -> None:
    body = {**token_request_body(), "grant_type": "password"}
    response = http.post("/v2/token", json=body)
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_valid_event_is_accepted_with_an_instance_id_and_recorded(http: httpx.Client, stub: MarketingCloudStub) -> None:
    # GIVEN the documented request body with our journey key
    example = EXAMPLES["journey_entry_event_sync"]["request"]["body"]
    body = {**example, "EventDefinitionKey": STUB_JOURNEY_KEY}
    # WHEN it is posted with a valid token
    response = _enter(http, fetch_token(http), body)
    # THEN 201 {eventInstanceId}, and the stub recorded it
    assert response.status_code == 201
    assert set(response.json()) == set(EXAMPLES["journey_entry_event_sync"]["response_success"]["body"])
    [received] = stub.received()
    assert received["eventInstanceId"] == response.json()["eventInstanceId"]
    assert (received["ContactKey"], received["Data"]) == (example["ContactKey"], example["Data"])
    assert received["received_at"].tzinfo is not None


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token-we-issued"])
def test_missing_or_unknown_token_gets_not_authorized(http: httpx.Client, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    body = {"ContactKey": "c-1", "EventDefinitionKey": STUB_JOURNEY_KEY, "Data": {}}
    response = http.post("/interaction/v1/events", json=body, headers=headers)
    expected = EXAMPLES["expired_or_missing_token_on_rest_call"]
    assert (response.status_code, response.json()) == (expected["status"], expected["body"])


def test_token_expires_after_its_ttl(http: httpx.Client, clock: ManualClock) -> None:
    # GIVEN a token issued now
    token = fetch_token(http)
    body = {"ContactKey": "c-1", "EventDefinitionKey": STUB_JOURNEY_KEY, "Data": {}}
    assert _enter(http, token, body).status_code == 201
    # WHEN its 1200 s lifetime passes on the stub's clock
    clock.now += 1200
    # THEN it is refused
    assert _enter(http, token, body).status_code == 401


def test_expire_tokens_revokes_every_issued_token(http: httpx.Client, stub: MarketingCloudStub) -> None:
    token = fetch_token(http)
    stub.expire_tokens()
    assert _enter(http, token, {"ContactKey": "c", "EventDefinitionKey": STUB_JOURNEY_KEY}).status_code == 401


def test_unknown_event_definition_key_is_a_400_with_the_error_envelope(
    http: httpx.Client, stub: MarketingCloudStub
) -> None:
    # GIVEN a key the stub was not configured with
    response = _enter(http, fetch_token(http), {"ContactKey": "c-1", "EventDefinitionKey": "APIEvent-unknown"})
    # THEN 400 shaped like the documented envelope, and nothing recorded
    assert response.status_code == 400
    body = response.json()
    assert set(body) == set(EXAMPLES["journey_entry_event_sync"]["response_unknown_event_definition_key"]["body"])
    assert "APIEvent-unknown" in body["message"]
    assert stub.received() == []


@pytest.mark.parametrize(
    ("body", "errorcode"),
    [
        ({"EventDefinitionKey": STUB_JOURNEY_KEY, "Data": {}}, 10002),
        ({"ContactKey": "  ", "EventDefinitionKey": STUB_JOURNEY_KEY}, 10002),
        ({"ContactKey": "c-1", "Data": {}}, 10002),
        ({"ContactKey": "c-1", "EventDefinitionKey": STUB_JOURNEY_KEY, "Data": ["not", "an", "object"]}, 10001),
        (["not", "an", "object"], 10004),
    ],
)
def test_invalid_event_bodies_are_400_with_the_documented_error_code(
    http: httpx.Client, stub: MarketingCloudStub, body: object, errorcode: int
) -> None:
    response = _enter(http, fetch_token(http), body)
    assert response.status_code == 400
    assert response.json()["errorcode"] == errorcode
    assert stub.received() == []


def test_non_json_content_type_is_415(http: httpx.Client) -> None:
    headers = {"Authorization": f"Bearer {fetch_token(http)}", "Content-Type": "text/plain"}
    response = http.post("/interaction/v1/events", content=b"ContactKey=c-1", headers=headers)
    assert response.status_code == 415


def test_received_endpoint_lists_and_resets(http: httpx.Client, stub: MarketingCloudStub) -> None:
    # GIVEN one accepted event
    token = fetch_token(http)
    _enter(http, token, {"ContactKey": "c-9", "EventDefinitionKey": STUB_JOURNEY_KEY, "Data": {"n": 1}})
    # WHEN the test endpoint is read
    listed = http.get("/_stub/received").json()
    # THEN it shows the event with an ISO timestamp
    assert [(e["ContactKey"], e["Data"]) for e in listed] == [("c-9", {"n": 1})]
    assert listed[0]["received_at"].endswith("+00:00")
    # AND DELETE empties it
    assert http.delete("/_stub/received").status_code == 204
    assert http.get("/_stub/received").json() == []
    assert stub.received() == []


def test_unknown_route_is_404_and_wrong_method_is_405(http: httpx.Client) -> None:
    assert http.get("/interaction/v1/nothing-here").status_code == 404
    assert http.post("/hub/v1/unknown").status_code == 404
    assert http.get("/interaction/v1/events").status_code == 405


def test_fail_next_answers_documented_429s_then_recovers(http: httpx.Client, stub: MarketingCloudStub) -> None:
    # GIVEN two injected 429s: one with Retry-After, one without
    stub.fail_next(429, 1, retry_after=5)
    stub.fail_next(429, 1)
    token = fetch_token(http)
    body = {"ContactKey": "c-1", "EventDefinitionKey": STUB_JOURNEY_KEY}
    # WHEN three events are posted
    first, second, third = (_enter(http, token, body) for _ in range(3))
    # THEN the first two are the two documented 429 answers, the third is accepted
    limited, blocked = EXAMPLES["rate_limiting"]["responses"]
    assert (first.status_code, first.json(), first.headers["Retry-After"]) == (429, limited["body"], "5")
    assert (second.status_code, second.json()) == (429, blocked["body"])
    assert "Retry-After" not in second.headers
    assert third.status_code == 201
    assert len(stub.received()) == 1


def test_connections_are_kept_alive(http: httpx.Client, stub: MarketingCloudStub) -> None:
    # GIVEN an HTTP/1.1 client  WHEN it makes three requests one after the other
    token = fetch_token(http)
    for _ in range(2):
        _enter(http, token, {"ContactKey": "c-1", "EventDefinitionKey": STUB_JOURNEY_KEY})
    # THEN they all travelled over one TCP connection
    assert stub.connections_opened == 1
