"""`squall deadletter replay` re-sends failed actions of every kind to their destination, over HTTP."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from shared.store.models import DeadLetter
from squall.stub import MarketingCloudStub
from tests.functional.test_deadletter_cli import listed, seed_sqlite, squall

pytest.importorskip("moto.server")
from squall.eventbridge_local import LocalEventBridge  # noqa: E402

ACTIONS = {
    "k-row": {"kind": "data_extension_row", "destination": "sfmc", "contact_key": "ann@contoso.com",
              "data_extension_key": "TeamsMeetingAttendance", "row_keys": {"ContactKey": "ann@contoso.com"},
              "data": {"Tenant": "t-1"}},
    "k-hook": {"kind": "webhook", "destination": "crm", "contact_key": "ann@contoso.com", "data": {"n": 1}},
    "k-bus": {"kind": "eventbridge", "destination": "aws", "contact_key": "ann@contoso.com",
              "detail_type": "Squall usage", "data": {"n": 2}},
}  # fmt: skip


def letters() -> list[DeadLetter]:
    return [
        DeadLetter(
            kind="action", reason="transient: gave up", payload=json.dumps(action).encode(), event_id=f"e-{key}",
            rule_id="some-rule", action_key=key, attempts=5,
        )  # fmt: skip
        for key, action in ACTIONS.items()
    ]


def test_replay_to_local_receivers_delivers_a_row_a_webhook_and_an_eventbridge_event(tmp_path: Path) -> None:
    # GIVEN three failed deliveries, one of each kind
    store = seed_sqlite(tmp_path / "squall.db", letters())
    # WHEN replayed without --sfmc-url (local stub, its webhook receiver, moto's bus)
    result = squall("replay", "--all", "--store", store)
    # THEN all three were delivered and their letters deleted
    assert result.returncode == 0, result.stderr
    assert "3 processed, 0 dead-lettered again, 0 kept" in result.stdout
    assert "actions went to the local stub (3)" in result.stdout
    assert listed(store) == []


def test_replay_sends_each_kind_to_its_configured_destination(tmp_path: Path) -> None:
    # GIVEN Marketing Cloud (the stub), a webhook "crm" (its receiver) and a bus "aws" (moto), configured
    store = seed_sqlite(tmp_path / "squall.db", letters())
    secret = secrets.token_urlsafe(16)
    with MarketingCloudStub(client_id="replay", client_secret=secret) as cloud, LocalEventBridge() as bus:
        env = {
            "SFMC_CLIENT_ID": "replay", "SFMC_CLIENT_SECRET": secret,
            "SQUALL_WEBHOOKS": json.dumps({"crm": {"url": cloud.webhook_url("crm"), "allow_private": True}}),
            "SQUALL_WEBHOOK_SECRETS": json.dumps({"crm": cloud.webhook_secret}),
            "SQUALL_EVENTBRIDGE": json.dumps({"aws": bus.destination_spec()}),
        }  # fmt: skip
        # WHEN the letters are replayed
        result = squall("replay", "--all", "--store", store, "--sfmc-url", cloud.base_url, env=env)
        rows, hooks, events = cloud.received_rows(), cloud.received_webhooks(), bus.received()
    # THEN each kind reached its own destination once, with its original idempotency key
    assert result.returncode == 0, result.stderr
    assert [(r["data_extension_key"], r["keys"], r["idempotency_key"]) for r in rows] == [
        ("TeamsMeetingAttendance", {"ContactKey": "ann@contoso.com"}, "k-row")
    ]
    assert [(h["destination"], h["idempotency_key"], h["body"]["data"]) for h in hooks] == [("crm", "k-hook", {"n": 1})]
    assert [(e["detail-type"], e["detail"]["idempotency_key"]) for e in events] == [("Squall usage", "k-bus")]
    assert listed(store) == []
