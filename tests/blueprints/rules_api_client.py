"""Call the rules API functions as the worker does, and hold every answer to openapi/rules-api.yaml.

The blueprint is registered on a FunctionApp built here (function_app.py is the lead's); each call
builds a real ``func.HttpRequest``, runs the raw handler, then checks that the status, the media
type and the body are what the OpenAPI document promises for that operation.
"""

from __future__ import annotations

import asyncio
import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import azure.functions as func
import yaml
from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parents[2]
OPENAPI_PATH = ROOT / "openapi" / "rules-api.yaml"
BASE_URL = "http://localhost:7071/api"


@functools.cache
def openapi() -> dict[str, Any]:
    return yaml.safe_load(OPENAPI_PATH.read_text(encoding="utf-8"))


@functools.cache
def registered_functions() -> dict[str, Any]:
    """name -> indexed function, from a FunctionApp with the rules blueprint (get_functions() once)."""
    from functions.rules_api import bp

    app = func.FunctionApp()
    app.register_functions(bp)
    return {function.get_function_name(): function for function in app.get_functions()}


def http_trigger(function: Any) -> dict[str, Any]:
    return next(b for b in function.get_bindings_dict()["bindings"] if b["type"] == "httpTrigger")


def operation(operation_id: str) -> tuple[str, str, dict[str, Any]]:
    """(path, method, operation object) of ``operation_id`` in the OpenAPI document."""
    for path, item in openapi()["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and op.get("operationId") == operation_id:
                return path, method, op
    raise AssertionError(f"operation {operation_id} is not in {OPENAPI_PATH.name}")


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = openapi()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def schema_validator(schema: dict[str, Any]) -> Draft202012Validator:
    """A validator whose ``#/components/...`` references resolve inside the OpenAPI document."""
    return Draft202012Validator({**schema, "components": openapi()["components"]})


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: dict[str, str]
    media_type: str
    body: Any


def call(
    name: str,
    *,
    route_params: dict[str, str] | None = None,
    body: Any = None,
    raw_body: bytes | None = None,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """Invoke function ``name`` and check its answer against the OpenAPI document."""
    function = registered_functions()[name]
    trigger = http_trigger(function)
    path = "/" + trigger["route"].format(**(route_params or {}))
    data = raw_body if raw_body is not None else (b"" if body is None else json.dumps(body).encode())
    request = func.HttpRequest(
        method=str(trigger["methods"][0]),
        url=BASE_URL + path,
        headers={"Content-Type": "application/json", **(headers or {})},
        params=params or {},
        route_params=route_params or {},
        body=data,
    )
    response = asyncio.run(function.get_user_function()(request))
    answer = Answer(
        status=response.status_code,
        headers=dict(response.headers),
        media_type=response.mimetype,
        body=json.loads(response.get_body()) if response.get_body() else None,
    )
    check_documented(name, answer)
    return answer


def check_documented(operation_id: str, answer: Answer) -> None:
    _, _, op = operation(operation_id)
    documented = op["responses"]
    assert str(answer.status) in documented, f"{operation_id} answered {answer.status}, not documented"
    response = _resolve(documented[str(answer.status)])
    content = response.get("content", {})
    assert answer.media_type in content, f"{operation_id} {answer.status} answered {answer.media_type}"
    schema_validator(content[answer.media_type]["schema"]).validate(answer.body)
    for header in response.get("headers", {}):
        if header == "ETag":
            assert header in answer.headers, f"{operation_id} {answer.status} lacks the ETag header"
