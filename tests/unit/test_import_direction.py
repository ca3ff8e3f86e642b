"""DESIGN §2: function_app -> functions -> shared; squall -> shared; shared imports neither."""

from __future__ import annotations

import ast
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
#: Modules leaving for shared/pipeline and shared/events (issue 16); they import the root like any outside caller.
RULES_OUTSIDE = frozenset({"dry_run", "dry_run_input", "dry_run_time"})
RULES = ROOT / "shared" / "rules"


def _rules_layer(module: str) -> str | None:
    """``shared.rules.index.buckets`` -> ``index``; ``None`` for what is not a layer (the root, dry runs)."""
    parts = module.split(".")
    if parts[:2] != ["shared", "rules"] or len(parts) < 3 or parts[2] in RULES_OUTSIDE:
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
    # GIVEN shared/rules  WHEN its top-level names are listed  THEN each is a known layer (or a dry-run leaver)
    names = {path.stem for path in RULES.glob("*.py") if path.stem != "__init__"}
    names |= {path.name for path in RULES.iterdir() if path.is_dir() and (path / "__init__.py").exists()}
    assert names - set(RULES_LAYERS) - set(RULES_SIDE_LAYERS) - RULES_OUTSIDE == set()


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
