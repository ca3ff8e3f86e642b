"""The stub's webhook receiver: ``POST /webhooks/{name}`` as a customer's endpoint would answer it.

It verifies ``X-Squall-Signature`` exactly as docs/webhooks.md tells receivers to (HMAC-SHA256 over
``t.body`` with the shared secret, within 5 minutes), against the raw body, before parsing JSON:
a wrong or missing signature is ``401``. A signed JSON object is recorded with the destination
name, its ``Idempotency-Key`` and the body, and answered ``200``; the same key again counts as a
duplicate. The stub's random faults (``--error-rate``, ``--throttle-rate``, ``--latency-ms``) hit
these requests too, so a local run shows webhooks surviving them.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared.actions.webhook.signing import verify_signature
from squall.stub import replies
from squall.stub.replies import StubReply

if TYPE_CHECKING:
    from squall.stub.behaviour import MarketingCloudBehaviour

WEBHOOK_PATH_PREFIX = "/webhooks/"


class WebhookReceiver:
    """Verifies and records signed webhook requests for every destination name, with one secret."""

    def __init__(self, secret: str, behaviour: MarketingCloudBehaviour) -> None:
        self.secret = secret
        self._behaviour = behaviour
        self.rejected_signatures = 0

    def accept(
        self,
        name: str,
        *,
        signature: str | None,
        content_type: str | None,
        raw_body: bytes,
        idempotency_key: str | None,
    ) -> StubReply:
        behaviour = self._behaviour
        behaviour.count_request("webhook")
        if behaviour.latency_s > 0:
            time.sleep(behaviour.latency_s)
        fault = behaviour.next_fault("webhook")
        if fault is not None:
            return replies.injected_fault(fault.status, retry_after=fault.retry_after)
        if not signature or not verify_signature(self.secret, signature, raw_body):
            self.rejected_signatures += 1
            return replies.rest_error(401, "X-Squall-Signature does not verify")
        if not (content_type or "").lower().startswith("application/json"):
            return replies.rest_error(415, "Unsupported Media Type")
        try:
            body: Any = json.loads(raw_body)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return replies.rest_error(400, "Request body is not a JSON object.")
        record = {
            "destination": name,
            "idempotency_key": idempotency_key,
            "body": body,
            "received_at": datetime.now(UTC),
        }
        behaviour.ledger.record("webhook", record)
        return StubReply(200, {"received": True})
