"""DESIGN §2: function_app -> functions -> shared; squall -> shared; shared imports neither; and inside
shared/, the layers of LAYOUT.md import downward only."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    "shared": ("azure.functions", "functions", "squall"),
    "functions": ("squall",),
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            if node.module == "azure":
                names.update(f"azure.{alias.name}" for alias in node.names)
    return names


def _violations(package: str) -> list[str]:
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for name in _imports(path):
            for banned in FORBIDDEN[package]:
                if name == banned or name.startswith(banned + "."):
                    found.append(f"{path.relative_to(ROOT)} imports {name}")
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_never_imports_against_the_dependency_direction(package: str) -> None:
    # GIVEN every module of the package  WHEN its imports are read  THEN none points the wrong way
    assert _violations(package) == []


def test_checker_catches_a_forbidden_import(tmp_path: Path) -> None:
    # GIVEN a module that imports azure.functions  WHEN read  THEN the import is seen
    module = tmp_path / "bad.py"
    module.write_text("from azure import functions as func\nimport squall.cli\n")
    assert {"azure.functions", "squall.cli"} <= _imports(module)


# --- The layers of shared/ (LAYOUT.md), bottom to top -------------------------------------------------
# A module may import its own package and the layers below it, never a layer above or beside it.
SHARED_LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"log_fields", "settings"}),  # leaves
    frozenset({"events"}),  # raw records -> canonical events
    frozenset({"store"}),  # ports, records and errors (+ adapters, which only wiring names)
    frozenset({"rules"}),  # reads EntityState and RuleStore from store
    frozenset({"actions"}),  # plans from RuleMatch
    frozenset({"pipeline"}),  # orchestrates events, rules, actions and store
    frozenset({"rules_admin", "telemetry"}),  # the rule API; metrics and spans around the pipeline
    frozenset({"wiring"}),  # the composition root: chooses the adapters
)
# Upward imports still waiting for a move on another branch: (importing module, imported module).
PENDING_UPWARD: frozenset[tuple[str, str]] = frozenset(
    {("shared/rules/cache.py", "shared.telemetry.log_fields")}  # -> shared.log_fields (rules layout branch)
)


def _layer_of(package: str) -> int | None:
    return next((index for index, layer in enumerate(SHARED_LAYERS) if package in layer), None)


def _top_package(relative: Path) -> str:
    """``shared/rules/engine/cache.py`` -> ``rules``; ``shared/wiring.py`` -> ``wiring``."""
    return relative.parts[1].removesuffix(".py")


def _upward_imports(root: Path) -> list[str]:
    found = []
    for path in sorted((root / "shared").rglob("*.py")):
        relative = path.relative_to(root)
        if relative == Path("shared/__init__.py"):
            continue
        mine = _top_package(relative)
        for name in _imports(path):
            parts = name.split(".")
            if parts[0] != "shared" or len(parts) < 2 or parts[1] == mine:
                continue
            theirs, my_layer = _layer_of(parts[1]), _layer_of(mine)
            upward = theirs is None or my_layer is None or theirs >= my_layer
            if upward and (relative.as_posix(), name) not in PENDING_UPWARD:
                found.append(f"{relative} ({mine}) imports {name}")
    return found


def test_every_package_and_module_of_shared_has_a_layer() -> None:
    # GIVEN the top level of shared/  WHEN each entry is looked up  THEN it sits in exactly one layer
    entries = {p.name.removesuffix(".py") for p in (ROOT / "shared").iterdir() if p.suffix == ".py" or p.is_dir()}
    entries -= {"__init__", "__pycache__"}
    assert {entry for entry in entries if _layer_of(entry) is None} == set()
    assert sum(len(layer) for layer in SHARED_LAYERS) == len(set().union(*SHARED_LAYERS))


def test_shared_imports_only_downward_through_its_layers() -> None:
    # GIVEN every module of shared/  WHEN its imports are read  THEN none reaches a layer above or beside it
    assert _upward_imports(ROOT) == []


def test_layer_check_fails_on_an_upward_import(tmp_path: Path) -> None:
    # GIVEN a store module that imports the pipeline (upward) and one that imports events (downward)
    store = tmp_path / "shared" / "store"
    store.mkdir(parents=True)
    (store / "up.py").write_text("from shared.pipeline import process_batch\n")
    (store / "down.py").write_text("import shared.events.models\nfrom shared.store.models import DeadLetter\n")
    # WHEN checked  THEN only the upward import is reported
    assert _upward_imports(tmp_path) == ["shared/store/up.py (store) imports shared.pipeline"]


@pytest.mark.parametrize(
    ("package", "must_not_load"),
    [
        ("shared.pipeline", ("httpx", "shared.actions.sfmc", "shared.actions.webhook", "shared.store.memory")),
        ("shared.rules", ("pydantic_settings", "httpx", "shared.store.memory", "shared.telemetry")),
        ("shared.actions", ("httpx", "pydantic_settings")),
        ("shared.store", ("pydantic_settings", "shared.store.memory", "shared.store.sqlite", "azure")),
    ],
)
def test_a_core_package_does_not_load_adapters(package: str, must_not_load: tuple[str, ...]) -> None:
    # GIVEN a fresh interpreter  WHEN only the package is imported  THEN no adapter or its library came along
    code = (
        f"import sys, {package}\n"
        f"print(sorted(m for m in sys.modules for bad in {must_not_load!r} if m == bad or m.startswith(bad + '.')))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
