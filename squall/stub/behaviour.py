"""What the Marketing Cloud stub does for each request, independent of HTTP plumbing. Thread-safe."""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from squall.stub import replies
from squall.stub.replies import StubReply

FaultTarget = Literal["events", "token"]
_TOKEN_SCOPE = "journeys_execute journeys_read data_extensions_read data_extensions_write"


@dataclass(frozen=True, slots=True)
class _Fault:
    status: int
    retry_after: int | None


class MarketingCloudBehaviour:
    """Tokens, journey entry events and injected faults, as the real API answers them."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        event_definition_keys: Iterable[str] | None,
        token_ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.event_definition_keys = frozenset(event_definition_keys) if event_definition_keys else None
        self.token_ttl_s = token_ttl_s
        self.base_url = ""  # set by the server once it is bound
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[str, float] = {}  # token -> expiry on self._clock
        self._received: list[dict[str, Any]] = []
        self._faults: dict[FaultTarget, deque[_Fault]] = {"events": deque(), "token": deque()}
        self.token_requests = 0
        self.event_requests = 0
        self.latency_s = 0.0
        self._in_flight = 0
        self.peak_concurrent_event_requests = 0

    # --- endpoints ---------------------------------------------------------------------------------
    def issue_token(self, raw_body: bytes) -> StubReply:
        """``POST /v2/token``."""
        with self._lock:
            self.token_requests += 1
            fault = self._next_fault("token")
        if fault is not None:
            return replies.injected_fault(fault.status, retry_after=fault.retry_after)
        body = _json_object(raw_body)
        if body is None:
            return replies.oauth_error(400, "invalid_request", "The request body must be a JSON object.")
        if body.get("grant_type") != "client_credentials":
            return replies.unsupported_grant_type()
        if not _same_secret(body.get("client_id"), self.client_id) or not _same_secret(
            body.get("client_secret"), self.client_secret
        ):
            return replies.invalid_client()
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = self._clock() + self.token_ttl_s
        return StubReply(200, self._token_body(token))

    def accept_event(
        self, *, authorization: str | None, content_type: str | None, raw_body: bytes
    ) -> StubReply:
        """``POST /interaction/v1/events``: 201 ``{eventInstanceId}`` and the event is recorded."""
        with self._lock:
            self.event_requests += 1
            self._in_flight += 1
            self.peak_concurrent_event_requests = max(self.peak_concurrent_event_requests, self._in_flight)
        try:
            if self.latency_s > 0:
                time.sleep(self.latency_s)
            return self._answer_event(authorization, content_type, raw_body)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _answer_event(
        self, authorization: str | None, content_type: str | None, raw_body: bytes
    ) -> StubReply:
        with self._lock:
            fault = self._next_fault("events")
            authorized = self._is_valid_token(authorization)
        if fault is not None:
            return replies.injected_fault(fault.status, retry_after=fault.retry_after)
        if not authorized:
            return replies.not_authorized()
        if not (content_type or "").lower().startswith("application/json"):
            return replies.rest_error(415, "Unsupported Media Type")
        body = _json_object(raw_body)
        if body is None:
            return replies.rest_error(
                400, "Request body is not a JSON object.", errorcode=replies.INVALID_MESSAGE_FORMAT
            )
        problem = self._event_problem(body)
        if problem is not None:
            return problem
        return StubReply(201, {"eventInstanceId": self._record(body)})

    # --- inspection and fault switches ---------------------------------------------------------------
    def received(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(event) for event in self._received]

    def reset_received(self) -> None:
        with self._lock:
            self._received.clear()

    def fail_next(
        self, status: int, n: int = 1, *, retry_after: int | None = None, endpoint: FaultTarget
    ) -> None:
        with self._lock:
            self._faults[endpoint].extend(_Fault(status, retry_after) for _ in range(n))

    def expire_tokens(self) -> None:
        with self._lock:
            self._tokens.clear()

    # --- internals -----------------------------------------------------------------------------------
    def _next_fault(self, endpoint: FaultTarget) -> _Fault | None:
        queue = self._faults[endpoint]
        return queue.popleft() if queue else None

    def _is_valid_token(self, authorization: str | None) -> bool:
        scheme, _, token = (authorization or "").partition(" ")
        expiry = self._tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        return expiry is not None and self._clock() < expiry

    def _event_problem(self, body: dict[str, Any]) -> StubReply | None:
        contact_key, definition_key = body.get("ContactKey"), body.get("EventDefinitionKey")
        if not isinstance(contact_key, str) or not contact_key.strip():
            return replies.rest_error(
                400, "ContactKey is required.", errorcode=replies.MISSING_REQUIRED_FIELD
            )
        if not isinstance(definition_key, str) or not definition_key.strip():
            message = "EventDefinitionKey is required."
            return replies.rest_error(400, message, errorcode=replies.MISSING_REQUIRED_FIELD)
        if self.event_definition_keys is not None and definition_key not in self.event_definition_keys:
            message = f"Event definition key '{definition_key}' was not found."
            return replies.rest_error(400, message, errorcode=replies.GENERIC_EXCEPTION)
        if not isinstance(body.get("Data", {}), dict):
            return replies.rest_error(400, "Data must be a JSON object.", errorcode=replies.INVALID_DATA_TYPE)
        return None

    def _record(self, body: dict[str, Any]) -> str:
        instance_id = str(uuid.uuid4())
        event = {
            "ContactKey": body["ContactKey"],
            "EventDefinitionKey": body["EventDefinitionKey"],
            "Data": body.get("Data") or {},
            "eventInstanceId": instance_id,
            "received_at": datetime.now(UTC),
        }
        with self._lock:
            self._received.append(event)
        return instance_id

    def _token_body(self, token: str) -> dict[str, Any]:
        base = self.base_url.rstrip("/") + "/"
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": int(self.token_ttl_s) if float(self.token_ttl_s).is_integer() else self.token_ttl_s,
            "scope": _TOKEN_SCOPE,
            "soap_instance_url": base,
            "rest_instance_url": base,
        }


def _json_object(raw_body: bytes) -> dict[str, Any] | None:
    try:
        body = json.loads(raw_body)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _same_secret(given: object, expected: str) -> bool:
    return isinstance(given, str) and secrets.compare_digest(given.encode(), expected.encode())
