"""What the Functions host reads: host.json and the functions function_app.app registers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.blueprints.conftest import registered_functions

ROOT = Path(__file__).resolve().parents[2]


def test_host_json_pins_bundle_v4_and_batches_event_hub_reads() -> None:
    host = json.loads((ROOT / "host.json").read_text())
    assert host["version"] == "2.0"
    assert host["extensionBundle"] == {"id": "Microsoft.Azure.Functions.ExtensionBundle", "version": "[4.*, 5.0.0)"}
    hubs = host["extensions"]["eventHubs"]
    assert hubs["maxEventBatchSize"] == 100  # the batch size process_batch and the local runtime use
    assert hubs["batchCheckpointFrequency"] == 1
    assert host["retry"]["strategy"] == "exponentialBackoff"  # app default; ingest overrides it below


def test_timer_function_runs_every_minute() -> None:
    function = registered_functions()["run_scheduled_work"]
    [binding] = json.loads(function.get_function_json())["bindings"]
    assert (binding["type"], binding["schedule"]) == ("timerTrigger", "0 * * * * *")


def test_ingest_function_reads_the_hub_in_batches_and_retries_whole_batches_without_limit() -> None:
    function = registered_functions()["process_usage_events"]
    [binding] = json.loads(function.get_function_json())["bindings"]
    assert binding["type"] == "eventHubTrigger"
    assert binding["cardinality"].lower() == "many"
    assert binding["connection"] == "EVENTHUB"  # identity-based: EVENTHUB__fullyQualifiedNamespace
    assert binding["eventHubName"] == "%EVENTHUB_NAME%"
    assert binding["consumerGroup"] == "%EVENTHUB_CONSUMER_GROUP%"
    retry = function.get_settings_dict("retry_policy")
    assert (retry["strategy"], retry["max_retry_count"]) == ("exponential_backoff", "-1")


def test_app_registers_the_rules_api_with_function_level_auth() -> None:
    functions = registered_functions()
    routes = {
        name: json.loads(f.get_function_json())["bindings"][0]
        for name, f in functions.items()
        if json.loads(f.get_function_json())["bindings"][0]["type"] == "httpTrigger"
    }
    assert routes, "no HTTP function registered"
    # rule-versions: the history cannot be GET rules/versions, which is the rule named "versions";
    # entities and suppressions: one entity's state and the suppression list, beside the rules
    assert {b["route"].split("/")[0] for b in routes.values()} == {"rules", "rule-versions", "entities", "suppressions"}
    assert {str(b["authLevel"]).lower() for b in routes.values()} == {"function"}



@pytest.mark.parametrize("first", ["bench", "blueprints"])
def test_the_cost_bench_and_the_blueprint_tests_index_the_app_once_between_them(first: str) -> None:
    """get_functions() refuses a second call on one app; pytest-xdist may put the cost bench's test
    and a blueprint test in one worker, in either order (CI failed on it once). A fresh interpreter
    per order, since both keep what they indexed for the life of the process."""
    bench = "from squall.bench.cosmos_cost import app_functions; handlers = app_functions()"
    blueprints = "from tests.blueprints.conftest import registered_handler; h = registered_handler('deliver_outbox')"
    steps = [bench, blueprints] if first == "bench" else [blueprints, bench]
    script = "\n".join([*steps, "print('indexed once')"])
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("indexed once")
