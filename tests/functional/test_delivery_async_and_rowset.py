"""Async journey batches and data-extension rowsets through MarketingCloudDeliverer and the stub."""

from __future__ import annotations

from collections import Counter
from typing import Any

from shared.actions import (
    ActionKind,
    DeliveryStatus,
    FailureKind,
    PlannedAction,
)
from squall.stub import MarketingCloudStub
from tests.functional.delivery_support import (
    STUB_JOURNEY_KEY,
    config_for_stub,
    deliver_batch,
    journey_entry,
    with_fields,
)

DE_KEY = "Usage Scores"  # a space: the key is URL-encoded in the path
ASYNC_MODE = {"journey_entry_mode": "async"}


def journey(n: int, **overrides: Any) -> PlannedAction:
    return journey_entry(f"user-{n}@contoso.example", rule_id="rule-async", data={"n": n}, **overrides)


def row(n: int, **values: Any) -> PlannedAction:
    return PlannedAction(
        key=f"row-{n:03d}",
        kind=ActionKind.DATA_EXTENSION_ROW,
        rule_id="rule-rows",
        event_id=f"event-{n}",
        entity=f"user-{n}",
        contact_key=f"user-{n}@contoso.example",
        data_extension_key=DE_KEY,
        row_keys={"ContactKey": f"user-{n}@contoso.example"},
        data=values or {"Score": n},
    )


def test_250_contacts_go_in_3_async_requests_and_each_result_maps_back(stub: MarketingCloudStub) -> None:
    # GIVEN 250 journey entries for one event definition key, in async mode
    actions = [journey(n) for n in range(250)]
    # WHEN delivered
    outcomes = deliver_batch(config_for_stub(stub, **ASYNC_MODE), actions)
    # THEN three requests carried them (100 + 100 + 50) and no sync call was made
    assert stub.async_requests == 3
    assert stub.event_requests == 0
    members = stub.received_async()
    assert len({m["requestId"] for m in members}) == 3
    # AND every action is DELIVERED with the eventInstanceId the stub gave its own contact
    instance_by_contact = {m["contactKey"]: m["eventInstanceId"] for m in members}
    assert [o.status for o in outcomes] == [DeliveryStatus.DELIVERED] * 250
    assert all(o.response_id == instance_by_contact[o.action.contact_key] for o in outcomes)
    # AND each member carried its own action's idempotency key, once
    assert sorted(m["idempotency_key"] for m in members) == sorted(a.key for a in actions)
    assert stub.duplicates() == 0


def test_a_member_the_api_does_not_queue_fails_alone_with_the_api_message(stub: MarketingCloudStub) -> None:
    # GIVEN a batch whose third member has a blank contact key
    actions = [journey(0), journey(1), journey(2, contact_key="  "), journey(3)]
    # WHEN delivered in one async request
    outcomes = deliver_batch(config_for_stub(stub, **ASYNC_MODE), actions)
    # THEN only that member FAILED (permanent, with the API's words); the others were queued
    assert [o.status for o in outcomes] == [
        DeliveryStatus.DELIVERED,
        DeliveryStatus.DELIVERED,
        DeliveryStatus.FAILED,
        DeliveryStatus.DELIVERED,
    ]
    assert outcomes[2].failure is FailureKind.PERMANENT
    assert "contactKey is required" in (outcomes[2].reason or "")
    assert stub.async_requests == 1
    assert len(stub.received_async()) == 3


def test_async_batches_are_grouped_by_event_definition_key(stub: MarketingCloudStub) -> None:
    # GIVEN entries for a known and an unknown journey, interleaved
    actions = [journey(n, event_definition_key=STUB_JOURNEY_KEY if n % 2 else "APIEvent-unknown") for n in range(6)]
    # WHEN delivered
    outcomes = deliver_batch(config_for_stub(stub, **ASYNC_MODE), actions)
    # THEN one request per key; the unknown key's members all fail with the API's 400
    assert stub.async_requests == 2
    assert [o.status is DeliveryStatus.DELIVERED for o in outcomes] == [False, True] * 3
    assert all("APIEvent-unknown" in (o.reason or "") for o in outcomes[::2])


def test_async_request_retried_after_a_503_is_queued_once(stub: MarketingCloudStub) -> None:
    # GIVEN the async endpoint fails twice
    stub.fail_next(503, 2, endpoint="async")
    # WHEN a batch of 5 is delivered
    outcomes = deliver_batch(config_for_stub(stub, **ASYNC_MODE), [journey(n) for n in range(5)])
    # THEN it is delivered on the third attempt and each contact was queued once
    assert {(o.status, o.attempts) for o in outcomes} == {(DeliveryStatus.DELIVERED, 3)}
    assert len(stub.received_async()) == 5
    assert stub.duplicates() == 0


def test_one_bad_row_is_isolated_and_the_good_rows_are_written(stub: MarketingCloudStub) -> None:
    # GIVEN 10 rows where row 4 has a non-scalar column (rows after it would be rejected with it)
    actions = [row(n) for n in range(10)]
    actions[4] = row(4, Score={"nested": "object"})
    # WHEN delivered
    outcomes = deliver_batch(config_for_stub(stub, **ASYNC_MODE), actions)
    # THEN the 9 good rows are DELIVERED and written, the bad one FAILED with the API's message
    statuses = [o.status for o in outcomes]
    assert statuses == [DeliveryStatus.DELIVERED] * 4 + [DeliveryStatus.FAILED] + [DeliveryStatus.DELIVERED] * 5
    bad = outcomes[4]
    assert bad.failure is FailureKind.PERMANENT
    assert "HTTP 400 errorcode 10006" in (bad.reason or "")
    assert "[Score]" in (bad.reason or "")
    writes = Counter(r["idempotency_key"] for r in stub.received_rows())
    assert set(writes) == {a.key for i, a in enumerate(actions) if i != 4}
    assert {r["data_extension_key"] for r in stub.received_rows()} == {DE_KEY}
    # AND only rows the API wrote before the bad one were upserted again while isolating it
    # (harmless: an upsert by primary key); the rows after it were written exactly once
    rewritten = {key for key, count in writes.items() if count > 1}
    assert rewritten <= {a.key for a in actions[:4]}
    assert stub.duplicates("rowset") == sum(writes.values()) - len(writes)


def test_rows_are_sent_in_chunks_of_rowset_batch_size(stub: MarketingCloudStub) -> None:
    # GIVEN 120 good rows and chunks of 50
    outcomes = deliver_batch(config_for_stub(stub, **ASYNC_MODE, rowset_batch_size=50), [row(n) for n in range(120)])
    # THEN three requests wrote them all, once each
    assert stub.rowset_requests == 3
    assert {o.status for o in outcomes} == {DeliveryStatus.DELIVERED}
    assert len(stub.received_rows()) == 120
    assert stub.duplicates() == 0


def test_row_actions_without_keys_fail_without_a_request(stub: MarketingCloudStub) -> None:
    no_de = with_fields(row(1), data_extension_key=None)
    no_keys = with_fields(row(2), row_keys={})
    outcomes = deliver_batch(config_for_stub(stub, **ASYNC_MODE), [no_de, no_keys])
    assert [(o.failure, o.attempts) for o in outcomes] == [(FailureKind.UNSUPPORTED, 0)] * 2
    assert "without data_extension_key" in (outcomes[0].reason or "")
    assert "without row_keys" in (outcomes[1].reason or "")
    assert stub.rowset_requests == 0
