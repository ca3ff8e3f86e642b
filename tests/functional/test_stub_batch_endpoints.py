"""The stub's async journey batch and rowset endpoints, and its duplicate count by Idempotency-Key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from squall.stub import MarketingCloudStub
from tests.functional.delivery_support import fetch_token

EXAMPLES = json.loads((Path(__file__).parents[1] / "fixtures" / "sfmc_examples.json").read_text())
JOURNEY_KEY = "AcmeBank-AccountAccessed"  # the documented example's key


@pytest.fixture
def stub_options() -> dict[str, Any]:
    return {"journey_keys": {JOURNEY_KEY}}


@pytest.fixture
def http(http: httpx.Client) -> httpx.Client:
    """The stub's client, carrying a valid token on every request."""
    http.headers["Authorization"] = f"Bearer {fetch_token(http)}"
    return http


def test_documented_async_request_is_queued_with_one_instance_id_per_member(
    http: httpx.Client, stub: MarketingCloudStub
) -> None:
    # GIVEN the documented async request body
    request = EXAMPLES["journey_entry_event_async_batch"]["request"]["body"]
    # WHEN posted with one idempotency key per member
    response = http.post("/interaction/v1/async/events", json=request, headers={"Idempotency-Key": "k1,k2"})
    # THEN the answer has the documented fields, members in request order, each with an eventInstanceId
    body = response.json()
    assert response.status_code == 202
    assert (body["count"], body["notQueuedCount"]) == (2, 0)
    assert [m["contactKey"] for m in body["members"]] == ["ID601", "ID602"]
    assert all(m["eventInstanceId"] for m in body["members"])
    queued = stub.received_async()
    assert [(m["contactKey"], m["idempotency_key"]) for m in queued] == [("ID601", "k1"), ("ID602", "k2")]
    assert {m["requestId"] for m in queued} == {body["requestId"]}


def test_async_member_without_contact_key_is_not_queued_and_reported_in_its_slot(http: httpx.Client) -> None:
    members = [{"contactKey": "a"}, {"data": {}}, {"contactKey": "c", "data": "not an object"}]
    response = http.post("/interaction/v1/async/events", json={"eventDefinitionKey": JOURNEY_KEY, "members": members})
    body = response.json()
    assert body["notQueuedCount"] == 2
    assert "eventInstanceId" in body["members"][0]
    assert (body["members"][1]["errorcode"], body["members"][1]["message"]) == ("10002", "contactKey is required.")
    assert body["members"][2]["errorcode"] == "10001"


@pytest.mark.parametrize(
    ("body", "errorcode"),
    [
        ({"members": [{"contactKey": "a"}]}, 10002),
        ({"eventDefinitionKey": "APIEvent-unknown", "members": [{"contactKey": "a"}]}, 10000),
        ({"eventDefinitionKey": JOURNEY_KEY, "members": []}, 10002),
        ({"eventDefinitionKey": JOURNEY_KEY, "members": [{"contactKey": f"c{n}"} for n in range(101)]}, 10005),
        (["not", "an", "object"], 10004),
    ],
)
def test_malformed_async_requests_are_refused_whole(
    http: httpx.Client, stub: MarketingCloudStub, body: object, errorcode: int
) -> None:
    response = http.post("/interaction/v1/async/events", json=body)
    assert (response.status_code, response.json()["errorcode"]) == (400, errorcode)
    assert stub.received_async() == []


def test_rowset_writes_rows_up_to_the_first_bad_one_and_refuses_the_rest(
    http: httpx.Client, stub: MarketingCloudStub
) -> None:
    # GIVEN the documented two rows, then a row with a nested value, then a good row
    rows = EXAMPLES["data_extension_rowset_upsert"]["request"]["body"] + [
        {"keys": {"ContactKey": "ID603"}, "values": {"Score": {"nested": 1}}},
        {"keys": {"ContactKey": "ID604"}, "values": {"Score": "9"}},
    ]
    # WHEN upserted
    response = http.post(
        "/hub/v1/dataevents/key:MyDEExternalKey/rowset", json=rows, headers={"Idempotency-Key": "a,b,c,d"}
    )
    # THEN 400 with the aggregate error and its cause; the two rows before the bad one were written
    body = response.json()
    assert (response.status_code, body["errorcode"]) == (400, 10006)
    assert body["additionalErrors"][0]["message"] == "The value for column [Score] is not a valid scalar value."
    written = stub.received_rows()
    assert [(r["keys"]["ContactKey"], r["idempotency_key"]) for r in written] == [("ID601", "a"), ("ID602", "b")]
    assert {r["data_extension_key"] for r in written} == {"MyDEExternalKey"}


def test_good_rowset_answers_200_with_the_rows(http: httpx.Client, stub: MarketingCloudStub) -> None:
    rows = EXAMPLES["data_extension_rowset_upsert"]["request"]["body"]
    response = http.post("/hub/v1/dataevents/key:My%20DE/rowset", json=rows)
    assert (response.status_code, response.json()) == (200, rows)
    assert {r["data_extension_key"] for r in stub.received_rows()} == {"My DE"}


def test_duplicates_count_keys_accepted_before_across_sync_and_async(
    http: httpx.Client, stub: MarketingCloudStub
) -> None:
    # GIVEN key k1 accepted by the sync endpoint
    event = {"ContactKey": "c-1", "EventDefinitionKey": JOURNEY_KEY}
    http.post("/interaction/v1/events", json=event, headers={"Idempotency-Key": "k1"})
    assert stub.duplicates() == 0
    # WHEN k1 comes again, once sync and once inside an async batch, with a new key k2 beside it
    http.post("/interaction/v1/events", json=event, headers={"Idempotency-Key": "k1"})
    batch = {"eventDefinitionKey": JOURNEY_KEY, "members": [{"contactKey": "c-1"}, {"contactKey": "c-2"}]}
    http.post("/interaction/v1/async/events", json=batch, headers={"Idempotency-Key": "k1,k2"})
    # THEN two duplicates are reported (journey entries share one key space), none for k2
    assert (stub.duplicates(), stub.duplicates("events"), stub.duplicates("async")) == (2, 1, 1)


def test_a_request_answered_with_an_injected_fault_is_not_recorded(
    http: httpx.Client, stub: MarketingCloudStub
) -> None:
    stub.fail_next(503, 1, endpoint="rowset")
    rows = [{"keys": {"Id": 1}, "values": {"A": "x"}}]
    assert http.post("/hub/v1/dataevents/key:K/rowset", json=rows, headers={"Idempotency-Key": "r1"}).status_code == 503
    assert stub.received_rows() == []
    http.post("/hub/v1/dataevents/key:K/rowset", json=rows, headers={"Idempotency-Key": "r1"})
    assert (len(stub.received_rows()), stub.duplicates()) == (1, 0)


def test_stats_endpoint_reports_requests_duplicates_and_faults(http: httpx.Client, stub: MarketingCloudStub) -> None:
    stub.fail_next(500, 1)
    event = {"ContactKey": "c-1", "EventDefinitionKey": JOURNEY_KEY}
    for _ in range(3):
        http.post("/interaction/v1/events", json=event, headers={"Idempotency-Key": "same"})
    stats = http.get("/_stub/stats").json()
    assert stats["requests"]["events"] == 3
    assert stats["accepted"]["events"] == 2
    assert stats["duplicates"]["events"] == 1
    assert stats["faults_injected"] == 1
