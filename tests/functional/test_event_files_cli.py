"""Event files as users have them: IoT Hub and binary-mode CloudEvents messages in the JSONL envelope
(body + properties + system properties), files that open with a byte order mark, and
``--fail-on-dead-letters`` for scripts that must notice a record that did not make it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures import load_json

ROOT = Path(__file__).resolve().parents[2]
BOM = b"\xef\xbb\xbf"
IOT = load_json("iothub_samples.json")["observed_via_event_hubs_sdk"]
CLOUDEVENTS_BINARY = load_json("cloudevents_samples.json")["binary_mode_http"]
TEAMS_EVENT = (
    b'{"Id":"e-1","CreationTime":"2024-05-01T08:00:00","Workload":"MicrosoftTeams",'
    b'"Operation":"TeamsSessionStarted","UserId":"alice@contoso.com","OrganizationId":"org-1"}'
)
HOT_DEVICE = """\
id: hot-device
when: {source: iothub, types: ["iothub/Telemetry"]}
condition: {field: attributes.body.temperature, op: gt, value: 40}
action: {kind: journey_entry, event_definition_key: APIEvent-hot-device}
"""
SOME_EVENT = """\
id: some-event
when: {source: cloudevents, types: ["com.example.someevent"]}
action: {kind: journey_entry, event_definition_key: APIEvent-some-event}
"""


def squall(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SQUALL_", "SFMC_"))}
    return subprocess.run([sys.executable, "-m", "squall", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)  # fmt: skip


def iot_envelope(item: dict[str, Any], number: int) -> dict[str, Any]:
    """A message from the fixture as a JSONL envelope (the fixture's enqueued times are culture-formatted
    text, so the envelope gives the hub's enqueued time and position)."""
    return {
        "body": item.get("body_text", item.get("body_json")),
        "properties": item["application_properties"] or {},
        "system_properties": item["system_properties"],
        "partition": "2",
        "sequence_number": number,
        "enqueued_time": "2020-10-21T00:00:00Z",
    }


def cloudevent_envelope(item: dict[str, Any]) -> dict[str, Any]:
    """An HTTP binary-mode CloudEvent from the fixture as it travels on Event Hubs: ``ce_`` properties."""
    headers = item["headers"]
    properties = {name.replace("ce-", "ce_", 1): value for name, value in headers.items() if name.startswith("ce-")}
    return {"body": item["body"], "properties": properties | {"content-type": headers["content-type"]}}


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def test_iot_hub_envelopes_normalize_with_their_device_and_system_properties(tmp_path: Path) -> None:
    # GIVEN the observed IoT Hub messages in envelopes
    events = write_jsonl(tmp_path / "iot.jsonl", [iot_envelope(item, n) for n, item in enumerate(IOT, 1)])
    # WHEN normalized
    result = squall("normalize", str(events), cwd=tmp_path)
    # THEN every message is an iothub event of its device, with its body, component and schema
    assert (result.returncode, result.stderr) == (0, "")
    normalized = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(event["source"], event["entity"]) for event in normalized] == [("iothub", "my-pnp-device")] * len(IOT)
    thermostat2 = normalized[2]
    assert (thermostat2["id"], thermostat2["type"], thermostat2["time"]) == (
        "2:3", "iothub/Telemetry", "2020-10-21T00:00:00Z")  # fmt: skip
    assert thermostat2["attributes"]["body"] == {"temperature": 41.2}
    assert thermostat2["attributes"]["component"] == "thermostat2"
    assert normalized[3]["type"] == "iothub/twinChangeEvents"


def test_run_matches_a_rule_on_iot_hub_telemetry_read_from_envelopes(tmp_path: Path) -> None:
    # GIVEN a rule for telemetry above 40 degrees and the IoT Hub messages (no position: run gives one)
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "hot.yaml").write_text(HOT_DEVICE)
    envelopes = [{k: v for k, v in iot_envelope(item, 0).items() if k not in ("partition", "sequence_number")}
                 for item in IOT]  # fmt: skip
    events = write_jsonl(tmp_path / "iot.jsonl", envelopes)
    # WHEN run locally
    result = squall("run", "--events", str(events), "--rules", str(rules), "--json", cwd=tmp_path)
    # THEN every message was normalized; the two readings above 40 (41.2, 68.8) matched and were delivered
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["events_normalized"], report["events_dead_lettered"]) == (len(IOT), 0)
    assert (report["matches_by_rule"], report["actions_delivered"]) == ({"hot-device": 2}, 2)


def test_binary_mode_cloudevents_in_envelopes_fire_rules_in_a_dry_run(tmp_path: Path) -> None:
    # GIVEN the spec's binary-mode CloudEvents with their ce_ properties, and a rule for their type
    rules = tmp_path / "some.yaml"
    rules.write_text(SOME_EVENT)
    events = write_jsonl(tmp_path / "ce.jsonl", [cloudevent_envelope(item) for item in CLOUDEVENTS_BINARY])
    # WHEN dry-run
    result = squall("rules", "test", str(rules), str(events), "--json", cwd=tmp_path)
    # THEN each event fired the rule, by its CloudEvents id
    assert result.returncode == 0, result.stderr
    firings = json.loads(result.stdout)
    assert [firing["event_id"] for firing in firings] == [
        "A234-1234-1234", "B234-1234-1234", "C234-1234-1234", "D234-1234-1234"]  # fmt: skip


@pytest.mark.parametrize(
    "command",
    [
        ("normalize", "{events}"),
        ("run", "--events", "{events}", "--fail-on-dead-letters"),
        ("rules", "test", "{rules}", "{events}", "--fail-on-dead-letters"),
        ("rules", "explain", "{rules}", "{events}"),
        ("send", "--events", "{events}", "--dry-run"),
        ("rules", "validate", "{bom_rule}"),
    ],
    ids=["normalize", "run", "rules test", "rules explain", "send", "rules validate"],
)
def test_a_file_opening_with_a_byte_order_mark_is_read_from_its_first_record(
    command: tuple[str, ...], tmp_path: Path
) -> None:
    # GIVEN files as a Windows editor saves them: a UTF-8 byte order mark first
    files = {
        "events": tmp_path / "events.jsonl",
        "bom_rule": tmp_path / "rule.json",
        "rules": ROOT / "rules",
    }
    files["events"].write_bytes(BOM + TEAMS_EVENT + b"\n")
    files["bom_rule"].write_bytes(BOM + json.dumps(json.loads(_rule_json(SOME_EVENT))).encode())
    # WHEN each reader reads it
    args = [str(files[arg[1:-1]]) if arg.startswith("{") else arg for arg in command]
    result = squall(*args, cwd=tmp_path)
    # THEN the first record is read like any other: nothing rejected or refused
    assert result.returncode == 0, result.stdout + result.stderr
    assert "invalid JSON" not in result.stderr and "refused" not in result.stderr


def _rule_json(yaml_text: str) -> str:
    import yaml

    return json.dumps(yaml.safe_load(yaml_text))


def test_fail_on_dead_letters_exits_1_after_the_report_naming_the_full_reason(tmp_path: Path) -> None:
    # GIVEN a file with one good record and one broken line
    events = tmp_path / "events.jsonl"
    events.write_bytes(TEAMS_EVENT + b'\n{"Id": \n')
    # WHEN run without and with --fail-on-dead-letters
    plain = squall("run", "--events", str(events), cwd=tmp_path)
    strict = squall("run", "--events", str(events), "--fail-on-dead-letters", cwd=tmp_path)
    # THEN both print the report with the whole reason; only the strict run exits 1
    assert plain.returncode == 0, plain.stderr
    assert strict.returncode == 1, strict.stderr
    for result in (plain, strict):
        assert "dead-lettered      1  invalid JSON: input ends before the value is complete" in result.stdout
    # AND the dry run and normalize do the same for the record they reject
    assert squall("rules", "test", str(ROOT / "rules"), str(events), cwd=tmp_path).returncode == 0
    strict_dry_run = squall("rules", "test", str(ROOT / "rules"), str(events), "--fail-on-dead-letters", cwd=tmp_path)
    assert strict_dry_run.returncode == 1
    assert squall("normalize", str(events), "--fail-on-dead-letters", cwd=tmp_path).returncode == 1
