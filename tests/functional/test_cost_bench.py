"""``squall bench --store cosmos``: the real handler on the local Cosmos DB server, every request
counted. Cost follows matches: the sample rules stay within issue 12's budget, and a batch that no
rule takes costs no request."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from squall.bench.cosmos_cost import CostConfig, run_cost_bench
from squall.bench.local_cosmos import PACKAGE, ROOT

pytestmark = pytest.mark.skipif(not PACKAGE.is_dir(), reason="needs `make node` (the Cosmos DB server)")

STATE_AND_OUTBOX = ("state", "outbox")


def test_the_sample_rules_cost_at_most_three_ru_per_event_and_every_action_is_delivered() -> None:
    # WHEN 1,500 synthetic records run through the app on the sample rules, over 4 partitions
    report = run_cost_bench(CostConfig(events=1500, partitions=4))
    # THEN every planned action reached the stub, and the modelled cost is within the budget
    assert report["actions"] > 0 and report["delivered"] == report["actions"]
    assert report["ru_per_event_requests"] <= 3.0
    assert report["ru_per_event_with_expiry_and_fan_out"] <= 5.0
    # AND no request is made per event for de-duplication (the per-event dedupe item is gone)
    assert not any("dead-letter keys" in cause for cause in report["requests_by_cause"])
    assert report["requests_per_event"] < 1


def test_events_that_no_rule_takes_cost_no_state_or_outbox_request(tmp_path: Path) -> None:
    # GIVEN a rule set whose one rule waits for an event type the records never have
    (tmp_path / "never.yaml").write_text(
        "rules:\n"
        "  - id: never\n"
        "    when: {types: [Nowhere/NeverHappens]}\n"
        "    cooldown: P1D\n"
        "    action: {kind: journey_entry, event_definition_key: APIEvent-never, contact_key: '{entity}'}\n"
    )
    # WHEN 500 records run through the app
    report = run_cost_bench(CostConfig(events=500, partitions=2, rules_dir=tmp_path))
    # THEN nothing matched, and ingestion made no state, outbox or dedupe request (the rule set is read
    # by version, not per batch); the timer's minute queries are all that is left
    assert (report["matches"], report["actions"]) == (0, 0)
    assert (report["store_requests_by_phase"]["ingest"], report["store_requests_by_phase"]["relay"]) == (0, 0)
    assert set(report["requests_by_cause"]) <= {
        "rule set read", "rule set version check", "change feed reads (modelled)", "due deadlines query",
        "outbox queries (timer, backlog)",
    }  # fmt: skip


def test_the_cli_prints_the_report_as_json() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "squall", "bench", "--store", "cosmos", "--events", "400", "--partitions", "2",
         "--destination-latency-ms", "10", "--destination-latency-ms", "200", "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert {"ru_per_event_requests", "ru_per_event_with_expiry_and_fan_out", "requests_by_cause"} <= set(report)
    assert set(report["ingest"]["ingest_events_per_s_per_partition"]) == {"destination_10ms", "destination_200ms"}
