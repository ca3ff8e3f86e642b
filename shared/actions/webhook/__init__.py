"""Signed generic webhooks: destinations from settings, target checks, HMAC signing and the
``WebhookDeliverer`` (an ``ActionSender``) for each configured destination."""

from __future__ import annotations

from shared.actions.webhook.config import WebhookDestination, webhooks_from_settings
from shared.actions.webhook.deliverer import WebhookDeliverer
from shared.actions.webhook.signing import signature_header, verify_signature

__all__ = ["WebhookDeliverer", "WebhookDestination", "signature_header", "verify_signature", "webhooks_from_settings"]
