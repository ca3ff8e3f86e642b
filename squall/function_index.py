"""``function_app.app``'s functions as the worker indexes them, built once per process.

``FunctionApp.get_functions()`` refuses a second call on the same app (it checks each name against
what the first call recorded), so every in-process caller — the Cosmos cost bench, the blueprint
tests — takes the functions from here instead of asking the app again.
"""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def indexed_functions() -> dict[str, Any]:
    """Function name -> the ``Function`` the worker would index (its bindings, its user function)."""
    from function_app import app

    return {str(f.get_function_name()): f for f in app.get_functions()}


def user_function(name: str) -> Any:
    """The handler the worker calls for the function ``name``."""
    return indexed_functions()[name].get_user_function()
