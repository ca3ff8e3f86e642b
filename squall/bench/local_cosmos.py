"""Runs tests/cosmos_server/launcher.js (the npm @vercel/cosmosdb-server plus Squall's fixes) as a
real Cosmos DB protocol peer on a free localhost port, and talks to its fault-injection endpoint.

The contract tests, the kill suite and ``squall bench --store cosmos`` start it from here; the bench
also asks it for a request log and an injected latency (``start_local_cosmos_server(env=...)``).
It needs a clone of the repository with ``make node`` done (Node.js and the npm package)."""

from __future__ import annotations

import base64
import json
import os
import queue
import shutil
import ssl
import subprocess
import threading
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository: squall/bench/ -> the clone
LAUNCHER = ROOT / "tests" / "cosmos_server" / "launcher.js"
PACKAGE = ROOT / "node_modules" / "@vercel" / "cosmosdb-server"
START_TIMEOUT_S = 20


class CosmosServerMissing(RuntimeError):
    """node or the npm package is not installed."""


@dataclass
class LocalCosmosServer:
    """A running launcher: ``endpoint`` and a generated, obviously local account key."""

    process: subprocess.Popen[str]
    port: int
    key: str = field(default_factory=lambda: base64.b64encode(os.urandom(32)).decode())

    @property
    def endpoint(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def inject_fault(self, status: int, *, count: int, retry_after_ms: int | None = None, path: str = "/docs") -> None:
        """The next ``count`` requests whose URL contains ``path`` fail with ``status``."""
        fault = {"status": status, "count": count, "retryAfterMs": retry_after_ms, "pathContains": path}
        self._control("POST", json.dumps(fault).encode())

    def clear_faults(self) -> None:
        self._control("DELETE", None)

    def _control(self, method: str, body: bytes | None) -> None:
        request = urllib.request.Request(f"{self.endpoint}/_squall/faults", data=body, method=method)
        # The launcher's certificate is the npm package's self-signed one, on 127.0.0.1 only.
        context = ssl._create_unverified_context()
        with urllib.request.urlopen(request, context=context, timeout=5) as response:
            response.read()

    def stop(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()  # the launcher exits when its stdin closes
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def start_local_cosmos_server(*, env: dict[str, str] | None = None) -> LocalCosmosServer:
    """``env``: extra environment of the launcher (``SQUALL_COSMOS_REQUEST_LOG``,
    ``SQUALL_COSMOS_LATENCY_MS``)."""
    node = shutil.which("node")
    if node is None or not PACKAGE.is_dir():
        raise CosmosServerMissing(
            "the local Cosmos DB server needs Node.js and the npm package @vercel/cosmosdb-server in "
            f"{PACKAGE}: in a clone of the repository run `make node` (or `make test`)"
        )
    process = subprocess.Popen(
        [node, str(LAUNCHER), "0"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ | (env or {}),
    )
    port = _read_port(process)
    return LocalCosmosServer(process=process, port=port)


def _read_port(process: subprocess.Popen[str]) -> int:
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout
    threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
    try:
        line = lines.get(timeout=START_TIMEOUT_S)
    except queue.Empty:
        process.kill()
        raise CosmosServerMissing(f"the Cosmos DB test server did not start within {START_TIMEOUT_S}s") from None
    if not line.startswith("listening "):
        process.kill()
        raise CosmosServerMissing(f"the Cosmos DB test server failed to start: {line!r}")
    return int(line.split()[1])
