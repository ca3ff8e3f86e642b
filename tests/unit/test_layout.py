"""LAYOUT.md's rules for shared/ as tests: small folders, and a first line that says why a module exists."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_MODULES_PER_FOLDER = 20  # __init__.py included


def _folders() -> list[Path]:
    return sorted(p for p in (ROOT / "shared").rglob("*") if p.is_dir() and p.name != "__pycache__")


def test_no_folder_under_shared_holds_more_than_20_modules() -> None:
    # GIVEN every folder of shared/  WHEN its modules are counted  THEN none holds more than 20
    crowded = {
        folder.relative_to(ROOT).as_posix(): count
        for folder in _folders()
        if (count := len(list(folder.glob("*.py")))) > MAX_MODULES_PER_FOLDER
    }
    assert crowded == {}


def test_every_module_of_shared_opens_with_a_docstring() -> None:
    # GIVEN every module of shared/  WHEN its first line is read  THEN it is a docstring (why it exists)
    silent = [
        path.relative_to(ROOT).as_posix()
        for path in sorted((ROOT / "shared").rglob("*.py"))
        if not path.read_text().lstrip("\ufeff").startswith('"""')
    ]
    assert silent == []
