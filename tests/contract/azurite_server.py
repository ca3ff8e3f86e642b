"""Runs Azurite's Blob service (npm ``azurite``, in memory) on a free localhost port for the Blob
dead-letter adapter, with a generated account name and key."""

from __future__ import annotations

import base64
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
AZURITE_BLOB = ROOT / "node_modules" / "azurite" / "dist" / "src" / "blob" / "main.js"
ACCOUNT = "squalltest"
START_TIMEOUT_S = 20


class AzuriteMissing(RuntimeError):
    """node or the npm package is not installed, or Azurite did not start."""


@dataclass
class LocalAzurite:
    process: subprocess.Popen[bytes]
    port: int
    key: str = field(repr=False)

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={self.key};"
            f"BlobEndpoint=http://127.0.0.1:{self.port}/{ACCOUNT};"
        )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def start_local_azurite(workspace: Path) -> LocalAzurite:
    node = shutil.which("node")
    if node is None or not AZURITE_BLOB.is_file():
        raise AzuriteMissing(
            f"the Blob tests need Node.js and the npm package azurite ({AZURITE_BLOB}); run `make test`"
        )
    port = _free_port()
    key = base64.b64encode(os.urandom(32)).decode()
    command = [
        node, str(AZURITE_BLOB), "--blobHost", "127.0.0.1", "--blobPort", str(port), "--inMemoryPersistence",
        "--silent", "--skipApiVersionCheck", "--disableTelemetry",
    ]  # fmt: skip
    environment = {**os.environ, "AZURITE_ACCOUNTS": f"{ACCOUNT}:{key}"}
    process = subprocess.Popen(command, cwd=workspace, env=environment, stdout=subprocess.DEVNULL)
    _wait_until_listening(process, port)
    return LocalAzurite(process=process, port=port, key=key)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_listening(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AzuriteMissing(f"Azurite exited with code {process.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    process.kill()
    raise AzuriteMissing(f"Azurite did not listen on port {port} within {START_TIMEOUT_S}s")
