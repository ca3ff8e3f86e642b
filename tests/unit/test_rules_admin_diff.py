"""``diff_rulesets``: what replacing one rule set by another changes, by rule id."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from shared.rules_admin import RuleChange, diff_rulesets


def rule(rule_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": rule_id, "action": {"kind": "journey_entry", "event_definition_key": "K"}, **fields}


def test_added_removed_changed_and_unchanged_rules_are_told_apart() -> None:
    # GIVEN a stored set and a proposed one that edits, drops, keeps and adds rules
    current = [rule("edited", priority=1), rule("dropped"), rule("kept", cooldown="P1D")]
    proposed = [rule("kept", cooldown="P1D"), rule("edited", priority=2, description="now"), rule("new")]
    # WHEN diffed
    diff = diff_rulesets(current, proposed)
    # THEN each rule lands in one group; the edited one names its changed fields
    assert diff.added == ("new",)
    assert diff.removed == ("dropped",)
    assert diff.changed == (RuleChange("edited", ("description", "priority")),)
    assert diff.unchanged == ("kept",)
    assert diff.has_changes
    assert diff.summary() == "1 added, 1 removed, 1 changed, 1 unchanged"


def test_reordering_rules_or_their_keys_is_no_change() -> None:
    current = [rule("a", priority=1), rule("b")]
    proposed = [rule("b"), {"priority": 1, "action": current[0]["action"], "id": "a"}]
    diff = diff_rulesets(current, proposed)
    assert not diff.has_changes
    assert diff.unchanged == ("a", "b")


def test_a_field_removed_from_a_rule_counts_as_changed() -> None:
    diff = diff_rulesets([rule("a", enabled=True)], [rule("a")])
    assert diff.changed == (RuleChange("a", ("enabled",)),)


def test_stored_rules_without_an_id_are_compared_by_position() -> None:
    # GIVEN a damaged store whose second rule lost its id
    diff = diff_rulesets([rule("a"), {"action": {}}], [rule("a")])
    assert diff.removed == ("#1",)


_ids = st.sampled_from(["a", "b", "c", "d", "e"])
_rulesets = st.lists(
    st.builds(lambda i, p: rule(i, priority=p), _ids, st.integers(0, 2)),
    unique_by=lambda r: r["id"],
    max_size=5,
)


@given(_rulesets, _rulesets)
def test_every_rule_id_lands_in_exactly_one_group(
    current: list[dict[str, Any]], proposed: list[dict[str, Any]]
) -> None:
    diff = diff_rulesets(current, proposed)
    groups = [*diff.added, *diff.removed, *(c.rule_id for c in diff.changed), *diff.unchanged]
    assert sorted(groups) == sorted({r["id"] for r in current} | {r["id"] for r in proposed})
    assert not diff_rulesets(proposed, proposed).has_changes
