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
    frozenset({"pipeline", "entities"}),  # orchestrates events, rules, actions and store; per-entity tools
    frozenset({"rules_admin", "telemetry"}),  # the rule API; metrics and spans around the pipeline
    frozenset({"wiring"}),  # the composition root: chooses the adapters
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
            if upward:
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


# --- inside shared/rules: capability layers (../shared/LAYOUT.md), bottom -> top -------------------------------

#: Each layer may import itself and the layers before it in this list, never one after it.
RULES_LAYERS = (
    "errors",
    "language",
    "definitions",
    "conditions",
    "stateful",
    "compiled",
    "index",
    "engine",
    "explain",
)
#: Write time sits beside the run-time chain: it imports definitions and below; only engine/ and explain/ import it.
RULES_SIDE_LAYERS = {"authoring": "definitions"}
RULES_IMPORTED_BY = {"authoring": ("engine", "explain")}
RULES = ROOT / "shared" / "rules"


def _rules_layer(module: str) -> str | None:
    """``shared.rules.index.buckets`` -> ``index``; ``None`` for what is not a layer (the root)."""
    parts = module.split(".")
    if parts[:2] != ["shared", "rules"] or len(parts) < 3:
        return None
    return parts[2]


def _may_import(importer: str, imported: str) -> bool:
    if importer == imported:
        return True
    if imported in RULES_IMPORTED_BY:
        return importer in RULES_IMPORTED_BY[imported]
    if importer in RULES_SIDE_LAYERS:
        return RULES_LAYERS.index(imported) <= RULES_LAYERS.index(RULES_SIDE_LAYERS[importer])
    return RULES_LAYERS.index(imported) < RULES_LAYERS.index(importer)


def _rules_violations(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root.parent.parent).with_suffix("")
        module = ".".join(relative.parts).removesuffix(".__init__")
        importer = _rules_layer(module)
        if importer is None:
            continue
        for name in _imports(path):
            if name == "shared.rules":
                found.append(f"{module} imports the package root shared.rules")
                continue
            imported = _rules_layer(name)
            if imported is not None and not _may_import(importer, imported):
                found.append(f"{module} ({importer}) imports {name} ({imported})")
    return found


def test_every_rules_module_belongs_to_a_layer() -> None:
    # GIVEN shared/rules  WHEN its top-level names are listed  THEN each is a known layer
    names = {path.stem for path in RULES.glob("*.py") if path.stem != "__init__"}
    names |= {path.name for path in RULES.iterdir() if path.is_dir() and (path / "__init__.py").exists()}
    assert names - set(RULES_LAYERS) - set(RULES_SIDE_LAYERS) == set()


def test_rules_layers_import_only_downward_and_never_the_root() -> None:
    # GIVEN every module inside shared/rules  WHEN its imports are read  THEN none points up a layer or at the root
    assert _rules_violations(RULES) == []


def test_rules_layer_check_catches_an_upward_import(tmp_path: Path) -> None:
    # GIVEN a copy of a language module that imports the engine, and one that imports the root
    package = tmp_path / "shared" / "rules" / "language"
    package.mkdir(parents=True)
    (package / "fields.py").write_text("from shared.rules.engine.ruleset import CompiledRuleSet\n")
    (package / "times.py").write_text("from shared.rules import RuleMatch\n")
    # WHEN checked  THEN both are reported
    assert _rules_violations(tmp_path / "shared" / "rules") == [
        "shared.rules.language.fields (language) imports shared.rules.engine.ruleset (engine)",
        "shared.rules.language.times imports the package root shared.rules",
    ]


def test_no_rules_folder_holds_more_than_twenty_modules() -> None:
    # GIVEN shared/rules and its sub-packages  WHEN their modules are counted  THEN none has more than 20
    crowded = {
        str(folder.relative_to(ROOT)): count
        for folder in [RULES, *(p for p in RULES.rglob("*") if p.is_dir() and p.name != "__pycache__")]
        if (count := len(list(folder.glob("*.py")))) > 20
    }
    assert crowded == {}


def test_every_rules_module_starts_with_a_docstring() -> None:
    # GIVEN every module of shared/rules  WHEN its first line is read  THEN it opens a docstring saying why it exists
    bare = [str(path.relative_to(ROOT)) for path in RULES.rglob("*.py") if not path.read_text().startswith('"""')]
    assert bare == []
