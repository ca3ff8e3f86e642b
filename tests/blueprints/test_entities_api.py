"""The entity routes of the rules API: one entity's state (show, reset, delete) and the suppression list,
called as the worker calls them (real ``func.HttpRequest`` objects) on a SQLite store; every answer is
checked against openapi/rules-api.yaml by ``rules_api_client.call``."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from shared.log_fields import entity_hash
from shared.store import DeadLetter, EntityState, OutboxEntry
from shared.store.sqlite import SqliteStore
from tests.blueprints.rules_api_client import call

ANN = "ann@contoso.com"
T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def seed(db: Path) -> None:
    """Ann's state (a cool-down, a window, the replay guards), and one pending action and one dead
    letter each for her and bob."""
    state = EntityState(
        entity=ANN,
        data={
            "rules": {"burst": {"fp": "x", "t": [1714550400000]}},
            "cooldowns": {"welcome": "2024-05-01T07:00:00Z"},
            "_applied": {"0": 41},
            "_recent": ["a1b2c3d4e5f6"],
        },
    )
    entries = [
        OutboxEntry(entity=entity, key=f"k-{entity}", action={"key": f"k-{entity}"}, created_at=T0, batch="0:41")
        for entity in (ANN, "bob@contoso.com")
    ]
    letters = [
        DeadLetter(kind="action", reason="permanent: 400", payload=b"{}", entity=entity)
        for entity in (ANN, "bob@contoso.com")
    ]

    async def write() -> None:
        store = SqliteStore(db)
        try:
            await store.states.save_states([state], outbox=entries)
            await store.deadletters.write(letters)
        finally:
            await store.close()

    asyncio.run(write())


def test_get_answers_the_entity_state_per_rule_and_raw(store_path: Path) -> None:
    # GIVEN ann's stored state
    seed(store_path)
    # WHEN it is asked for (the key URL-decoded by the host into the route parameter)
    answer = call("get_entity_state", route_params={"entity": ANN})
    # THEN it is there, readable and raw, with her pending action
    assert answer.status == 200
    assert (answer.body["found"], answer.body["pending_actions"], answer.body["suppressed"]) == (True, 1, False)
    assert [rule["rule_id"] for rule in answer.body["rules"]] == ["burst", "welcome"]
    assert answer.body["data"]["cooldowns"] == {"welcome": "2024-05-01T07:00:00Z"}


def test_get_of_an_unknown_entity_answers_found_false(store_path: Path) -> None:
    answer = call("get_entity_state", route_params={"entity": "nobody@contoso.com"})
    assert (answer.status, answer.body["found"], answer.body["rules"]) == (200, False, [])


def test_reset_of_one_rule_keeps_the_rest_and_the_guards(store_path: Path) -> None:
    seed(store_path)
    answer = call("reset_entity_state", route_params={"entity": ANN}, params={"rule": "welcome"})
    assert (answer.status, answer.body["rules_reset"]) == (200, ["welcome"])
    assert answer.body["kept"] == ["wm", "_applied", "_recent"]
    after = call("get_entity_state", route_params={"entity": ANN}).body
    assert [rule["rule_id"] for rule in after["rules"]] == ["burst"]
    assert after["applied"] == {"0": 41}


def test_delete_removes_the_state_and_discards_only_her_unsent_action(store_path: Path) -> None:
    # GIVEN ann's state and a pending action each for her and bob
    seed(store_path)
    # WHEN her state is deleted
    answer = call("delete_entity_state", route_params={"entity": ANN})
    # THEN it is gone, her action discarded and her dead letter removed; asking again deletes nothing
    assert (answer.status, answer.body) == (
        200, {"entity": ANN, "state_deleted": True, "actions_discarded": 1, "dead_letters_deleted": 1}
    )  # fmt: skip
    assert call("get_entity_state", route_params={"entity": ANN}).body["found"] is False
    again = call("delete_entity_state", route_params={"entity": ANN})
    assert again.body == {"entity": ANN, "state_deleted": False, "actions_discarded": 0, "dead_letters_deleted": 0}
    assert asyncio.run(dead_letter_entities(store_path)) == ["bob@contoso.com"]

    async def pending() -> list[str]:
        store = SqliteStore(store_path)
        try:
            return [entry.entity for entry in await store.states.pending_outbox()]
        finally:
            await store.close()

    assert asyncio.run(pending()) == ["bob@contoso.com"]


async def dead_letter_entities(db: Path) -> list[str | None]:
    store = SqliteStore(db)
    try:
        return [letter.entity for letter in await store.deadletters.list()]
    finally:
        await store.close()


SLASHED = "contoso/team-a/ann@contoso.com"


def seed_slashed(db: Path) -> None:
    async def write() -> None:
        store = SqliteStore(db)
        try:
            state = EntityState(entity=SLASHED, data={"cooldowns": {"welcome": "2024-05-01T07:00:00Z"}})
            await store.states.save_states([state])
            letter = DeadLetter(kind="action", reason="permanent", payload=b"{}", entity=SLASHED)
            await store.deadletters.write([letter])
        finally:
            await store.close()

    asyncio.run(write())


def test_a_key_holding_slashes_is_shown_reset_and_deleted_through_the_query_routes(store_path: Path) -> None:
    # GIVEN state and a dead letter of an entity whose key holds "/" (which a path route never receives:
    # the host decodes %2F before matching routes), as the worker hands over ?entity=contoso%2Fteam-a%2F…
    seed_slashed(store_path)
    query = {"entity": SLASHED}
    # WHEN it is shown, reset and deleted with the key in the query
    shown = call("get_queried_entity_state", params=query)
    reset = call("reset_queried_entity_state", params={**query, "rule": "welcome"})
    deleted = call("delete_queried_entity_state", params=query)
    # THEN each acts on that entity, as the path routes do for plain keys
    assert (shown.status, shown.body["entity"], shown.body["found"]) == (200, SLASHED, True)
    assert [rule["rule_id"] for rule in shown.body["rules"]] == ["welcome"]
    assert (reset.status, reset.body["rules_reset"]) == (200, ["welcome"])
    assert (deleted.status, deleted.body) == (
        200, {"entity": SLASHED, "state_deleted": True, "actions_discarded": 0, "dead_letters_deleted": 1}
    )  # fmt: skip
    assert call("get_queried_entity_state", params=query).body["found"] is False


def test_a_query_route_without_the_entity_is_a_problem_that_says_how_to_name_it(store_path: Path) -> None:
    missing = [call(name) for name in ("get_queried_entity_state", "reset_queried_entity_state",
                                       "delete_queried_entity_state")]  # fmt: skip
    blank = call("delete_queried_entity_state", params={"entity": ""})
    assert [answer.status for answer in [*missing, blank]] == [400, 400, 400, 400]
    assert all("?entity=KEY" in answer.body["detail"] for answer in missing)
    assert "the entity key is empty" in blank.body["detail"]


def test_suppressions_are_added_listed_and_removed_by_key_or_hash(store_path: Path) -> None:
    # GIVEN ann's pending action
    seed(store_path)
    # WHEN ann is suppressed by key and bob by hash
    added = call("suppress_entities", body={"entities": [ANN], "hashes": [entity_hash("bob@contoso.com")]})
    listed = call("list_suppressions")
    # THEN both hashes are listed, never the keys, and ann's unsent action is discarded
    assert added.status == 200
    assert added.body == {"version": 1, "added": [entity_hash(ANN), entity_hash("bob@contoso.com")],
                          "actions_discarded": 1}  # fmt: skip
    assert listed.body["count"] == 2 and ANN not in str(listed.body)
    assert call("get_entity_state", route_params={"entity": ANN}).body["suppressed"] is True
    # AND removing ann lifts hers only
    removed = call("unsuppress_entities", body={"entities": [ANN, "never@contoso.com"]})
    assert (removed.status, removed.body["removed"]) == (200, [entity_hash(ANN)])
    assert [entry["entity_hash"] for entry in call("list_suppressions").body["entities"]] == [
        entity_hash("bob@contoso.com")
    ]


def test_bad_suppression_requests_are_problems_that_say_what_to_fix(store_path: Path) -> None:
    empty = call("suppress_entities", body={})
    not_hash = call("suppress_entities", body={"hashes": ["ann@contoso.com"]})
    too_many = call("suppress_entities", body={"entities": [f"u{n}" for n in range(1001)]})
    blank_key = call("get_entity_state", route_params={"entity": " "})
    assert (empty.status, not_hash.status, too_many.status, blank_key.status) == (400, 400, 413, 400)
    assert "name at least one entity" in empty.body["detail"]
    assert "not an entity hash" in not_hash.body["detail"]
    assert "at most 1000" in too_many.body["detail"]
