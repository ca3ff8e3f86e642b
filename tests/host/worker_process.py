"""A Python 3.13 language-worker process as the Functions host runs it, for tests/host/.

In Azure, the host starts a Python process whose proxy worker holds the gRPC stream and hands each
StreamingMessage to the runtime the app pins in requirements.txt (``azure_functions_runtime``):
``worker_init_request``, ``functions_metadata_request``, ``function_load_request``,
``invocation_request`` and ``function_environment_reload_request``, each given the message and the
properties ``host`` and ``protos``. This process does the proxy's part without gRPC: it reads
length-prefixed, serialized StreamingMessages on stdin, calls the real runtime's handler with them,
and writes the serialized response the same way on stdout. Everything the app prints goes to
stderr, so nothing but protocol reaches the host stand-in.

Usage: python worker_process.py PROTOS_DIR   (PROTOS_DIR holds function_rpc_pb2, built at test time)
"""

from __future__ import annotations

import asyncio
import importlib
import os
import struct
import sys
from dataclasses import dataclass, field
from typing import IO, Any

HANDLERS = {
    # request field of StreamingMessage -> (runtime handler name, response field)
    "worker_init_request": ("worker_init_request", "worker_init_response"),
    "functions_metadata_request": ("functions_metadata_request", "function_metadata_response"),
    "function_load_request": ("function_load_request", "function_load_response"),
    "invocation_request": ("invocation_request", "invocation_response"),
    "function_environment_reload_request": (
        "function_environment_reload_request",
        "function_environment_reload_response",
    ),
}


@dataclass
class ProxyRequest:
    """What the proxy worker passes to each runtime handler: the message and two properties."""

    request: Any
    properties: dict[str, Any] = field(default_factory=dict)


def read_message(stream: IO[bytes]) -> bytes | None:
    header = stream.read(4)
    if len(header) < 4:
        return None
    (size,) = struct.unpack(">I", header)
    return stream.read(size)


def write_message(stream: IO[bytes], payload: bytes) -> None:
    stream.write(struct.pack(">I", len(payload)) + payload)
    stream.flush()


async def serve(protos: Any, runtime: Any, inbox: IO[bytes], outbox: IO[bytes]) -> None:
    loop = asyncio.get_running_loop()
    runtime.start_threadpool_executor()
    while True:
        payload = await loop.run_in_executor(None, read_message, inbox)
        if payload is None:
            return
        message = protos.StreamingMessage.FromString(payload)
        kind = message.WhichOneof("content")
        if kind == "worker_init_request":  # the proxy puts the app's folder on sys.path before init
            app_dir = message.worker_init_request.function_app_directory
            if app_dir and app_dir not in sys.path:
                sys.path.insert(0, app_dir)
        handler_name, response_field = HANDLERS[kind]
        handler = getattr(runtime, handler_name)
        response = await handler(ProxyRequest(message, {"host": "127.0.0.1:0", "protos": protos}))
        reply = protos.StreamingMessage(request_id=message.request_id, **{response_field: response})
        write_message(outbox, reply.SerializeToString())


def main() -> None:
    protos_dir = sys.argv[1]
    outbox = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)  # the app's and the runtime's prints go to stderr, never into the protocol
    sys.stdout = sys.stderr
    sys.path.insert(0, protos_dir)
    protos = importlib.import_module("function_rpc_pb2")
    import azure_functions_runtime as runtime

    asyncio.run(serve(protos, runtime, sys.stdin.buffer, outbox))


if __name__ == "__main__":
    main()
