"""``squall bench`` as a user runs it: JSON with the documented fields, state traffic when stateful."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

import shared.events.normalize as normalize_module
from shared.events import normalize_raw_event
from squall.bench import REQUIRED_FIELDS, BatchRunner, BenchConfig, build_ruleset
from squall.bench.runner import raw_batches
from squall.commands import bench_cmd


def bench_app() -> typer.Typer:
    app = typer.Typer(add_completion=False)
    bench_cmd.register(app)

    @app.command("version")
    def version() -> None:  # a second command keeps Typer from collapsing the app into `bench`
        print("test")

    return app


def run_bench_json(*args: str) -> dict[str, object]:
    result = CliRunner().invoke(bench_app(), ["bench", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_bench_json_has_every_documented_field_with_sane_values() -> None:
    # GIVEN a small run
    report = run_bench_json("--rules", "50", "--events", "3000", "--warmup", "500", "--seed", "2", "--repeat", "2")
    # THEN every required field is there, counts are what was asked, rates are positive
    assert set(REQUIRED_FIELDS) <= set(report)
    assert (report["rules"], report["events"], report["batch"], report["seed"]) == (50, 3000, 100, 2)
    assert report["events_per_s"] > 0 and report["us_per_event"] > 0  # type: ignore[operator]
    assert 0 < report["batch_p50_ms"] <= report["batch_p99_ms"]  # type: ignore[operator]
    assert 0 <= report["match_rate"] <= 1  # type: ignore[operator]
    assert report["batches"] == 30 and report["rejections"] == 0
    assert report["repeat"] == 2 and len(report["runs_events_per_s"]) == 2  # type: ignore[arg-type]
    machine = report["machine"]
    assert machine["cpu_count"] >= 1 and machine["python"].count(".") == 2  # type: ignore[index]
    assert "state_reads" not in report
    assert report["accelerated"] is normalize_module.ACCELERATED


def test_bench_stateful_reports_state_reads_and_writes_once_per_entity_and_batch() -> None:
    # GIVEN a stateful run
    report = run_bench_json("--rules", "200", "--events", "2000", "--warmup", "0", "--stateful")
    # THEN state traffic is reported, one write per read, at most one read per event
    reads, writes = report["state_reads"], report["state_writes"]
    assert 0 < reads == writes <= 2000  # type: ignore[operator]


def test_batch_runner_reads_each_entity_once_per_batch_and_only_when_needed() -> None:
    # GIVEN a stateful rule set and one batch in which many entities have several events
    runner = BatchRunner(build_ruleset(BenchConfig(rules=300, events=400, stateful=True)))
    (batch,) = raw_batches(400, seed=0, batch=400)
    batch += batch  # every entity twice: state must still be read and written once each
    # WHEN it runs
    runner.run(batch)
    # THEN reads = distinct entities with a passing stateful filter, each written back once
    events = [event for raw in batch for event in normalize_raw_event(raw).events]
    needing = [event.entity for event in events if runner.ruleset.needs_state(event)]
    assert len(needing) > len(set(needing))
    assert runner.counters.state_reads == runner.counters.state_writes == len(set(needing))
    assert 0 < len(set(needing)) < len({event.entity for event in events})


def test_human_output_names_throughput_latency_and_the_machine() -> None:
    result = CliRunner().invoke(bench_app(), ["bench", "--rules", "20", "--events", "500", "--warmup", "0"])
    assert result.exit_code == 0, result.output
    assert "events/s" in result.stdout and "p99" in result.stdout and "machine:" in result.stdout
