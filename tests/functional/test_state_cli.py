"""`squall state`, `squall suppress` and `squall rules explain --store/--entity` as a user runs them, on
a SQLite store that `squall run` filled (the sample rules, real pipeline, the local stub)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from shared.log_fields import entity_hash
from shared.settings import get_settings
from squall.cli import app
from squall.commands import state_cmd

ROOT = Path(__file__).resolve().parents[2]
DEE = "dee@contoso.com"


def o365(record_id: str, operation: str, workload: str, minute: int, user: str = DEE) -> dict[str, Any]:
    return {
        "CreationTime": f"2026-11-20T10:{minute:02d}:00", "Id": record_id, "Operation": operation,
        "OrganizationId": "t-1", "RecordType": 15, "ResultStatus": "Failed" if "Failed" in operation else "Succeeded",
        "UserKey": "k", "UserType": 0, "Workload": workload, "UserId": user,
    }  # fmt: skip


EVENTS = [
    o365("f1", "UserLoginFailed", "AzureActiveDirectory", 0),
    o365("c1", "CopilotInteraction", "Copilot", 1),
    o365("c2", "CopilotInteraction", "Copilot", 2, user="eve@contoso.com"),
]


def squall(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=stdin)


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store after `squall run` took dee's failed sign-in and first Copilot use, and eve's."""
    folder = tmp_path_factory.mktemp("filled")
    events = folder / "events.jsonl"
    events.write_text("".join(json.dumps(record) + "\n" for record in EVENTS))
    result = squall("run", "--events", str(events), "--store", f"sqlite:{folder / 'squall.db'}", "--push-rules",
                    "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    return folder


@pytest.fixture
def store(filled: Path, tmp_path: Path) -> str:
    """A copy of the filled store for one test, as a --store value."""
    shutil.copy(filled / "squall.db", tmp_path / "squall.db")
    return f"sqlite:{tmp_path / 'squall.db'}"


#: The sample rules that keep a window of dee's failed sign-in: the live rule and its shadow variant.
SIGN_IN_RULES = {"failed-sign-in-burst", "failed-sign-in-pair"}


def show(store: str, entity: str = DEE) -> dict[str, Any]:
    result = squall("state", "show", entity, "--store", store, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_show_prints_each_rule_memory_readably_and_as_json(store: str) -> None:
    # WHEN dee's state is shown, as text and as JSON
    text = squall("state", "show", DEE, "--store", store)
    shown = show(store)
    # THEN the text names each rule's memory; the JSON holds the same and the raw stored data
    assert text.exit_code == 0, text.output
    assert "rule copilot-first-use" in text.stdout and "cool-down: last fired 2026-11-20T10:01:00Z" in text.stdout
    assert "sliding window: events 1" in text.stdout
    assert (shown["found"], shown["suppressed"], shown["entity_hash"]) == (True, False, entity_hash(DEE))
    assert {rule["rule_id"] for rule in shown["rules"]} == {"copilot-first-use", *SIGN_IN_RULES}
    assert shown["data"]["cooldowns"] == {"copilot-first-use": "2026-11-20T10:01:00Z"}


def test_reset_without_yes_off_a_terminal_is_refused_in_one_line(store: str) -> None:
    # WHEN a reset runs from a script without --yes
    result = squall("state", "reset", DEE, "--store", store)
    # THEN it exits 2 with one line saying what to add, and nothing changed
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"error: Reset every rule of {DEE!r}: refused without --yes (stdin is not a terminal)"
    ]
    assert len(show(store)["rules"]) == 1 + len(SIGN_IN_RULES)


def test_reset_on_a_terminal_asks_and_a_no_changes_nothing(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(state_cmd, "stdin_is_terminal", lambda: True)
    declined = squall("state", "reset", DEE, "--rule", "copilot-first-use", "--store", store, stdin="n\n")
    accepted = squall("state", "reset", DEE, "--rule", "copilot-first-use", "--store", store, stdin="y\n")
    assert declined.exit_code == 1 and "nothing changed" in declined.stderr
    assert accepted.exit_code == 0, accepted.output
    assert "reset 1 rule(s)" in accepted.stdout
    assert {rule["rule_id"] for rule in show(store)["rules"]} == SIGN_IN_RULES


def test_reset_of_one_rule_keeps_the_others_and_the_replay_guards(store: str) -> None:
    # WHEN dee's Copilot cool-down is reset
    result = squall("state", "reset", DEE, "--rule", "copilot-first-use", "--store", store, "--yes", "--json")
    # THEN only it is gone; the applied sequence numbers and recent ids stay
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rules_reset"] == ["copilot-first-use"]
    after = show(store)
    assert {rule["rule_id"] for rule in after["rules"]} == SIGN_IN_RULES
    assert after["applied"] and after["recent_event_ids"] == 2


def test_rules_explain_reads_the_stored_state_of_the_entity(store: str, tmp_path: Path) -> None:
    # GIVEN dee's Copilot event again, as a file
    event = tmp_path / "copilot.json"
    event.write_text(json.dumps(o365("c9", "CopilotInteraction", "Copilot", 30)))
    rules = str(ROOT / "rules")
    # WHEN it is explained against dee's stored state, and as a stranger's
    own = squall("rules", "explain", rules, str(event), "--rule", "copilot-first-use", "--store", store, "--json")
    other = squall("rules", "explain", rules, str(event), "--rule", "copilot-first-use", "--store", store,
                   "--entity", "new@contoso.com", "--json")  # fmt: skip
    # THEN dee's stored cool-down holds it back; the stranger, with no state, fires
    assert own.exit_code == other.exit_code == 0, own.output + other.output
    assert json.loads(own.stdout)["fired"] == []
    assert json.loads(own.stdout)["rules"][0]["cooldown"]["last_fired"] == "2026-11-20T10:01:00Z"
    assert json.loads(other.stdout)["fired"] == ["copilot-first-use"]
    assert "no state stored for 'new@contoso.com'" in other.stderr


def test_rules_explain_takes_the_store_from_squall_store_and_refuses_two_states(
    store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = tmp_path / "copilot.json"
    event.write_text(json.dumps(o365("c9", "CopilotInteraction", "Copilot", 30)))
    monkeypatch.setenv("SQUALL_STORE", store)
    get_settings.cache_clear()
    try:
        by_setting = squall("rules", "explain", str(ROOT / "rules"), str(event), "--entity", DEE, "--json")
    finally:
        get_settings.cache_clear()
    both = squall("rules", "explain", str(ROOT / "rules"), str(event), "--store", store, "--state", str(event))
    assert by_setting.exit_code == 0 and json.loads(by_setting.stdout)["fired"] == []
    assert both.exit_code == 2
    assert both.stderr.strip() == "error: give the state either as --state FILE or from --store/--entity, not both"


def dead_letter_reasons(store: str) -> list[str]:
    result = squall("deadletter", "list", "--store", store, "--json")
    assert result.exit_code == 0, result.output
    return [letter["reason"] for letter in json.loads(result.stdout)]


def test_the_privacy_path_suppress_then_delete_leaves_nothing_but_the_hash(store: str, tmp_path: Path) -> None:
    # GIVEN a record of dee's that the normalizer refused, and one of eve's, parked as dead letters
    refused = tmp_path / "refused.jsonl"
    bad = [{**o365("x1", "CopilotInteraction", "Copilot", 9), "CreationTime": "soon"},
           {**o365("x2", "CopilotInteraction", "Copilot", 9, user="eve@contoso.com"), "CreationTime": "later"}]
    refused.write_text("".join(json.dumps(record) + "\n" for record in bad))
    assert squall("run", "--events", str(refused), "--store", store).exit_code == 0
    assert len(dead_letter_reasons(store)) == 2
    # WHEN dee asks to be forgotten: suppressed, then deleted
    added = squall("suppress", "add", DEE, "--store", store, "--json")
    deleted = squall("state", "delete", DEE, "--store", store, "--yes")
    assert added.exit_code == deleted.exit_code == 0, added.output + deleted.output
    assert json.loads(added.stdout)["added"] == [entity_hash(DEE)]
    # THEN her state and her dead letter are gone; eve's letter stays
    assert deleted.stdout.strip() == (
        f"deleted the state of {DEE!r}; 0 undelivered action(s) discarded; 1 dead letter(s) deleted"
    )
    assert len(dead_letter_reasons(store)) == 1
    again = squall("state", "delete", DEE, "--store", store, "--yes", "--json")
    assert json.loads(again.stdout) == {"entity": DEE, "state_deleted": False, "actions_discarded": 0,
                                        "dead_letters_deleted": 0}  # fmt: skip
    # WHEN her events arrive again (a replay, or new activity)
    events = tmp_path / "again.jsonl"
    events.write_text(json.dumps(o365("c5", "CopilotInteraction", "Copilot", 40)) + "\n")
    again = squall("run", "--events", str(events), "--store", store, "--json")
    # THEN they are counted suppressed, nothing is planned, and no state is created again
    assert again.exit_code == 0, again.output
    assert (json.loads(again.stdout)["events_suppressed"], json.loads(again.stdout)["actions_planned"]) == (1, 0)
    shown = show(store)
    assert (shown["found"], shown["suppressed"], shown["data"]) == (False, True, {})
    # AND the list shows her hash only, never her address
    listed = squall("suppress", "list", "--store", store)
    assert entity_hash(DEE) in listed.stdout and DEE not in listed.stdout
    assert listed.stdout.strip().endswith("1 suppressed (list version 1)")


def test_suppress_remove_lifts_it_and_mistakes_are_one_line(store: str) -> None:
    squall("suppress", "add", DEE, "--store", store)
    removed = squall("suppress", "remove", DEE, "nobody@contoso.com", "--store", store)
    nothing = squall("suppress", "add", "--store", store)
    bad_hash = squall("suppress", "remove", "--hash", "abc", "--store", store)
    assert removed.exit_code == 0 and "removed 1 of 2" in removed.stdout
    assert show(store)["suppressed"] is False
    assert (nothing.exit_code, nothing.stderr.strip()) == (2, "error: name at least one ENTITY (or --hash SHA256)")
    assert bad_hash.exit_code == 2 and len(bad_hash.stderr.strip().splitlines()) == 1
