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
