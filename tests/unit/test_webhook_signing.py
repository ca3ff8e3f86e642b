"""Webhook signatures: the documented string, verified by the function receivers copy."""

from __future__ import annotations

import hashlib
import hmac

from shared.actions.webhook.signing import signature_header, verify_signature

SECRET = "obviously-fake-webhook-secret"
BODY = '{"idempotency_key":"k-1","data":{"name":"Zoë"}}'.encode()


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    # GIVEN a body signed at t=1700000000
    header = signature_header(SECRET, BODY, timestamp=1_700_000_000)
    # THEN the header is exactly t=<unix>,v1=<hex hmac_sha256(secret, f"{t}.{body}")>
    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"


def test_receiver_accepts_a_fresh_valid_signature() -> None:
    header = signature_header(SECRET, BODY, timestamp=1_700_000_000)
    assert verify_signature(SECRET, header, BODY, now=1_700_000_100)


def test_receiver_refuses_a_tampered_body_a_wrong_secret_and_an_old_timestamp() -> None:
    header = signature_header(SECRET, BODY, timestamp=1_700_000_000)
    assert not verify_signature(SECRET, header, BODY + b" ", now=1_700_000_000)
    assert not verify_signature("another-fake-secret-value", header, BODY, now=1_700_000_000)
    assert not verify_signature(SECRET, header, BODY, now=1_700_000_000 + 301)


def test_receiver_refuses_malformed_headers() -> None:
    for header in ("", "v1=abc", "t=1700000000", "t=soon,v1=abc", "garbage"):
        assert not verify_signature(SECRET, header, BODY, now=1_700_000_000)


def test_receiver_accepts_any_of_several_v1_values_during_secret_rotation() -> None:
    old = signature_header("old-fake-secret-value-1", BODY, timestamp=1_700_000_000).split("v1=")[1]
    new = signature_header(SECRET, BODY, timestamp=1_700_000_000).split("v1=")[1]
    assert verify_signature(SECRET, f"t=1700000000,v1={old},v1={new}", BODY, now=1_700_000_000)
