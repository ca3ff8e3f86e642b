"""`squall deadletter list|show|replay` as a user runs them: subprocesses, on SQLite and on Azurite."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from azure.storage.blob.aio import ContainerClient

from shared.events.models import RawEvent
from shared.log_fields import entity_hash
from shared.pipeline import PipelineDeps, process_batch, retry_pending_outbox
from shared.rules import RuleSetCache
from shared.store.blob_deadletters import BlobDeadLetterStore
from shared.store.models import AuditOutcome, DeadLetter, DeliveryQuery
from shared.store.sqlite import SqliteStore
from squall.local_runtime import load_rules
from squall.stub import MarketingCloudStub
from tests.contract.azurite_server import LocalAzurite
from tests.fakes import RecordingSender

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
# The command group on its own app, as squall/cli.py registers it.
CLI = (
    "import typer; from squall.commands import deadletter_cmd; app = typer.Typer(); deadletter_cmd.register(app); app()"
)


def copilot_record() -> bytes:
    """A real Copilot audit record (Microsoft's documentation) that the sample rules act on."""
    lines = (FIXTURES / "o365_microsoft_docs.jsonl").read_bytes().splitlines()
    return next(line for line in lines if b'"CopilotInteraction"' in line)


def rejected_copilot() -> DeadLetter:
    return DeadLetter(
        kind="event", reason="unknown format: fixed since", payload=copilot_record(), partition="7",
        sequence_number=70, offset="7000",
    )  # fmt: skip


def still_broken() -> DeadLetter:
    return DeadLetter(kind="event", reason="not JSON", payload=b"{broken", partition="1", sequence_number=9, attempts=1)


def failed_delivery(*, key: str = "APIEvent-copilot-onboarding", attempts: int = 3) -> DeadLetter:
    """An action whose delivery failed, as the pipeline parks it."""
    action = {
        "kind": "journey_entry", "destination": "sfmc", "contact_key": "ann@contoso.com",
        "event_definition_key": key, "data": {"Tenant": "t-1"},
    }  # fmt: skip
    return DeadLetter(
        kind="action", reason="permanent: 400", payload=json.dumps(action).encode(), event_id="e-1",
        rule_id="copilot-first-use", action_key="k1", attempts=attempts,
    )  # fmt: skip


def failed_planning() -> DeadLetter:
    """A rule whose action could not be planned: the letter holds the event, not an action."""
    return DeadLetter(
        kind="action", reason="template: missing field", payload=b'{"id":"e-2"}', event_id="e-2",
        rule_id="broken-template",
    )  # fmt: skip


def squall(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DEADLETTER", "SQUALL_"))}
    return subprocess.run(
        [sys.executable, "-c", CLI, "deadletter", *args],
        cwd=ROOT, env=environment | (env or {}), capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.fixture
def sqlite_letters(tmp_path: Path) -> Iterator[str]:
    """A SQLite store holding, in order: a fixable event (id 1), a broken one (2), a failed delivery (3)."""
    yield seed_sqlite(tmp_path / "squall.db", [rejected_copilot(), still_broken(), failed_delivery()])


def seed_sqlite(path: Path, letters: list[DeadLetter], *, rules: Path | None = ROOT / "rules") -> str:
    """Letters in a SQLite store, with the sample rules stored as its rule set (``rules=None``: none)."""

    async def seed() -> None:
        store = SqliteStore(path)
        if rules is not None:
            await store.rules.save_ruleset("default", load_rules(rules))
        await store.deadletters.write(letters)
        await store.close()

    asyncio.run(seed())
    return f"sqlite:{path}"


def listed(store: str, *args: str) -> list[dict]:
    result = squall("list", "--store", store, "--json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_list_shows_letters_oldest_first_and_filters_by_kind(sqlite_letters: str) -> None:
    # WHEN the letters are listed, all and then actions only
    everything = listed(sqlite_letters)
    actions = listed(sqlite_letters, "--kind", "action")
    # THEN they come in write order with reason and provenance, and the filter keeps the action
    assert [(d["id"], d["kind"], d["reason"]) for d in everything] == [
        ("1", "event", "unknown format: fixed since"),
        ("2", "event", "not JSON"),
        ("3", "action", "permanent: 400"),
    ]
    assert (everything[0]["partition"], everything[0]["sequence_number"]) == ("7", 70)
    assert [d["id"] for d in actions] == ["3"]


def test_list_prints_a_table_for_people(sqlite_letters: str) -> None:
    # WHEN listed without --json
    result = squall("list", "--store", sqlite_letters)
    # THEN a table names each letter's reason
    assert result.returncode == 0, result.stderr
    assert "3 dead letter(s)" in result.stdout and "permanent: 400" in result.stdout


def test_show_prints_reason_provenance_and_the_original_payload(sqlite_letters: str) -> None:
    # WHEN one letter is shown, as text and as JSON
    text = squall("show", "1", "--store", sqlite_letters)
    record = json.loads(squall("show", "1", "--store", sqlite_letters, "--json").stdout)
    # THEN both carry the reason, the provenance and the payload byte for byte
    assert text.returncode == 0, text.stderr
    assert "unknown format: fixed since" in text.stdout and copilot_record().decode() in text.stdout
    assert (record["partition"], record["sequence_number"], record["offset"]) == ("7", 70, "7000")
    assert record["payload_encoding"] == "utf-8" and record["payload"].encode() == copilot_record()


def test_show_of_an_unknown_letter_fails(sqlite_letters: str) -> None:
    result = squall("show", "99", "--store", sqlite_letters)
    assert result.returncode == 1
    assert "no dead letter" in result.stderr


def test_replay_of_a_fixed_event_processes_it_and_deletes_the_letter(sqlite_letters: str) -> None:
    # WHEN the event that normalizes now is replayed
    result = squall("replay", "1", "--store", sqlite_letters, "--json")
    # THEN it went through the pipeline (its rule's action reached the stub) and its letter is gone
    assert result.returncode == 0, result.stderr
    replayed = json.loads(result.stdout)
    assert [(o["id"], o["status"]) for o in replayed["outcomes"]] == [("1", "processed")]
    assert replayed["report"]["events_normalized"] == 1
    assert replayed["report"]["actions_delivered"] == replayed["stub_received"] == 1
    assert [d["id"] for d in listed(sqlite_letters)] == ["2", "3"]


def test_replay_of_a_still_broken_event_keeps_a_new_letter_with_attempts_counted(sqlite_letters: str) -> None:
    # WHEN the event that still fails is replayed
    result = squall("replay", "2", "--store", sqlite_letters, "--json")
    # THEN the old letter is replaced by a new one: new reason, same provenance, one more attempt
    assert result.returncode == 0, result.stderr
    [outcome] = json.loads(result.stdout)["outcomes"]
    assert outcome["status"] == "dead-lettered again" and outcome["reasons"]
    letters = listed(sqlite_letters, "--kind", "event")
    assert [d["id"] for d in letters] == ["1", "4"]
    assert letters[1]["reason"] == outcome["reasons"][0]
    assert (letters[1]["partition"], letters[1]["sequence_number"], letters[1]["attempts"]) == ("1", 9, 2)


def test_replay_all_replays_events_and_resends_actions(sqlite_letters: str) -> None:
    # WHEN every letter is replayed (to the local stub)
    result = squall("replay", "--all", "--store", sqlite_letters)
    # THEN the events were processed or dead-lettered again, the action was delivered
    assert result.returncode == 0, result.stderr
    assert "2 processed, 1 dead-lettered again, 0 kept" in result.stdout
    assert "actions went to the local stub (2)" in result.stdout
    assert [(d["id"], d["kind"]) for d in listed(sqlite_letters)] == [("4", "event")]


def test_replay_resends_a_failed_action_to_the_marketing_cloud_url(sqlite_letters: str) -> None:
    # GIVEN a Marketing Cloud (the stub, over real HTTP) and its credentials in the settings
    secret = secrets.token_urlsafe(16)
    with MarketingCloudStub(client_id="replay-test", client_secret=secret) as cloud:
        env = {"SFMC_CLIENT_ID": "replay-test", "SFMC_CLIENT_SECRET": secret}
        # WHEN the action letter is replayed to it
        result = squall("replay", "3", "--sfmc-url", cloud.base_url, "--store", sqlite_letters, "--json", env=env)
        received = cloud.received()
    # THEN the journey entry arrived once and the letter is gone
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["outcomes"] == [
        {"id": "3", "kind": "action", "status": "processed", "reasons": []}
    ]
    assert [(r["ContactKey"], r["EventDefinitionKey"]) for r in received] == [
        ("ann@contoso.com", "APIEvent-copilot-onboarding")
    ]
    assert [d["id"] for d in listed(sqlite_letters)] == ["1", "2"]
    # AND the re-send is in the store's delivery audit, like a delivery of the outbox
    audit = SqliteStore(sqlite_letters.removeprefix("sqlite:"))
    records = audit.deliveries.find(DeliveryQuery())
    asyncio.run(audit.close())
    assert [(r.key, r.rule_id, r.entity, r.outcome) for r in records] == [
        ("k1", "copilot-first-use", entity_hash("ann@contoso.com"), AuditOutcome.DELIVERED)
    ]


def test_an_action_refused_again_is_parked_anew_and_a_planning_failure_is_kept(tmp_path: Path) -> None:
    # GIVEN a failed delivery to a key the destination does not know, and a failed planning
    store = seed_sqlite(tmp_path / "squall.db", [failed_delivery(key="APIEvent-gone", attempts=2), failed_planning()])
    secret = secrets.token_urlsafe(16)
    with MarketingCloudStub(client_id="replay-test", client_secret=secret, event_definition_keys={"other"}) as cloud:
        env = {"SFMC_CLIENT_ID": "replay-test", "SFMC_CLIENT_SECRET": secret}
        # WHEN both are replayed
        result = squall("replay", "--all", "--sfmc-url", cloud.base_url, "--store", store, "--json", env=env)
    # THEN the delivery failed again: a new letter with the attempts added up; the planning failure stays
    assert result.returncode == 0, result.stderr
    outcomes = json.loads(result.stdout)["outcomes"]
    assert [(o["id"], o["status"]) for o in outcomes] == [("1", "dead-lettered again"), ("2", "kept")]
    assert "broken-template" in outcomes[1]["reasons"][0]
    letters = listed(store)
    assert [(d["id"], d["attempts"]) for d in letters] == [("2", 0), ("3", 3)]
    assert letters[1]["reason"] == outcomes[0]["reasons"][0]


def test_replay_dry_run_changes_no_letter(sqlite_letters: str) -> None:
    # WHEN a dry run replays everything
    result = squall("replay", "--all", "--dry-run", "--store", sqlite_letters)
    # THEN it reports what would happen and every letter stays as it was
    assert result.returncode == 0, result.stderr
    assert "dry run: no letter changed" in result.stdout
    assert [d["id"] for d in listed(sqlite_letters)] == ["1", "2", "3"]


@pytest.mark.parametrize(
    ("args", "code"),
    [((), 2), (("1", "--all"), 2), (("1", "99"), 1), (("1", "--dry-run", "--sfmc-url", "http://x"), 2)],
)
def test_replay_refuses_unclear_or_unknown_selections_and_changes_nothing(
    sqlite_letters: str, args: tuple[str, ...], code: int
) -> None:
    # WHEN replay names no letters, both ids and --all, an unknown id, or a dry run to a real target
    result = squall("replay", *args, "--store", sqlite_letters)
    # THEN it fails and no letter changed
    assert result.returncode == code, result.stdout + result.stderr
    assert [d["id"] for d in listed(sqlite_letters)] == ["1", "2", "3"]


def test_replay_with_invalid_rules_fails_and_deletes_nothing(sqlite_letters: str, tmp_path: Path) -> None:
    # GIVEN a rule folder with an invalid rule
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "bad.yaml").write_text("id: bad\nwhen: {types: []}\naction: {kind: nonsense}\n")
    # WHEN replaying with it
    result = squall("replay", "1", "--rules", str(rules), "--store", sqlite_letters)
    # THEN the rules are named and the letter is still there
    assert result.returncode == 1
    assert "invalid rule" in result.stderr
    assert [d["id"] for d in listed(sqlite_letters)] == ["1", "2", "3"]


def test_a_missing_sqlite_store_is_named(tmp_path: Path) -> None:
    result = squall("list", "--store", f"sqlite:{tmp_path / 'absent.db'}")
    assert result.returncode == 1
    assert "no SQLite store" in result.stderr


def test_blob_letters_are_listed_from_settings_and_replayed(azurite: LocalAzurite, tmp_path: Path) -> None:
    # GIVEN letters in an Azurite container named by the emulator settings, rules in the SQUALL_STORE
    container = f"deadletter-{uuid.uuid4().hex[:12]}"
    env = {
        "DEADLETTER_CONNECTION_STRING": azurite.connection_string, "DEADLETTER_CONTAINER": container,
        "SQUALL_STORE": seed_sqlite(tmp_path / "squall.db", []),
    }  # fmt: skip

    async def seed() -> None:
        client = ContainerClient.from_connection_string(azurite.connection_string, container)
        store = BlobDeadLetterStore(client, create_container=True)
        await store.write([rejected_copilot(), failed_planning()])
        await store.close()

    asyncio.run(seed())
    # WHEN they are listed (Blob is the default when configured) and the event is replayed
    before = json.loads(squall("list", "--json", env=env).stdout)
    event_id = next(d["id"] for d in before if d["kind"] == "event")
    replayed = squall("replay", event_id, "--blob", "--json", env=env)
    shown = squall("show", before[1]["id"], "--json", env=env)
    after = json.loads(squall("list", "--json", env=env).stdout)
    # THEN ids are blob names, the event was processed and deleted, the action letter stays
    assert event_id.startswith("event/") and event_id.endswith(".json")
    assert replayed.returncode == 0, replayed.stderr
    assert json.loads(replayed.stdout)["outcomes"][0]["status"] == "processed"
    assert json.loads(shown.stdout)["rule_id"] == "broken-template"
    assert [d["kind"] for d in after] == ["action"]


def enter_contact_in_store(db: Path, record: dict) -> int:
    """Run one record through the pipeline on the store (its rules and state); the actions it planned."""

    async def run() -> int:
        store = SqliteStore(db)
        deps = PipelineDeps(
            rules=RuleSetCache(store.rules, "default"), states=store.states, dedupe=store.dedupe,
            deadletters=store.deadletters, sender=RecordingSender(),
        )  # fmt: skip
        report = await process_batch(
            [RawEvent(body=json.dumps(record).encode(), partition="3", sequence_number=1)], deps
        )
        report += await retry_pending_outbox(deps, now=datetime.now(UTC), grace=timedelta(0))  # the relay
        await store.close()
        return report.actions_delivered

    return asyncio.run(run())


def test_replay_does_not_re_enter_a_contact_in_cool_down(tmp_path: Path) -> None:
    # GIVEN a store whose rules entered a user into the Copilot journey (cool-down P365D) ...
    db = tmp_path / "squall.db"
    first = json.loads(copilot_record())
    store = seed_sqlite(db, [])
    assert enter_contact_in_store(db, first) == 1
    # ... and a dead letter of a later Copilot interaction of the same user
    later = {**first, "Id": "later-interaction"}
    seed_sqlite(
        db, [DeadLetter(kind="event", reason="store unavailable", payload=json.dumps(later).encode())], rules=None
    )
    # WHEN it is replayed (by default with the store's rule set and entity state)
    result = squall("replay", "--all", "--store", store, "--json")
    # THEN the event is processed, the contact is not entered again, the letter is gone
    assert result.returncode == 0, result.stderr
    replayed = json.loads(result.stdout)
    assert [o["status"] for o in replayed["outcomes"]] == ["processed"]
    assert replayed["report"]["events_normalized"] == 1 and replayed["report"]["actions_planned"] == 0
    assert not replayed["stub_received"]
    assert listed(store) == []


def test_replay_with_a_rules_folder_uses_a_fresh_store_as_before(tmp_path: Path) -> None:
    # GIVEN the same contact in cool-down in the store, and the letter
    db = tmp_path / "squall.db"
    first = json.loads(copilot_record())
    store = seed_sqlite(db, [])
    enter_contact_in_store(db, first)
    later = {**first, "Id": "later-interaction"}
    seed_sqlite(
        db, [DeadLetter(kind="event", reason="store unavailable", payload=json.dumps(later).encode())], rules=None
    )
    # WHEN rehearsed with --rules (a fresh store, empty state)  THEN the contact would be entered
    result = squall("replay", "--all", "--store", store, "--rules", str(ROOT / "rules"), "--dry-run", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["stub_received"] == 1
    assert len(listed(store)) == 1  # a dry run changes no letter


def test_an_action_the_store_remembers_as_delivered_is_not_sent_again(tmp_path: Path) -> None:
    # GIVEN two failed deliveries; the pipeline has since delivered the first (its key is remembered)
    db = tmp_path / "squall.db"
    other = dataclasses.replace(failed_delivery(key="APIEvent-other"), action_key="k2")
    store = seed_sqlite(db, [failed_delivery(), other])

    async def remember_first() -> None:
        opened = SqliteStore(db)
        await opened.dedupe.remember(["action:k1"], ttl_s=3600)
        await opened.close()

    asyncio.run(remember_first())
    letters = listed(store)
    # WHEN both are replayed
    result = squall("replay", "--all", "--store", store, "--json")
    # THEN the first is settled without a request, the second is sent once; both letters are gone
    assert result.returncode == 0, result.stderr
    replayed = json.loads(result.stdout)
    assert [o["status"] for o in replayed["outcomes"]] == ["processed", "processed"]
    assert "already delivered" in replayed["outcomes"][0]["reasons"][0]
    assert replayed["stub_received"] == 1
    assert listed(store) == [] and len(letters) == 2

    async def remembered() -> set[str]:
        opened = SqliteStore(db)
        try:
            return await opened.dedupe.seen(["action:k1", "action:k2"])
        finally:
            await opened.close()

    # AND the key it delivered now is remembered where the pipeline's outbox looks
    assert asyncio.run(remembered()) == {"action:k1", "action:k2"}
