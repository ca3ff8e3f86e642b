"""The Functions host's side of the worker protocol, for tests/host/.

``WorkerProcess`` starts ``worker_process.py`` (the real ``azure_functions_runtime`` behind a
stand-in proxy) as its own Python process with the app settings as environment variables, as the
host does, and exchanges serialized StreamingMessages with it. The helpers build the messages the
host builds: an Event Hub batch with its trigger metadata arrays, an HTTP request, a timer tick.
"""

from __future__ import annotations

import json
import os
import select
import struct
import subprocess
import sys
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

from grpc_tools import protoc

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
PROTO = HERE / "function_rpc.proto"
REPLY_TIMEOUT_S = 60.0


def compile_protos(out_dir: Path) -> ModuleType:
    """Generate ``function_rpc_pb2`` from the .proto with grpc_tools' protoc and import it."""
    include = Path(protoc.__file__).parent / "_proto"  # google/protobuf/duration.proto
    status = protoc.main(["protoc", f"-I{HERE}", f"-I{include}", f"--python_out={out_dir}", str(PROTO)])
    if status != 0:
        raise RuntimeError(f"protoc failed on {PROTO} (exit {status})")
    sys.path.insert(0, str(out_dir))
    try:
        import function_rpc_pb2
    finally:
        sys.path.remove(str(out_dir))
    return function_rpc_pb2


class WorkerFailed(AssertionError):
    """The worker process died or did not answer; the message carries its stderr."""


class WorkerProcess:
    """One language-worker process, driven message by message like the host's proxy worker."""

    def __init__(self, protos: ModuleType, protos_dir: Path, env: Mapping[str, str], log_path: Path) -> None:
        self.protos = protos
        self.log_path = log_path
        self._log = log_path.open("wb")
        self._process = subprocess.Popen(
            [sys.executable, str(HERE / "worker_process.py"), str(protos_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            cwd=str(REPO_ROOT),
            env=dict(env),
        )

    # --- the conversation ---------------------------------------------------------------------

    def init(self, app_dir: Path) -> Any:
        return self.exchange(
            worker_init_request=self.protos.WorkerInitRequest(
                host_version="4.1040.0",
                function_app_directory=str(app_dir),
                capabilities={"RpcHttpBodyOnly": "true", "TypedDataCollection": "true"},
            )
        )

    def metadata(self, app_dir: Path) -> Any:
        return self.exchange(
            functions_metadata_request=self.protos.FunctionsMetadataRequest(function_app_directory=str(app_dir))
        )

    def load(self, function: Any) -> Any:
        return self.exchange(
            function_load_request=self.protos.FunctionLoadRequest(function_id=function.function_id, metadata=function)
        )

    def reload(self, env: Mapping[str, str], app_dir: Path) -> Any:
        return self.exchange(
            function_environment_reload_request=self.protos.FunctionEnvironmentReloadRequest(
                environment_variables=dict(env), function_app_directory=str(app_dir)
            )
        )

    def invoke(self, function_id: str, inputs: Sequence[Any], trigger_metadata: Mapping[str, Any]) -> Any:
        return self.exchange(
            invocation_request=self.protos.InvocationRequest(
                invocation_id=str(uuid.uuid4()),
                function_id=function_id,
                input_data=list(inputs),
                trigger_metadata=dict(trigger_metadata),
            )
        )

    def start(self, app_dir: Path) -> dict[str, Any]:
        """Init, index and load every function, as the host does at start; name -> metadata."""
        init = self.init(app_dir)
        self.expect_success(init.result, "worker init")
        return self.index_and_load(app_dir)

    def index_and_load(self, app_dir: Path) -> dict[str, Any]:
        indexed = self.metadata(app_dir)
        self.expect_success(indexed.result, "functions metadata")
        functions = {f.name: f for f in indexed.function_metadata_results}
        for function in functions.values():
            self.expect_success(self.load(function).result, f"load {function.name}")
        return functions

    # --- plumbing -----------------------------------------------------------------------------

    def exchange(self, **content: Any) -> Any:
        request_id = str(uuid.uuid4())
        message = self.protos.StreamingMessage(request_id=request_id, **content)
        payload = message.SerializeToString()
        assert self._process.stdin is not None
        try:
            self._process.stdin.write(struct.pack(">I", len(payload)) + payload)
            self._process.stdin.flush()
        except BrokenPipeError:
            raise WorkerFailed(f"the worker exited: {self.stderr()}") from None
        reply = self.protos.StreamingMessage.FromString(self._read_reply())
        assert reply.request_id == request_id
        return getattr(reply, reply.WhichOneof("content"))

    def _read_reply(self) -> bytes:
        header = self._read_exactly(4)
        (size,) = struct.unpack(">I", header)
        return self._read_exactly(size)

    def _read_exactly(self, size: int) -> bytes:
        assert self._process.stdout is not None
        fd = self._process.stdout.fileno()
        chunks = bytearray()
        while len(chunks) < size:
            ready, _, _ = select.select([fd], [], [], REPLY_TIMEOUT_S)
            if not ready:
                raise WorkerFailed(f"no answer from the worker in {REPLY_TIMEOUT_S} s: {self.stderr()}")
            chunk = os.read(fd, size - len(chunks))
            if not chunk:
                raise WorkerFailed(f"the worker exited (code {self._process.poll()}): {self.stderr()}")
            chunks.extend(chunk)
        return bytes(chunks)

    def expect_success(self, result: Any, what: str) -> None:
        if result.status != self.protos.StatusResult.Success:
            raise WorkerFailed(f"{what} failed: {result.exception.message}\n{self.stderr()}")

    def stderr(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._log.close()


# --- what the host puts in an invocation ------------------------------------------------------------


def event_hub_batch(
    protos: ModuleType,
    partition: str,
    first_sequence: int,
    bodies: Sequence[bytes],
    *,
    metadata_count: int | None = None,
) -> tuple[list[Any], dict[str, Any]]:
    """A cardinality-many, dataType-binary Event Hubs invocation: the bodies as a bytes collection and
    the trigger metadata arrays the Event Hubs extension adds (``metadata_count`` entries each)."""
    count = len(bodies) if metadata_count is None else metadata_count
    enqueued = datetime(2026, 11, 20, 9, 16, tzinfo=UTC)
    system = [
        {
            "x-opt-sequence-number": first_sequence + i,
            "x-opt-offset": str(4096 * (first_sequence + i)),
            "x-opt-enqueued-time": (enqueued + timedelta(seconds=i)).isoformat(),
            "SequenceNumber": first_sequence + i,
            "Offset": str(4096 * (first_sequence + i)),
            "PartitionKey": None,
            "EnqueuedTimeUtc": (enqueued + timedelta(seconds=i)).isoformat(),
        }
        for i in range(count)
    ]
    json_data = protos.TypedData
    trigger_metadata = {
        "PartitionContext": json_data(
            json=json.dumps(
                {
                    "FullyQualifiedNamespace": "squall-test.servicebus.windows.net",
                    "EventHubName": "usage-events",
                    "ConsumerGroup": "squall",
                    "PartitionId": partition,
                }
            )
        ),
        "SystemPropertiesArray": json_data(json=json.dumps(system)),
        "PropertiesArray": json_data(json=json.dumps([{} for _ in range(count)])),
        "SequenceNumberArray": json_data(json=json.dumps([s["SequenceNumber"] for s in system])),
        "OffsetArray": json_data(json=json.dumps([s["Offset"] for s in system])),
        "EnqueuedTimeUtcArray": json_data(json=json.dumps([s["EnqueuedTimeUtc"] for s in system])),
        "PartitionKeyArray": json_data(json=json.dumps([None] * count)),
        "sys": json_data(json=json.dumps({"MethodName": "process_usage_events", "UtcNow": enqueued.isoformat()})),
    }
    events = protos.ParameterBinding(
        name="events", data=protos.TypedData(collection_bytes=protos.CollectionBytes(bytes=list(bodies)))
    )
    return [events], trigger_metadata


def http_request(
    protos: ModuleType,
    method: str,
    path: str,
    *,
    route_params: Mapping[str, str] | None = None,
    body: Any = None,
    raw_body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    query: Mapping[str, str] | None = None,
) -> tuple[list[Any], dict[str, Any]]:
    """An HTTP trigger invocation as the host sends it (RpcHttpBodyOnly: body as bytes)."""
    raw = raw_body if raw_body is not None else b"" if body is None else json.dumps(body).encode()
    parameters = {"code": "not-a-real-key", **(query or {})}
    request = protos.RpcHttp(
        method=method,
        url=f"http://localhost:7071/api/{path}?{urlencode(parameters)}",
        headers={"content-type": "application/json", **(headers or {})},
        body=protos.TypedData(bytes=raw),
        params=dict(route_params or {}),
        query=parameters,
    )
    req = protos.ParameterBinding(name="req", data=protos.TypedData(http=request))
    return [req], {"Query": protos.TypedData(json=json.dumps(parameters))}


def timer_tick(protos: ModuleType, *, past_due: bool = False) -> tuple[list[Any], dict[str, Any]]:
    """A timer invocation: the TimerInfo JSON the host sends."""
    info = {
        "Schedule": {"AdjustForDST": True},
        "ScheduleStatus": {"Last": "2026-11-20T09:15:00+00:00", "Next": "2026-11-20T09:17:00+00:00"},
        "IsPastDue": past_due,
    }
    timer = protos.ParameterBinding(name="timer", data=protos.TypedData(json=json.dumps(info)))
    return [timer], {}


def cosmos_documents(protos: ModuleType, documents: Sequence[Mapping[str, Any]]) -> tuple[list[Any], dict[str, Any]]:
    """A Cosmos DB trigger invocation: the changed documents as one JSON array, as the extension sends it."""
    binding = protos.ParameterBinding(name="documents", data=protos.TypedData(json=json.dumps(list(documents))))
    return [binding], {}


def http_answer(response: Any) -> tuple[int, dict[str, str], Any]:
    """Status, headers and decoded JSON body of an HTTP invocation's return value."""
    http = response.return_value.http
    body = http.body
    raw = {"bytes": body.bytes, "string": body.string.encode()}.get(body.WhichOneof("data") or "", b"")
    headers = {name.lower(): value for name, value in http.headers.items()}  # HTTP names: any case
    return int(http.status_code), headers, json.loads(raw) if raw else None
