"""The Marketing Cloud stub as a real HTTP/1.1 server (stdlib, keep-alive), embeddable or foreground."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

from squall.stub.behaviour import MarketingCloudBehaviour
from squall.stub.faults import FaultRates, FaultTarget
from squall.stub.http_handler import EVENTS_PATH, RECEIVED_PATH, TOKEN_PATH, StubHTTPServer
from squall.stub.ledger import LedgerKind
from squall.stub.webhooks import WEBHOOK_PATH_PREFIX, WebhookReceiver

__all__ = ["EVENTS_PATH", "RECEIVED_PATH", "TOKEN_PATH", "MarketingCloudStub"]


class MarketingCloudStub:
    """A local Marketing Cloud: ``with MarketingCloudStub(...) as stub: stub.base_url ...``.

    ``event_definition_keys=None`` accepts any key; a set makes every other key a 400 as the real API.
    ``client_secret=None`` generates one (``stub.client_secret``). ``port=0`` picks a free port.
    Fault injection: ``error_rate`` (share of REST requests answered 500/503), ``throttle_rate``
    (share answered 429, half with ``Retry-After: throttle_retry_after_s``, half without),
    ``latency_ms`` (delay of every REST answer), ``token_ttl_s`` (token lifetime), ``seed``.
    A request that got an injected fault is not recorded as accepted.

    It is also every signed webhook's receiver: ``webhook_url(name)`` is where destination ``name``
    posts, verified with ``webhook_secret`` (``None`` generates one); ``received_webhooks()`` lists
    what was accepted.
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
        error_rate: float = 0.0,
        throttle_rate: float = 0.0,
        latency_ms: int = 0,
        throttle_retry_after_s: int = 1,
        seed: int | None = None,
        webhook_secret: str | None = None,
    ) -> None:
        rates = FaultRates(
            error_rate=error_rate,
            throttle_rate=throttle_rate,
            latency_ms=latency_ms,
            throttle_retry_after_s=throttle_retry_after_s,
        )
        self._behaviour = MarketingCloudBehaviour(
            client_id=client_id,
            client_secret=client_secret or secrets.token_urlsafe(24),
            event_definition_keys=event_definition_keys,
            token_ttl_s=token_ttl_s,
            clock=clock,
            faults=rates,
            seed=seed,
        )
        self._webhooks = WebhookReceiver(webhook_secret or secrets.token_urlsafe(24), self._behaviour)
        self.fault_rates = rates
        self._address = (host, port)
        self._server: StubHTTPServer | None = None
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

    def _bind(self) -> StubHTTPServer:
        if self._server is not None:
            raise RuntimeError("the Marketing Cloud stub is already running")
        self._server = StubHTTPServer(self._address, self._behaviour, self._webhooks)
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
    def webhook_secret(self) -> str:
        """The signing secret the webhook receiver verifies with (a local fake)."""
        return self._webhooks.secret

    def webhook_url(self, name: str) -> str:
        """Where webhook destination ``name`` posts (``POST /webhooks/{name}``)."""
        return f"{self.base_url}{WEBHOOK_PATH_PREFIX}{quote(name, safe='')}"

    @property
    def event_definition_keys(self) -> frozenset[str] | None:
        return self._behaviour.event_definition_keys

    @property
    def token_ttl_s(self) -> float:
        return self._behaviour.token_ttl_s

    # --- what happened -------------------------------------------------------------------------------
    def received(self) -> list[dict[str, Any]]:
        """Accepted sync journey events: ContactKey, EventDefinitionKey, Data, eventInstanceId,
        idempotency_key, received_at (UTC)."""
        return self._behaviour.ledger.records("events")

    def received_async(self) -> list[dict[str, Any]]:
        """Queued async batch members: contactKey, eventDefinitionKey, data, eventInstanceId,
        requestId, idempotency_key, received_at."""
        return self._behaviour.ledger.records("async")

    def received_rows(self) -> list[dict[str, Any]]:
        """Written rowset rows: data_extension_key, keys, values, idempotency_key, received_at."""
        return self._behaviour.ledger.records("rowset")

    def received_webhooks(self) -> list[dict[str, Any]]:
        """Signed webhook requests accepted: destination, idempotency_key, body, received_at."""
        return self._behaviour.ledger.records("webhook")

    @property
    def webhook_requests(self) -> int:
        return self._behaviour.rest_requests["webhook"]

    @property
    def rejected_signatures(self) -> int:
        """Webhook requests answered 401 because their signature did not verify."""
        return self._webhooks.rejected_signatures

    def duplicates(self, endpoint: LedgerKind | None = None) -> int:
        """Accepted items whose Idempotency-Key had been accepted before (journey entries sync and
        async share one key space, rows another, webhooks a third); ``endpoint`` narrows to
        events/async/rowset/webhook."""
        return self._behaviour.ledger.duplicates(endpoint)

    def reset_received(self) -> None:
        """Forget everything accepted, and the idempotency keys seen."""
        self._behaviour.reset_received()

    @property
    def token_requests(self) -> int:
        return self._behaviour.token_requests

    @property
    def event_requests(self) -> int:
        return self._behaviour.rest_requests["events"]

    @property
    def async_requests(self) -> int:
        return self._behaviour.rest_requests["async"]

    @property
    def rowset_requests(self) -> int:
        return self._behaviour.rest_requests["rowset"]

    @property
    def faults_injected(self) -> int:
        """Requests answered with an injected fault (queued or random)."""
        return self._behaviour.faults_injected

    @property
    def unauthorized_answers(self) -> int:
        """REST requests answered 401 because the token was missing, unknown or expired."""
        return self._behaviour.unauthorized_answers

    @property
    def connections_opened(self) -> int:
        """TCP connections accepted so far (keep-alive clients reuse theirs)."""
        return self._server.connections_opened if self._server is not None else 0

    def request_hosts(self) -> dict[str, dict[str, int]]:
        """POSTs by endpoint — ``token`` (the auth base's) and ``rest`` (journeys, rows, webhooks) —
        and the Host header each named: which base URL a client used for which call."""
        return self._server.request_hosts() if self._server is not None else {"token": {}, "rest": {}}

    @property
    def peak_concurrent_event_requests(self) -> int:
        """Most REST requests (events, async, rowset) the stub was handling at the same moment."""
        return self._behaviour.peak_concurrent_rest_requests

    # --- fault switches ------------------------------------------------------------------------------
    def fail_next(
        self,
        status: int,
        n: int = 1,
        *,
        retry_after: int | None = None,
        endpoint: FaultTarget = "events",
        after: int = 0,
    ) -> None:
        """Answer ``n`` requests to ``endpoint`` (events, async, rowset, token) with ``status`` (429
        shaped as documented), after letting the next ``after`` through; before any random fault."""
        self._behaviour.fail_next(status, n, retry_after=retry_after, endpoint=endpoint, after=after)

    def expire_tokens(self) -> None:
        """Every token issued so far is now expired (the next REST call gets 401 Not Authorized)."""
        self._behaviour.expire_tokens()

    def set_latency(self, seconds: float) -> None:
        """Delay every REST response by ``seconds``."""
        self._behaviour.latency_s = seconds
