"""Reading Marketing Cloud answers: error summaries and Retry-After, on the documented bodies."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import httpx

from shared.actions.sfmc.journey import RetryPolicy
from shared.actions.sfmc.responses import error_summary, response_id, retry_after_seconds

EXAMPLES = json.loads((Path(__file__).parents[1] / "fixtures" / "sfmc_examples.json").read_text())


def _response(status: int, body: object = None, headers: dict[str, str] | None = None) -> httpx.Response:
    if body is None:
        return httpx.Response(status, headers=headers)
    return httpx.Response(status, json=body, headers=headers)


def test_rest_error_summary_carries_status_errorcode_and_message() -> None:
    # GIVEN the documented 401 "Not Authorized" envelope
    example = EXAMPLES["expired_or_missing_token_on_rest_call"]
    # WHEN summarised  THEN status, code and message are there
    assert (
        error_summary(_response(example["status"], example["body"])) == "HTTP 401 errorcode 0: Not Authorized"
    )


def test_token_error_summary_uses_the_oauth_error_and_description() -> None:
    # GIVEN the recorded invalid_client answer
    example = EXAMPLES["token"]["response_401_invalid_client"]
    # WHEN summarised
    summary = error_summary(_response(example["status"], example["body"]))
    # THEN
    assert summary.startswith("HTTP 401 invalid_client: Client authentication failed.")


def test_error_summary_of_a_non_json_body_is_the_status_line_only() -> None:
    # GIVEN an HTML gateway error  WHEN summarised  THEN no body text leaks into the reason
    response = httpx.Response(502, text="<html>upstream payload echo</html>")
    assert error_summary(response) == "HTTP 502 Bad Gateway"


def test_retry_after_is_read_from_the_documented_429_and_absent_for_50200() -> None:
    # GIVEN both documented 429 answers
    with_header, without_header = EXAMPLES["rate_limiting"]["responses"]
    # WHEN / THEN: 50100 carries Retry-After 5, 50200 carries none
    assert retry_after_seconds(_response(429, with_header["body"], with_header["headers"])) == 5.0
    assert retry_after_seconds(_response(429, without_header["body"], without_header["headers"])) is None


def test_retry_after_as_http_date_is_converted_to_seconds() -> None:
    # GIVEN a Retry-After HTTP-date 30 s after "now"
    now = datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC)
    response = _response(503, headers={"Retry-After": "Mon, 05 Jan 2026 12:00:30 GMT"})
    # WHEN / THEN
    assert retry_after_seconds(response, now=now) == 30.0


def test_event_instance_id_is_read_from_the_201_body() -> None:
    example = EXAMPLES["journey_entry_event_sync"]["response_success"]
    assert response_id(_response(201, example["body"])) == example["body"]["eventInstanceId"]


def test_full_jitter_backoff_grows_exponentially_and_is_capped() -> None:
    # GIVEN base 0.2 s and cap 1 s
    policy = RetryPolicy(max_attempts=6, backoff_base_s=0.2, backoff_max_s=1.0)
    # WHEN the jitter is at its maximum  THEN the ceiling doubles per attempt up to the cap
    assert [policy.backoff_delay(n, jitter=1.0) for n in (1, 2, 3, 4)] == [0.2, 0.4, 0.8, 1.0]
    # AND jitter scales the delay down to zero
    assert policy.backoff_delay(3, jitter=0.5) == 0.4
    assert policy.backoff_delay(3, jitter=0.0) == 0.0
