"""HTTP API for trigger rules: list, get, put, delete, validate, dry-run, history and rollback; and
per entity: its state (show, reset, delete; the key in the path or, for keys holding "/", in the
query) and the suppression list (function-level keys).

Thin on purpose: ``shared.rules_admin`` holds the logic; this module reads requests, writes JSON
and turns every error into ``application/problem+json``. The routes and their answers are
described in ``openapi/rules-api.yaml`` (a test keeps the two in step).

The rule set is ``?ruleset=NAME`` or, by default, SQUALL_RULESET. GET answers carry the rule set
version as ``ETag``; PUT, DELETE and rollback accept it back in ``If-Match`` (412 when it is stale).
Bodies (``read_json_body``), headers and parameters (``shared.rules_admin.http_input``) are read
so that a caller's mistake is a 4xx problem, never a 500.

No two routes overlap for the same method: the Functions host orders routes by function name, not
by specificity, so ``POST rules/validate`` must not share a method with ``rules/{rule_id}`` (and the
version history lives under ``rule-versions``, not ``GET rules/versions``).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

import azure.functions as func

from functions.dependencies import get_store
from shared.actions.destinations import destination_catalog
from shared.entities import EntityAdmin, EntityRequestInvalid, SuppressionAdmin, entities_request, suppression_json
from shared.events import NormalizeOptions
from shared.rules_admin import (
    RuleSetAdmin,
    ServiceMisconfigured,
    check_rules,
    parse_dry_run_request,
    read_json_body,
    rules_from_document,
)
from shared.rules_admin.http_input import parse_if_match, parse_version
from shared.rules_admin.problems import PROBLEM_MEDIA_TYPE, problem_for
from shared.settings import get_settings

bp = func.Blueprint()
log = logging.getLogger(__name__)

MAX_BODY_BYTES = 4 * 1024 * 1024
JSON_MEDIA_TYPE = "application/json"
_AUTH = func.AuthLevel.FUNCTION
_ENTITY_SEGMENT = re.compile(r"/entities/[^/]*(?=/state(?:/reset)?$)")


async def _admin(req: func.HttpRequest) -> RuleSetAdmin:
    """The admin of the requested rule set, on the worker's store (functions/dependencies.py)."""
    store = await get_store()
    settings = get_settings()
    return RuleSetAdmin(
        store.rules, req.params.get("ruleset") or settings.ruleset, destinations=destination_catalog(settings)
    )


Act = Callable[[func.HttpRequest], Awaitable[func.HttpResponse]]


async def _answer(req: func.HttpRequest, act: Act) -> func.HttpResponse:
    """Run ``act``; any error becomes a problem+json response (the HTTP error boundary)."""
    try:
        return await act(req)
    except Exception as exc:  # the HTTP boundary: a caller always gets a problem document
        found = problem_for(exc)
        if found.status >= 500:
            log.exception("%s %s failed: %s", req.method, _route_of(req), type(exc).__name__)
        body = json.dumps(found.to_dict())
        return func.HttpResponse(body, status_code=found.status, headers=found.headers,
                                 mimetype=PROBLEM_MEDIA_TYPE)


def _route_of(req: func.HttpRequest) -> str:
    """The path without the query string (which may hold the function key) nor the entity key (an
    address, perhaps: logs carry ids only)."""
    return _ENTITY_SEGMENT.sub("/entities/{entity}", req.url.split("?", 1)[0])


def _json(status: int, body: Any, *, version: int | None = None) -> func.HttpResponse:
    headers = {"ETag": f'"{version}"'} if version is not None else {}
    return func.HttpResponse(json.dumps(body, default=str), status_code=status, headers=headers,
                             mimetype=JSON_MEDIA_TYPE)


def _body(req: func.HttpRequest) -> Any:
    """The body as JSON, bounded in size and depth, text without lone surrogates (``read_json_body``:
    400/413, never a RecursionError)."""
    return read_json_body(req.get_body(), max_bytes=MAX_BODY_BYTES)


def _if_version(req: func.HttpRequest) -> int | None:
    return parse_if_match(req.headers.get("If-Match"))


def _rule_id(req: func.HttpRequest) -> str:
    return req.route_params.get("rule_id", "")


@bp.function_name("list_rules")
@bp.route(route="rules", methods=["GET"], auth_level=_AUTH)
async def list_rules(req: func.HttpRequest) -> func.HttpResponse:
    async def act(req: func.HttpRequest) -> func.HttpResponse:
        number = parse_version(req.params.get("version"))
        admin = await _admin(req)
        view = await (admin.current() if number is None else admin.version(number))
        return _json(200, asdict(view), version=view.version)

    return await _answer(req, act)


@bp.function_name("get_rule")
@bp.route(route="rules/{rule_id}", methods=["GET"], auth_level=_AUTH)
async def get_rule(req: func.HttpRequest) -> func.HttpResponse:
    async def act(req: func.HttpRequest) -> func.HttpResponse:
        found = await (await _admin(req)).get_rule(_rule_id(req))
        return _json(200, asdict(found), version=found.version)

    return await _answer(req, act)


@bp.function_name("put_rule")
@bp.route(route="rules/{rule_id}", methods=["PUT"], auth_level=_AUTH)
async def put_rule(req: func.HttpRequest) -> func.HttpResponse:
    async def act(req: func.HttpRequest) -> func.HttpResponse:
        rule_id = _rule_id(req)
        outcome = await (await _admin(req)).put_rule(rule_id, _body(req), if_version=_if_version(req))
        created = rule_id in outcome.diff.added
        body = {"ruleset": outcome.ruleset, "version": outcome.version, "rule_id": rule_id,
                "created": created, "changed": outcome.changed}
        return _json(201 if created else 200, body, version=outcome.version)

    return await _answer(req, act)


@bp.function_name("delete_rule")
@bp.route(route="rules/{rule_id}", methods=["DELETE"], auth_level=_AUTH)
async def delete_rule(req: func.HttpRequest) -> func.HttpResponse:
    async def act(req: func.HttpRequest) -> func.HttpResponse:
        rule_id = _rule_id(req)
        outcome = await (await _admin(req)).delete_rule(rule_id, if_version=_if_version(req))
        body = {"ruleset": outcome.ruleset, "version": outcome.version, "rule_id": rule_id}
        return _json(200, body, version=outcome.version)

    return await _answer(req, act)


@bp.function_name("validate_ruleset")
@bp.route(route="rules/validate", methods=["POST"], auth_level=_AUTH)
async def validate_ruleset(req: func.HttpRequest) -> func.HttpResponse:
    async def act(req: func.HttpRequest) -> func.HttpResponse:
        rules = check_rules(rules_from_document(_body(req)))
        return _json(200, {"valid": True, "rules": len(rules), "rule_ids": [rule.id for rule in rules]})

    return await _answer(req, act)


@bp.function_name("dry_run_rules")
@bp.route(route="rules/test", methods=["POST"], auth_level=_AUTH)
async def dry_run_rules(req: func.HttpRequest) -> func.HttpResponse:
    async def act(req: func.HttpRequest) -> func.HttpResponse:
        request = parse_dry_run_request(_body(req))
        try:
            options = NormalizeOptions.from_settings(get_settings())
        except ValueError as exc:  # names the setting (SQUALL_JSON_FIELD_MAP)
            raise ServiceMisconfigured(str(exc)) from exc
        report = await (await _admin(req)).dry_run(request, options=options)
        return _json(200, {**asdict(report), "firing_count": report.firing_count})

    return await _answer(req, act)


@bp.function_name("list_rule_versions")
@bp.route(route="rule-versions", methods=["GET"], auth_level=_AUTH)
async def list_rule_versions(req: func.HttpRequest) -> func.HttpResponse:
    async def act(req: func.HttpRequest) -> func.HttpResponse:
        limit = parse_version(req.params.get("limit"), name="limit")
        history = await (await _admin(req)).history(limit=20 if limit is None else limit)
        return _json(200, asdict(history), version=history.version)

    return await _answer(req, act)


@bp.function_name("rollback_rules")
@bp.route(route="rule-versions/{version}/rollback", methods=["POST"], auth_level=_AUTH)
async def rollback_rules(req: func.HttpRequest) -> func.HttpResponse:
    async def act(req: func.HttpRequest) -> func.HttpResponse:
        number = parse_version(req.route_params.get("version")) or 0
        outcome = await (await _admin(req)).rollback(number, if_version=_if_version(req))
        body = {"ruleset": outcome.ruleset, "version": outcome.version, "restored_version": number,
                "changed": outcome.changed, "diff": outcome.diff.ids()}
        return _json(200, body, version=outcome.version)

    return await _answer(req, act)


# --- per entity: its state and the suppression list (shared.entities) ----------------------------
# Each state route comes twice: the key in the path (``entities/{entity}/state``), and in the query
# (``entities/state?entity=KEY``) for keys holding "/": the host decodes %2F before it matches
# routes, so such a key never reaches a path route (azure-functions-host#9290, #3998).


def _entity(req: func.HttpRequest) -> str:
    return req.route_params.get("entity", "")


def _queried_entity(req: func.HttpRequest) -> str:
    entity = req.params.get("entity")
    if entity is None:
        raise EntityRequestInvalid("name the entity: ?entity=KEY, URL-encoded (a '/' as %2F, a '+' as %2B)")
    return entity


async def _entities() -> EntityAdmin:
    return EntityAdmin.of(await get_store())


async def _suppression() -> SuppressionAdmin:
    store = await get_store()
    return SuppressionAdmin(store.rules, store.states)


async def _show_state(entity: str) -> func.HttpResponse:
    return _json(200, (await (await _entities()).show(entity)).to_json())


async def _reset_state(entity: str, req: func.HttpRequest) -> func.HttpResponse:
    return _json(200, (await (await _entities()).reset(entity, rule=req.params.get("rule") or None)).to_json())


async def _delete_state(entity: str) -> func.HttpResponse:
    return _json(200, (await (await _entities()).delete(entity)).to_json())


@bp.function_name("get_entity_state")
@bp.route(route="entities/{entity}/state", methods=["GET"], auth_level=_AUTH)
async def get_entity_state(req: func.HttpRequest) -> func.HttpResponse:
    return await _answer(req, lambda req: _show_state(_entity(req)))


@bp.function_name("reset_entity_state")
@bp.route(route="entities/{entity}/state/reset", methods=["POST"], auth_level=_AUTH)
async def reset_entity_state(req: func.HttpRequest) -> func.HttpResponse:
    return await _answer(req, lambda req: _reset_state(_entity(req), req))


@bp.function_name("delete_entity_state")
@bp.route(route="entities/{entity}/state", methods=["DELETE"], auth_level=_AUTH)
async def delete_entity_state(req: func.HttpRequest) -> func.HttpResponse:
    return await _answer(req, lambda req: _delete_state(_entity(req)))


@bp.function_name("get_queried_entity_state")
@bp.route(route="entities/state", methods=["GET"], auth_level=_AUTH)
async def get_queried_entity_state(req: func.HttpRequest) -> func.HttpResponse:
    return await _answer(req, lambda req: _show_state(_queried_entity(req)))


@bp.function_name("reset_queried_entity_state")
@bp.route(route="entities/state/reset", methods=["POST"], auth_level=_AUTH)
async def reset_queried_entity_state(req: func.HttpRequest) -> func.HttpResponse:
    return await _answer(req, lambda req: _reset_state(_queried_entity(req), req))


@bp.function_name("delete_queried_entity_state")
@bp.route(route="entities/state", methods=["DELETE"], auth_level=_AUTH)
async def delete_queried_entity_state(req: func.HttpRequest) -> func.HttpResponse:
    return await _answer(req, lambda req: _delete_state(_queried_entity(req)))


@bp.function_name("list_suppressions")
@bp.route(route="suppressions", methods=["GET"], auth_level=_AUTH)
async def list_suppressions(req: func.HttpRequest) -> func.HttpResponse:
    async def act(req: func.HttpRequest) -> func.HttpResponse:
        return _json(200, suppression_json(await (await _suppression()).listed()))

    return await _answer(req, act)


@bp.function_name("suppress_entities")
@bp.route(route="suppressions", methods=["POST"], auth_level=_AUTH)
async def suppress_entities(req: func.HttpRequest) -> func.HttpResponse:
    async def act(req: func.HttpRequest) -> func.HttpResponse:
        entities, hashes = entities_request(_body(req))
        change = await (await _suppression()).add(entities, hashes=hashes)
        return _json(200, change.to_json("added"))

    return await _answer(req, act)


@bp.function_name("unsuppress_entities")
@bp.route(route="suppressions/remove", methods=["POST"], auth_level=_AUTH)
async def unsuppress_entities(req: func.HttpRequest) -> func.HttpResponse:
    async def act(req: func.HttpRequest) -> func.HttpResponse:
        entities, hashes = entities_request(_body(req))
        change = await (await _suppression()).remove(entities, hashes=hashes)
        return _json(200, change.to_json("removed"))

    return await _answer(req, act)
