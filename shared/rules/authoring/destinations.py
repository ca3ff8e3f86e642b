"""Write-time check of action destinations against what the deployment configures.

``DestinationCatalog`` maps each action kind to the destination names configured for it, or to
``None`` when this process cannot know them (a shell without the deployment's settings): those
names are not checked. Built from settings by ``shared.actions.destinations.destination_catalog``;
this module only compares, so the rule layers need no settings.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from shared.rules.definitions.actions import AnyAction
from shared.rules.definitions.rule import RuleDefinition
from shared.rules.errors import RuleError

DestinationCatalog = Mapping[str, Collection[str] | None]
"""Action kind -> the destination names configured for it (``None``: not checked here)."""

#: The setting that names each kind's destinations, for the error message.
SETTING_OF_KIND = {
    "journey_entry": "SFMC_*",
    "data_extension_row": "SFMC_*",
    "webhook": "SQUALL_WEBHOOKS",
    "eventbridge": "SQUALL_EVENTBRIDGE",
}


def check_destinations(rule: RuleDefinition, catalog: DestinationCatalog | None, index: int) -> list[RuleError]:
    """One error per action of ``rule`` whose destination is not configured for its kind, naming the
    configured ones (none when ``catalog`` is None: nothing to check against)."""
    if catalog is None:
        return []
    problems: list[RuleError] = []
    for path, action in _actions_at(rule):
        names = catalog.get(action.kind, ())
        if names is None or action.destination in names:
            continue
        configured = ", ".join(sorted(names)) or "none"
        message = (
            f"no {action.kind} destination named {action.destination!r} is configured "
            f"({SETTING_OF_KIND[action.kind]}); configured: {configured}"
        )
        problems.append(RuleError(rule.id, f"{path}.destination", message, index))
    return problems


def _actions_at(rule: RuleDefinition) -> list[tuple[str, AnyAction]]:
    if rule.machine is not None:
        return [
            (f"$.machine.states.{name}.on_enter", state.on_enter)
            for name, state in rule.machine.states.items()
            if state.on_enter is not None
        ]
    return [("$.action", rule.action)] if rule.action is not None else []
