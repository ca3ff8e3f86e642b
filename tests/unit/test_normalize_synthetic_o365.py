"""The synthetic O365 generator: deterministic, varied, quirky like the real feed, and normalizable."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from shared.events import NormalizeOptions, RawEvent, normalize_raw_event
from squall.synthetic import generate_o365_bytes, generate_o365_records

SAMPLE_SIZE = 20_000


@pytest.fixture(scope="module")
def records() -> list[dict[str, object]]:
    return list(generate_o365_records(SAMPLE_SIZE, seed=7))


def test_same_seed_gives_same_records_and_other_seed_differs() -> None:
    assert list(generate_o365_records(300, seed=3)) == list(generate_o365_records(300, seed=3))
    assert list(generate_o365_records(300, seed=3)) != list(generate_o365_records(300, seed=4))


def test_generated_records_have_the_variety_of_a_real_tenant_population(
    records: list[dict[str, object]],
) -> None:
    # GIVEN 20k records  THEN workloads, operations, users and tenants are many
    assert len({r["Workload"] for r in records}) >= 6
    assert len({r["Operation"] for r in records}) >= 15
    assert len({r["UserId"] for r in records}) >= 1000
    assert len({r["OrganizationId"] for r in records}) >= 100


def test_activity_is_skewed_like_zipf(records: list[dict[str, object]]) -> None:
    counts: dict[object, int] = {}
    for record in records:
        counts[record["UserId"]] = counts.get(record["UserId"], 0) + 1
    busiest = sorted(counts.values(), reverse=True)
    assert busiest[0] > 20 * busiest[len(busiest) // 2]


def test_generated_records_carry_the_real_feed_quirks(records: list[dict[str, object]]) -> None:
    client_ips = [r.get("ClientIP", "<missing>") for r in records]
    assert "<missing>" in client_ips and "" in client_ips
    assert any(str(ip).startswith("ffff:") for ip in client_ips)
    assert any(str(ip).startswith("[") for ip in client_ips)
    assert {r.get("ResultStatus") for r in records} >= {None, "Succeeded", "Success", "failed", "True"}
    assert {154, 261} <= {r["RecordType"] for r in records}
    assert all("Z" not in str(r["CreationTime"]) and "+" not in str(r["CreationTime"]) for r in records)


def test_times_never_decrease_and_start_where_asked() -> None:
    start = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
    times = [r["CreationTime"] for r in generate_o365_records(2000, seed=1, start=start)]
    assert times[0] == "2025-03-01T09:30:00"
    assert times == sorted(times)
    assert times[-1] > times[0]


def test_naive_start_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next(generate_o365_records(1, start=datetime(2025, 1, 1)))


def test_every_generated_record_normalizes_to_an_o365_event() -> None:
    # GIVEN generated bodies as an Event Hub would carry them
    bodies = list(generate_o365_bytes(5000, seed=11))
    # WHEN each is normalized
    events = []
    for sequence_number, body in enumerate(bodies):
        result = normalize_raw_event(
            RawEvent(body=body, partition="0", sequence_number=sequence_number), NormalizeOptions()
        )
        assert result.rejections == []
        events.extend(result.events)
    # THEN every record became an event matching its source record
    assert len(events) == len(bodies)
    first = msgspec.json.decode(bodies[0])
    assert (events[0].id, events[0].entity, events[0].tenant) == (
        first["Id"],
        first["UserId"],
        first["OrganizationId"],
    )
    assert {e.attributes["result_status"] for e in events} >= {
        "succeeded",
        "failed",
        "true",
        "partially_succeeded",
    }
    assert None in {e.attributes["client_ip"] for e in events}
