"""What the Marketing Cloud stub does for each request, independent of HTTP plumbing. Thread-safe."""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from squall.stub import replies
from squall.stub.batch_endpoints import async_request_problem, check_rowset, member_problem
from squall.stub.faults import Fault, FaultInjector, FaultRates, FaultTarget
from squall.stub.ledger import AcceptedLedger, LedgerKind, split_keys
from squall.stub.replies import StubReply

_TOKEN_SCOPE = "journeys_execute journeys_read data_extensions_read data_extensions_write"
_NOT_JSON = object()


class MarketingCloudBehaviour:
    """Tokens, journey entry events (sync and async), rowsets and injected faults, as the API answers."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        event_definition_keys: Iterable[str] | None,
        token_ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
        faults: FaultRates | None = None,
        seed: int | None = None,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.event_definition_keys = frozenset(event_definition_keys) if event_definition_keys else None
        self.token_ttl_s = token_ttl_s
        self.base_url = ""  # set by the server once it is bound
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[str, float] = {}  # token -> expiry on self._clock
        self._faults = FaultInjector(faults or FaultRates(), seed=seed)
        self.latency_s = self._faults.rates.latency_ms / 1000
        self.ledger = AcceptedLedger()
        self.token_requests = 0
        self.rest_requests: Counter[LedgerKind] = Counter()  # by endpoint: events, async, rowset, webhook
        self.unauthorized_answers = 0  # 401s for a missing, unknown or expired token
        self._in_flight = 0
        self.peak_concurrent_rest_requests = 0

    @property
    def faults_injected(self) -> int:
        return self._faults.injected

    # --- endpoints ---------------------------------------------------------------------------------
    def issue_token(self, raw_body: bytes) -> StubReply:
        """``POST /v2/token``."""
        with self._lock:
            self.token_requests += 1
            fault = self._faults.next_fault("token")
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
        self,
        *,
        authorization: str | None,
        content_type: str | None,
        raw_body: bytes,
        idempotency_key: str | None = None,
    ) -> StubReply:
        """``POST /interaction/v1/events``: 201 ``{eventInstanceId}`` and the event is recorded."""

        def answer(body: Any) -> StubReply:
            if not isinstance(body, dict):
                message = "Request body is not a JSON object."
                return replies.rest_error(400, message, errorcode=replies.INVALID_MESSAGE_FORMAT)
            problem = self._event_problem(body)
            if problem is not None:
                return problem
            return StubReply(201, {"eventInstanceId": self._record_event(body, idempotency_key)})

        return self._rest("events", authorization, content_type, raw_body, answer)

    def accept_async_events(
        self, *, authorization: str | None, content_type: str | None, raw_body: bytes, idempotency_key: str | None
    ) -> StubReply:
        """``POST /interaction/v1/async/events``: 202 with one slot per member, in request order."""

        def answer(body: Any) -> StubReply:
            problem = async_request_problem(body, self.event_definition_keys)
            if problem is not None:
                return problem
            return StubReply(202, self._queue_members(body, idempotency_key))

        return self._rest("async", authorization, content_type, raw_body, answer)

    def accept_rowset(
        self,
        data_extension_key: str,
        *,
        authorization: str | None,
        content_type: str | None,
        raw_body: bytes,
        idempotency_key: str | None,
    ) -> StubReply:
        """``POST /hub/v1/dataevents/key:{key}/rowset``: rows up to the first bad one are written."""

        def answer(body: Any) -> StubReply:
            verdict = check_rowset(data_extension_key, body)
            count = len(body) if isinstance(body, list) else 0
            keys = split_keys(idempotency_key, count)
            for row, key in zip(verdict.written, keys, strict=False):
                self._record_row(data_extension_key, row, key)
            return verdict.refusal or StubReply(200, verdict.written)

        return self._rest("rowset", authorization, content_type, raw_body, answer)

    # --- inspection and fault switches ---------------------------------------------------------------
    def received(self) -> list[dict[str, Any]]:
        return self.ledger.records("events")

    def reset_received(self) -> None:
        self.ledger.reset()

    def fail_next(
        self, status: int, n: int = 1, *, retry_after: int | None = None, endpoint: FaultTarget, after: int = 0
    ) -> None:
        with self._lock:
            self._faults.queue(endpoint, Fault(status, retry_after), n, after=after)

    def expire_tokens(self) -> None:
        with self._lock:
            self._tokens.clear()

    def count_request(self, target: LedgerKind) -> None:
        with self._lock:
            self.rest_requests[target] += 1

    def next_fault(self, target: FaultTarget) -> Fault | None:
        """The fault to answer the next ``target`` request with, if any (queued, then random)."""
        with self._lock:
            return self._faults.next_fault(target)

    # --- internals -----------------------------------------------------------------------------------
    def _rest(
        self,
        target: LedgerKind,
        authorization: str | None,
        content_type: str | None,
        raw_body: bytes,
        answer: Callable[[Any], StubReply],
    ) -> StubReply:
        """What every REST endpoint does first: count, delay, fault, auth, media type, JSON."""
        with self._lock:
            self.rest_requests[target] += 1
            self._in_flight += 1
            self.peak_concurrent_rest_requests = max(self.peak_concurrent_rest_requests, self._in_flight)
        try:
            if self.latency_s > 0:
                time.sleep(self.latency_s)
            with self._lock:
                fault = self._faults.next_fault(target)
                authorized = self._is_valid_token(authorization)
            if fault is not None:
                return replies.injected_fault(fault.status, retry_after=fault.retry_after)
            if not authorized:
                with self._lock:
                    self.unauthorized_answers += 1
                return replies.not_authorized()
            if not (content_type or "").lower().startswith("application/json"):
                return replies.rest_error(415, "Unsupported Media Type")
            body = _json_value(raw_body)
            if body is _NOT_JSON:
                message = "Request body is not valid JSON."
                return replies.rest_error(400, message, errorcode=replies.INVALID_MESSAGE_FORMAT)
            return answer(body)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _is_valid_token(self, authorization: str | None) -> bool:
        scheme, _, token = (authorization or "").partition(" ")
        expiry = self._tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        return expiry is not None and self._clock() < expiry

    def _event_problem(self, body: dict[str, Any]) -> StubReply | None:
        contact_key, definition_key = body.get("ContactKey"), body.get("EventDefinitionKey")
        if not isinstance(contact_key, str) or not contact_key.strip():
            return replies.rest_error(400, "ContactKey is required.", errorcode=replies.MISSING_REQUIRED_FIELD)
        if not isinstance(definition_key, str) or not definition_key.strip():
            message = "EventDefinitionKey is required."
            return replies.rest_error(400, message, errorcode=replies.MISSING_REQUIRED_FIELD)
        if self.event_definition_keys is not None and definition_key not in self.event_definition_keys:
            message = f"Event definition key '{definition_key}' was not found."
            return replies.rest_error(400, message, errorcode=replies.GENERIC_EXCEPTION)
        if not isinstance(body.get("Data", {}), dict):
            return replies.rest_error(400, "Data must be a JSON object.", errorcode=replies.INVALID_DATA_TYPE)
        return None

    def _record_event(self, body: dict[str, Any], idempotency_key: str | None) -> str:
        instance_id = str(uuid.uuid4())
        event = {
            "ContactKey": body["ContactKey"],
            "EventDefinitionKey": body["EventDefinitionKey"],
            "Data": body.get("Data") or {},
            "eventInstanceId": instance_id,
            "idempotency_key": idempotency_key,
            "received_at": datetime.now(UTC),
        }
        self.ledger.record("events", event)
        return instance_id

    def _queue_members(self, body: dict[str, Any], idempotency_key: str | None) -> dict[str, Any]:
        request_id = str(uuid.uuid4())
        members: list[dict[str, Any]] = body["members"]
        keys = split_keys(idempotency_key, len(members))
        slots = []
        for member, key in zip(members, keys, strict=True):
            problem = member_problem(member)
            if problem is not None:
                slots.append(problem)
                continue
            instance_id = str(uuid.uuid4())
            record = {
                "contactKey": member["contactKey"],
                "eventDefinitionKey": body["eventDefinitionKey"],
                "data": member.get("data") or {},
                "eventInstanceId": instance_id,
                "requestId": request_id,
                "idempotency_key": key,
                "received_at": datetime.now(UTC),
            }
            self.ledger.record("async", record)
            slots.append({"contactKey": member["contactKey"], "eventInstanceId": instance_id})
        not_queued = sum(1 for slot in slots if "errorcode" in slot)
        return {"requestId": request_id, "count": len(members), "notQueuedCount": not_queued, "members": slots}

    def _record_row(self, data_extension_key: str, row: dict[str, Any], key: str | None) -> None:
        record = {
            "data_extension_key": data_extension_key,
            "keys": row["keys"],
            "values": row.get("values") or {},
            "idempotency_key": key,
            "received_at": datetime.now(UTC),
        }
        self.ledger.record("rowset", record)

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


def _json_value(raw_body: bytes) -> Any:
    try:
        return json.loads(raw_body)
    except ValueError:
        return _NOT_JSON


def _json_object(raw_body: bytes) -> dict[str, Any] | None:
    body = _json_value(raw_body)
    return body if isinstance(body, dict) else None


def _same_secret(given: object, expected: str) -> bool:
    return isinstance(given, str) and secrets.compare_digest(given.encode(), expected.encode())
