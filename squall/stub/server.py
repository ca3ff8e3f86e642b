"""The Marketing Cloud stub as a real HTTP/1.1 server (stdlib, keep-alive), embeddable or foreground."""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from squall.stub import replies
from squall.stub.behaviour import FaultTarget, MarketingCloudBehaviour
from squall.stub.replies import StubReply

logger = logging.getLogger(__name__)

TOKEN_PATH = "/v2/token"
EVENTS_PATH = "/interaction/v1/events"
RECEIVED_PATH = "/_stub/received"
MAX_BODY_BYTES = 5 * 1024 * 1024


class _StubHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], behaviour: MarketingCloudBehaviour) -> None:
        super().__init__(address, _StubRequestHandler)
        self.behaviour = behaviour
        self.connections_opened = 0

    def process_request(self, request: Any, client_address: Any) -> None:
        self.connections_opened += 1  # one call per accepted TCP connection, in the serving thread
        super().process_request(request, client_address)


class _StubRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real API
    disable_nagle_algorithm = True  # headers and body go out as two writes; no 40 ms delayed-ACK stall
    server_version = "SquallMarketingCloudStub/1"
    server: _StubHTTPServer
    timeout = 60  # idle keep-alive connections end after a minute

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        raw_body = self._read_body()
        if raw_body is None:
            return
        path = self.path.split("?", 1)[0]
        behaviour = self.server.behaviour
        if path == TOKEN_PATH:
            self._send(behaviour.issue_token(raw_body))
        elif path == EVENTS_PATH:
            reply = behaviour.accept_event(
                authorization=self.headers.get("Authorization"),
                content_type=self.headers.get("Content-Type"),
                raw_body=raw_body,
            )
            self._send(reply)
        else:
            self._send_unknown(path)

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        path = self.path.split("?", 1)[0]
        if path == RECEIVED_PATH:
            self._send(StubReply(200, _as_json(self.server.behaviour.received())))
        else:
            self._send_unknown(path)

    def do_DELETE(self) -> None:  # noqa: N802 - stdlib naming
        path = self.path.split("?", 1)[0]
        if path == RECEIVED_PATH:
            self.server.behaviour.reset_received()
            self._send(StubReply(204, None))
        else:
            self._send_unknown(path)

    def _read_body(self) -> bytes | None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            self._send(replies.rest_error(413, "Request Entity Too Large"))
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _send_unknown(self, path: str) -> None:
        known = path in (TOKEN_PATH, EVENTS_PATH, RECEIVED_PATH)
        reply = replies.rest_error(405, "Method Not Allowed") if known else replies.rest_error(404, "Not Found")
        self._send(reply)

    def _send(self, reply: StubReply) -> None:
        payload = b"" if reply.body is None else json.dumps(reply.body).encode("utf-8")
        self.send_response(reply.status)
        if reply.body is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        logger.debug("%s %s", self.address_string(), format % args)


class MarketingCloudStub:
    """A local Marketing Cloud: ``with MarketingCloudStub(...) as stub: stub.base_url ...``.

    ``event_definition_keys=None`` accepts any key; a set makes every other key a 400 as the real API.
    ``client_secret=None`` generates one (``stub.client_secret``). ``port=0`` picks a free port.
    """

    def __init__(
        self,
        *,
        event_definition_keys: Iterable[str] | None = None,
        client_id: str = "squall-local",
        client_secret: str | None = None,
        token_ttl_s: float = 1200,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._behaviour = MarketingCloudBehaviour(
            client_id=client_id,
            client_secret=client_secret or secrets.token_urlsafe(24),
            event_definition_keys=event_definition_keys,
            token_ttl_s=token_ttl_s,
            clock=clock,
        )
        self._address = (host, port)
        self._server: _StubHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> Self:
        """Bind and serve in a background thread."""
        server = self._bind()
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="sfmc-stub", daemon=True
        )
        self._thread.start()
        return self

    def wait(self) -> None:
        """Block until the server stops (``squall stub`` waits here for Ctrl+C)."""
        if self._thread is not None:
            self._thread.join()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        if self._thread is not None:
            server.shutdown()
            self._thread.join()
            self._thread = None
        server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def _bind(self) -> _StubHTTPServer:
        if self._server is not None:
            raise RuntimeError("the Marketing Cloud stub is already running")
        self._server = _StubHTTPServer(self._address, self._behaviour)
        host = self._address[0]
        host = f"[{host}]" if ":" in host else host
        self._behaviour.base_url = f"http://{host}:{self._server.server_port}"
        return self._server

    # --- addresses and credentials ------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the Marketing Cloud stub is not running: call start() or use `with`")
        return self._behaviour.base_url

    @property
    def auth_base_url(self) -> str:
        return self.base_url

    @property
    def rest_base_url(self) -> str:
        return self.base_url

    @property
    def client_id(self) -> str:
        return self._behaviour.client_id

    @property
    def client_secret(self) -> str:
        return self._behaviour.client_secret

    @property
    def event_definition_keys(self) -> frozenset[str] | None:
        return self._behaviour.event_definition_keys

    # --- what happened -------------------------------------------------------------------------------
    def received(self) -> list[dict[str, Any]]:
        """Accepted events: ContactKey, EventDefinitionKey, Data, eventInstanceId, received_at (UTC)."""
        return self._behaviour.received()

    def reset_received(self) -> None:
        self._behaviour.reset_received()

    @property
    def token_requests(self) -> int:
        return self._behaviour.token_requests

    @property
    def event_requests(self) -> int:
        return self._behaviour.event_requests

    @property
    def connections_opened(self) -> int:
        """TCP connections accepted so far (keep-alive clients reuse theirs)."""
        return self._server.connections_opened if self._server is not None else 0

    @property
    def peak_concurrent_event_requests(self) -> int:
        """Most journey entry requests the stub was handling at the same moment."""
        return self._behaviour.peak_concurrent_event_requests

    # --- fault switches ------------------------------------------------------------------------------
    def fail_next(
        self, status: int, n: int = 1, *, retry_after: int | None = None, endpoint: FaultTarget = "events"
    ) -> None:
        """Answer the next ``n`` requests to ``endpoint`` with ``status`` (429 shaped as documented)."""
        self._behaviour.fail_next(status, n, retry_after=retry_after, endpoint=endpoint)

    def expire_tokens(self) -> None:
        """Every token issued so far is now expired (the next REST call gets 401 Not Authorized)."""
        self._behaviour.expire_tokens()

    def set_latency(self, seconds: float) -> None:
        """Delay every journey entry response by ``seconds``."""
        self._behaviour.latency_s = seconds


def _as_json(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**event, "received_at": event["received_at"].isoformat()} for event in events]
