"""`squall send` through the real azure-eventhub producer to a local AMQP 1.0 peer (Qpid Proton).

The peer (eventhubs_amqp_peer.py) answers CBS put-token and the management READ as Event Hubs
does, accepts batches and records each batch's partition key, bodies and content types.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from squall.send import HubTarget, open_producer, producer_batch_factory, read_jsonl, run_send
from tests.integration.amqp_performative_padding import pad_frame
from tests.integration.eventhubs_amqp_peer import EventHubsTestPeer

ROOT = Path(__file__).resolve().parents[2]
BOOTSTRAP = (
    "import sys, typer; from squall.commands import send_cmd; "
    "app = typer.Typer(pretty_exceptions_enable=False); send_cmd.register(app); "
    "app.command('version')(lambda: None); app(sys.argv[1:])"
)


def _o365_line(record_id: str, user: str, *, padding: int = 0) -> bytes:
    record = {"CreationTime": "2026-11-20T10:00:00", "Id": record_id, "Operation": "FileAccessed",
              "RecordType": 6, "UserId": user, "Workload": "OneDrive", "Pad": "x" * padding}  # fmt: skip
    return json.dumps(record, separators=(",", ":")).encode()


def test_real_producer_delivers_each_entity_in_its_own_keyed_batches() -> None:
    # GIVEN 6 records of 3 users and a local hub
    lines = [_o365_line(str(n), user) for n, user in enumerate(["ann", "bob", "ann", "cy", "bob", "ann"])]
    with EventHubsTestPeer(hub="usage-events") as peer:
        # WHEN sent with the real producer, authenticated by connection string (CBS put-token)
        environ = {"EVENTHUB_CONNECTION_STRING": peer.connection_string}
        with open_producer(HubTarget(hub=None), retries=0, environ=environ) as producer:
            report = run_send(
                read_jsonl(iter(line + b"\n" for line in lines)),
                new_batch=producer_batch_factory(producer, max_batch_bytes=None),
                send_batch=producer.send_batch,
            )
    # THEN the hub got one batch per user, keyed by the user, bodies byte for byte and in order
    assert (report.events_sent, report.batches, report.partition_keys) == (6, 3, 3)
    received = {batch.partition_key: batch.bodies for batch in peer.batches}
    assert received == {"ann": [lines[0], lines[2], lines[5]], "bob": [lines[1], lines[4]], "cy": [lines[3]]}
    assert all(batch.address.endswith("/usage-events") for batch in peer.batches)
    assert {ct for batch in peer.batches for ct in batch.content_types} == {"application/json"}
    assert peer.token_audiences and peer.token_audiences[0].endswith("/usage-events")


def test_batches_respect_the_limit_the_hub_announces() -> None:
    # GIVEN a hub whose link allows 4 KiB messages and 12 records of ~1 KB for one user
    lines = [_o365_line(str(n), "ann", padding=900) for n in range(12)]
    with EventHubsTestPeer(max_message_size=4096) as peer:
        environ = {"EVENTHUB_CONNECTION_STRING": peer.connection_string}
        with open_producer(HubTarget(hub=None), retries=0, environ=environ) as producer:
            # WHEN sent without --max-batch-bytes
            report = run_send(
                read_jsonl(iter(line + b"\n" for line in lines)),
                new_batch=producer_batch_factory(producer, max_batch_bytes=None),
                send_batch=producer.send_batch,
            )
    # THEN several batches arrived, each within the announced limit, with every record once, in order
    assert report.batches == len(peer.batches) > 1
    assert report.bytes <= 4096 * report.batches
    assert [body for batch in peer.batches for body in batch.bodies] == lines


def test_peer_writes_omitted_trailing_performative_fields_as_nulls() -> None:
    # GIVEN a close frame with its one field omitted (list0), as Proton writes it
    close = bytes([0, 0, 0, 12, 2, 0, 0, 0, 0x00, 0x53, 0x18, 0x45])
    # WHEN padded  THEN the same close, with error=null written out as a one-field list8
    assert pad_frame(close) == bytes([0, 0, 0, 15, 2, 0, 0, 0, 0x00, 0x53, 0x18, 0xC0, 0x02, 0x01, 0x40])
    # AND a complete frame (a heartbeat has no body) is left as it is
    heartbeat = bytes([0, 0, 0, 8, 2, 0, 0, 0])
    assert pad_frame(heartbeat) == heartbeat


def test_cli_sends_and_refuses_over_limit_batch_size_with_exit_2(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"\n".join(_o365_line(str(n), f"user{n % 2}") for n in range(4)) + b"\n")
    with EventHubsTestPeer(max_message_size=64 * 1024) as peer:
        env = {**os.environ, "HUB_CS": peer.connection_string}

        def squall_send(*args: str) -> subprocess.CompletedProcess:
            command = [sys.executable, "-c", BOOTSTRAP, "send", "--events", str(events), *args]
            return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)

        # WHEN `squall send` runs against the hub  THEN all 4 records arrive in 2 batches (one per user)
        sent = squall_send("--connection-string-env", "HUB_CS", "--retries", "0", "--json")
        assert sent.returncode == 0, sent.stderr
        assert json.loads(sent.stdout)["events_sent"] == 4 and len(peer.batches) == 2
        # WHEN --max-batch-bytes exceeds the hub's 64 KiB  THEN one clear line and exit 2
        too_big = squall_send(
            "--connection-string-env", "HUB_CS", "--retries", "0", "--max-batch-bytes", "1048576"
        )
        assert too_big.returncode == 2
        assert too_big.stderr.startswith("error: --max-batch-bytes: Max message size: 1048576 is too large")
        assert "Traceback" not in too_big.stderr and too_big.stderr.count("\n") == 1
