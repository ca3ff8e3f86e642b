"""Read the project's Bicep files as data (pycep-parser) for the infra checks."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from pycep import BicepParser

REPO_ROOT = Path(__file__).resolve().parents[2]
INFRA_DIR = REPO_ROOT / "infra"
MAIN_BICEP = INFRA_DIR / "main.bicep"
API_BICEP = INFRA_DIR / "app" / "api.bicep"
RBAC_BICEP = INFRA_DIR / "app" / "rbac.bicep"
LOCAL_SETTINGS_EXAMPLE = REPO_ROOT / "local.settings.json.example"


def bicep_files() -> list[Path]:
    """Every .bicep file under infra/, sorted."""
    return sorted(INFRA_DIR.rglob("*.bicep"))


@cache
def parse_bicep(path: Path) -> dict[str, Any]:
    """The pycep JSON model of one Bicep file (parsed once per session)."""
    return BicepParser().parse(file_path=path)


def resources(path: Path) -> dict[str, dict[str, Any]]:
    """Symbolic name -> resource of one file, conditional resources unwrapped."""
    found: dict[str, dict[str, Any]] = {}
    for name, resource in parse_bicep(path).get("resources", {}).items():
        config = resource["config"]
        if "condition" in config:
            config = config["config"]
        found[name] = {**resource, "config": config}
    return found


def resources_of_type(resource_type: str) -> list[tuple[Path, str, dict[str, Any]]]:
    """(file, symbolic name, resource) of every declared (not `existing`) resource of a type."""
    return [
        (path, name, resource)
        for path in bicep_files()
        for name, resource in resources(path).items()
        if resource["type"] == resource_type and not resource["existing"]
    ]


def the_resource(resource_type: str) -> dict[str, Any]:
    """The config of the one declared resource of a type (fails when there is not exactly one)."""
    matches = resources_of_type(resource_type)
    assert len(matches) == 1, f"expected one {resource_type}, found {[(str(p), n) for p, n, _ in matches]}"
    return matches[0][2]["config"]


def app_settings(path: Path, name: str) -> dict[str, Any]:
    """Setting name -> value of an app-settings variable (a literal list of {name, value}) of one file."""
    variable = parse_bicep(path).get("variables", {}).get(name)
    assert variable is not None, f"{path.relative_to(REPO_ROOT)} has no variable {name!r}"
    entries = variable["value"]
    assert isinstance(entries, list), f"variable {name!r} is not a literal list"
    assert all(set(entry) == {"name", "value"} for entry in entries), (
        f"{name!r}: entries must be {{name, value}}"
    )
    names = [entry["name"] for entry in entries]
    assert len(names) == len(set(names)), f"{name!r} sets a setting twice"
    return {entry["name"]: entry["value"] for entry in entries}


def decorators(parameter: dict[str, Any]) -> dict[str, Any]:
    """Decorator type -> argument of a parameter (e.g. {'min_value': 40, 'secure': None})."""
    return {decorator["type"]: decorator.get("argument") for decorator in parameter.get("decorators", [])}


def expression_text(value: Any) -> str:
    """A parsed expression flattened to text, to search for names and forbidden functions."""
    return json.dumps(value, sort_keys=True)


def references(value: Any, name: str) -> bool:
    """Whether a parsed expression mentions the identifier `name`."""
    return (
        re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", expression_text(value)) is not None
    )


def walk_outputs() -> Iterator[tuple[Path, str, dict[str, Any]]]:
    """(file, output name, output) of every output in every file."""
    for path in bicep_files():
        for name, output in parse_bicep(path).get("outputs", {}).items():
            yield path, name, output


def markdown_table_first_column(text: str, *, header: str) -> list[str]:
    """First-column cells (backticks stripped) of the Markdown table whose first header cell is `header`."""
    rows: list[str] = []
    in_table = False
    for line in text.splitlines():
        cells = (
            [cell.strip() for cell in line.strip().strip("|").split("|")]
            if line.lstrip().startswith("|")
            else []
        )
        if not cells:
            if in_table:
                break
            continue
        if not in_table:
            in_table = cells[0] == header
            continue
        if set(cells[0]) <= {"-", ":", " "}:
            continue
        rows.append(cells[0].strip("`"))
    return rows
