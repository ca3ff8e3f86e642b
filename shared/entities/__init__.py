"""Per-entity tools: show, reset and delete one entity's state, and the suppression list.

    admin = EntityAdmin.of(store)                       # its rules, states and dead-letter ports
    view = await admin.show("ann@contoso.com")          # EntityStateView: raw data + per-rule inventory
    await admin.reset("ann@contoso.com", rule="burst")  # ResetOutcome; replay guards kept
    await admin.delete("ann@contoso.com")               # DeletionOutcome; unsent actions, dead letters gone
    suppression = SuppressionAdmin(store.rules, store.states)
    await suppression.add(["ann@contoso.com"])          # her events are skipped from the next refresh

A privacy request is ``suppress`` then ``delete``: suppressed first, no new event of the entity
creates state again; deleted, nothing of it is kept but the hash on the list (its state, unsent
actions and dead letters go). Pure: no HTTP, no CLI.
"""

from __future__ import annotations

from shared.entities.errors import EntityRequestInvalid, EntityRequestTooLarge
from shared.entities.keys import MAX_KEY_LENGTH, MAX_PER_REQUEST, check_entity, check_hash, entities_request, hashes_of
from shared.entities.models import (
    DeletionOutcome,
    EntityStateView,
    ResetOutcome,
    SuppressionChange,
    suppression_json,
)
from shared.entities.state_admin import EntityAdmin, discard_pending_actions
from shared.entities.suppression import SuppressionAdmin

__all__ = [
    "MAX_KEY_LENGTH",
    "MAX_PER_REQUEST",
    "DeletionOutcome",
    "EntityAdmin",
    "EntityRequestInvalid",
    "EntityRequestTooLarge",
    "EntityStateView",
    "ResetOutcome",
    "SuppressionAdmin",
    "SuppressionChange",
    "check_entity",
    "check_hash",
    "discard_pending_actions",
    "entities_request",
    "hashes_of",
    "suppression_json",
]
