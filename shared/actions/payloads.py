"""What each kind of action sends, as JSON: the one place that says what a destination receives.

``destination_body`` is the document a webhook receives as its body and an EventBridge event
carries as its ``Detail``. ``payload_preview`` is what ``squall rules test`` shows per firing: the
request body of the action's kind (a journey entry's sync form, a row as the rowset carries it,
the webhook body, the EventBridge entry without the ``Source``/bus that the settings add).
"""

from __future__ import annotations

from typing import Any

from shared.actions.models import ActionKind, PlannedAction


def destination_body(action: PlannedAction) -> dict[str, Any]:
    """The webhook body / EventBridge ``Detail`` of ``action`` (``data`` is the rule's rendered payload)."""
    return {
        "idempotency_key": action.key,
        "rule_id": action.rule_id,
        "event_id": action.event_id,
        "entity": action.entity,
        "contact_key": action.contact_key,
        "data": action.data,
    }


def payload_preview(action: PlannedAction) -> dict[str, Any]:
    """The body the destination of ``action`` would receive for it."""
    if action.kind is ActionKind.JOURNEY_ENTRY:
        return {
            "ContactKey": action.contact_key,
            "EventDefinitionKey": action.event_definition_key,
            "Data": action.data,
        }
    if action.kind is ActionKind.DATA_EXTENSION_ROW:
        return {"data_extension_key": action.data_extension_key, "keys": action.row_keys, "values": action.data}
    if action.kind is ActionKind.EVENTBRIDGE:
        return {"DetailType": action.detail_type, "Detail": destination_body(action)}
    return destination_body(action)
