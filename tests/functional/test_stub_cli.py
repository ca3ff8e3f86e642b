"""`squall stub` in the foreground: banner with the env vars to set, real endpoints, clean Ctrl+C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.crash.kill_harness import read_until

ROOT = Path(__file__).resolve().parents[2]
SQUALL = [sys.executable, "-m", "squall"]  # the installed `squall` script runs the same app
BANNER_TIMEOUT_S = 30


def _interruptible() -> None:
    """In the child before exec: Ctrl+C at its default. A shell without job control starts background
    commands (a CI script's `make test &`) with SIGINT ignored, the child inherits that, and Python
    then installs no KeyboardInterrupt handler: the stub could not be stopped the way a user stops it.
    A blocked SIGINT is inherited as well, so it is unblocked too (CI's suite hit one of the two once)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _read_banner(process: subprocess.Popen[bytes]) -> str:
    """Output up to the 'Ctrl+C stops.' line."""
    return read_until(process, b"Ctrl+C stops.", BANNER_TIMEOUT_S)


@pytest.fixture
def running_stub() -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    command = [*SQUALL, "stub", "--port", "0", "--client-id", "cli-test"]
    command += ["--event-definition-key", "APIEvent-cli-a", "-k", "APIEvent-cli-b"]
    env = {k: v for k, v in os.environ.items() if k != "SQUALL_STUB_CLIENT_SECRET"}
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_interruptible
    )
    try:
        yield process, _read_banner(process)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_stub_command_prints_settings_serves_the_api_and_stops_on_ctrl_c(
    running_stub: tuple[subprocess.Popen[bytes], str],
) -> None:
    process, banner = running_stub
    # GIVEN the banner of `squall stub --port 0` without a client secret
    base_url = re.search(r"SFMC_REST_BASE_URL=(\S+)", banner).group(1)  # type: ignore[union-attr]
    secret = re.search(r"SFMC_CLIENT_SECRET=(\S+)", banner).group(1)  # type: ignore[union-attr]
    assert "SFMC_CLIENT_ID=cli-test" in banner
    assert "APIEvent-cli-a, APIEvent-cli-b" in banner
    # WHEN a client uses the printed settings
    with httpx.Client(base_url=base_url) as http:
        token_body = {"grant_type": "client_credentials", "client_id": "cli-test", "client_secret": secret}
        token = http.post("/v2/token", json=token_body).json()["access_token"]
        entry = {"ContactKey": "c-1", "EventDefinitionKey": "APIEvent-cli-b", "Data": {}}
        created = http.post("/interaction/v1/events", json=entry, headers={"Authorization": f"Bearer {token}"})
        unknown = http.post(
            "/interaction/v1/events",
            json={**entry, "EventDefinitionKey": "APIEvent-other"},
            headers={"Authorization": f"Bearer {token}"},
        )
        received = http.get("/_stub/received").json()
    # THEN the generated secret works, only configured keys are accepted, and the event is recorded
    assert (created.status_code, unknown.status_code) == (201, 400)
    assert [r["ContactKey"] for r in received] == ["c-1"]
    # AND Ctrl+C stops it cleanly
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=10) == 0


def test_stub_command_reports_a_port_in_use() -> None:
    # GIVEN a port already taken by another stub
    from squall.stub import MarketingCloudStub

    with MarketingCloudStub() as taken:
        port = taken.base_url.rsplit(":", 1)[1]
        # WHEN `squall stub` is asked to listen there
        result = subprocess.run(
            [*SQUALL, "stub", "--port", port],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    # THEN it exits 1 with a clear message instead of a traceback
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_stub_command_injects_the_faults_its_flags_ask_for() -> None:
    # GIVEN `squall stub` asked to fail every REST request, with short tokens
    command = [*SQUALL, "stub", "--port", "0", "--client-secret", "obviously-fake-cli-secret"]
    command += [
        "--error-rate",
        "1",
        "--throttle-rate",
        "0",
        "--latency-ms",
        "1",
        "--token-ttl",
        "2",
        "--fault-seed",
        "3",
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_interruptible
    )
    try:
        banner = _read_banner(process)
        base_url = re.search(r"SFMC_REST_BASE_URL=(\S+)", banner).group(1)  # type: ignore[union-attr]
        # WHEN a client gets a token and posts an event and a rowset
        with httpx.Client(base_url=base_url) as http:
            body = {
                "grant_type": "client_credentials",
                "client_id": "squall-local",
                "client_secret": "obviously-fake-cli-secret",
            }
            grant = http.post("/v2/token", json=body).json()
            headers = {"Authorization": f"Bearer {grant['access_token']}"}
            event = http.post(
                "/interaction/v1/events", json={"ContactKey": "c", "EventDefinitionKey": "k"}, headers=headers
            )
            rows = http.post("/hub/v1/dataevents/key:K/rowset", json=[{"keys": {"Id": 1}}], headers=headers)
            stats = http.get("/_stub/stats").json()
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
    # THEN the banner says so, the token lives 2 s, and both REST calls got an injected 5xx
    assert "Injecting faults: 100% 5xx, 0% 429, 1 ms latency; tokens live 2 s" in banner
    assert grant["expires_in"] == 2
    assert {event.status_code, rows.status_code} <= {500, 503}
    assert stats["faults_injected"] == 2


def test_stub_command_refuses_rates_that_add_up_to_more_than_one() -> None:
    result = subprocess.run(
        [*SQUALL, "stub", "--port", "0", "--error-rate", "0.7", "--throttle-rate", "0.5"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "must not exceed 1" in result.stderr
