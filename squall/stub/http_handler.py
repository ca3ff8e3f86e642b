"""HTTP/1.1 plumbing of the Marketing Cloud stub (stdlib, threaded, keep-alive): routes to behaviour."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypedDict
from urllib.parse import unquote

from shared.actions.webhook.signing import SIGNATURE_HEADER
from squall.stub import replies
from squall.stub.behaviour import MarketingCloudBehaviour
from squall.stub.ledger import LedgerKind
from squall.stub.replies import StubReply
from squall.stub.webhooks import WEBHOOK_PATH_PREFIX, WebhookReceiver

logger = logging.getLogger(__name__)

TOKEN_PATH = "/v2/token"
EVENTS_PATH = "/interaction/v1/events"
ASYNC_EVENTS_PATH = "/interaction/v1/async/events"
ROWSET_PATH = re.compile(r"^/hub/v1/dataevents/key:(?P<key>[^/]+)/rowset$")
RECEIVED_PATH = "/_stub/received"
RECEIVED_ASYNC_PATH = "/_stub/received/async"
RECEIVED_ROWS_PATH = "/_stub/received/rows"
RECEIVED_WEBHOOKS_PATH = "/_stub/received/webhooks"
STATS_PATH = "/_stub/stats"
MAX_BODY_BYTES = 5 * 1024 * 1024
_KNOWN_PATHS = (
    TOKEN_PATH, EVENTS_PATH, ASYNC_EVENTS_PATH, RECEIVED_PATH, RECEIVED_ASYNC_PATH, RECEIVED_ROWS_PATH,
    RECEIVED_WEBHOOKS_PATH,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class RestRequest:
    """What the REST endpoints read from a request."""

    authorization: str | None
    content_type: str | None
    raw_body: bytes
    idempotency_key: str | None

    def as_kwargs(self) -> _RestKwargs:
        return {
            "authorization": self.authorization,
            "content_type": self.content_type,
            "raw_body": self.raw_body,
            "idempotency_key": self.idempotency_key,
        }


class _RestKwargs(TypedDict):
    authorization: str | None
    content_type: str | None
    raw_body: bytes
    idempotency_key: str | None


class StubHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], behaviour: MarketingCloudBehaviour, webhooks: WebhookReceiver) -> None:
        super().__init__(address, _StubRequestHandler)
        self.behaviour = behaviour
        self.webhooks = webhooks
        self.connections_opened = 0

    def process_request(self, request: Any, client_address: Any) -> None:
        self.connections_opened += 1  # one call per accepted TCP connection, in the serving thread
        super().process_request(request, client_address)


class _StubRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real API
    disable_nagle_algorithm = True  # headers and body go out as two writes; no 40 ms delayed-ACK stall
    server_version = "SquallMarketingCloudStub/1"
    server: StubHTTPServer
    timeout = 60  # idle keep-alive connections end after a minute

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        raw_body = self._read_body()
        if raw_body is None:
            return
        path = self.path.split("?", 1)[0]
        behaviour = self.server.behaviour
        headers = self.headers
        request = RestRequest(
            authorization=headers.get("Authorization"),
            content_type=headers.get("Content-Type"),
            raw_body=raw_body,
            idempotency_key=headers.get("Idempotency-Key"),
        )
        rowset = ROWSET_PATH.match(path)
        if path == TOKEN_PATH:
            self._send(behaviour.issue_token(raw_body))
        elif path == EVENTS_PATH:
            self._send(behaviour.accept_event(**request.as_kwargs()))
        elif path == ASYNC_EVENTS_PATH:
            self._send(behaviour.accept_async_events(**request.as_kwargs()))
        elif rowset is not None:
            self._send(behaviour.accept_rowset(unquote(rowset["key"]), **request.as_kwargs()))
        elif path.startswith(WEBHOOK_PATH_PREFIX) and len(path) > len(WEBHOOK_PATH_PREFIX):
            name = unquote(path[len(WEBHOOK_PATH_PREFIX) :])
            reply = self.server.webhooks.accept(
                name, signature=headers.get(SIGNATURE_HEADER), content_type=request.content_type,
                raw_body=raw_body, idempotency_key=request.idempotency_key,
            )  # fmt: skip
            self._send(reply)
        else:
            self._send_unknown(path)

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        path = self.path.split("?", 1)[0]
        ledger = self.server.behaviour.ledger
        listings = {
            RECEIVED_PATH: "events", RECEIVED_ASYNC_PATH: "async", RECEIVED_ROWS_PATH: "rowset",
            RECEIVED_WEBHOOKS_PATH: "webhook",
        }  # fmt: skip
        if path in listings:
            self._send(StubReply(200, as_json(ledger.records(listings[path]))))  # type: ignore[arg-type]
        elif path == STATS_PATH:
            self._send(StubReply(200, stats(self.server.behaviour, self.server.webhooks)))
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
        known = path in _KNOWN_PATHS or path == STATS_PATH or ROWSET_PATH.match(path) is not None
        known = known or path.startswith(WEBHOOK_PATH_PREFIX)
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


def as_json(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {name: value.isoformat() if isinstance(value, datetime) else value for name, value in record.items()}
        for record in records
    ]


def stats(behaviour: MarketingCloudBehaviour, webhooks: WebhookReceiver) -> dict[str, Any]:
    """Counts for ``GET /_stub/stats``: requests by endpoint, accepted items, duplicates, faults."""
    ledger = behaviour.ledger
    kinds: tuple[LedgerKind, ...] = ("events", "async", "rowset", "webhook")
    return {
        "requests": {"token": behaviour.token_requests, **dict(behaviour.rest_requests)},
        "accepted": {kind: len(ledger.records(kind)) for kind in kinds},
        "duplicates": {kind: ledger.duplicates(kind) for kind in kinds},
        "faults_injected": behaviour.faults_injected,
        "unauthorized_answers": behaviour.unauthorized_answers,
        "rejected_signatures": webhooks.rejected_signatures,
    }
