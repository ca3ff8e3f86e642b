"""Every ``console`` block in README.md and docs/ is run, and its output compared with the page.

GIVEN a transcript in the docs WHEN its commands run in a fresh folder THEN each prints what the page
shows (timings and ``…`` aside: ``console_blocks.py``), so the figures and examples stay true.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs.console_blocks import ROOT, ConsoleBlock, console_blocks, mismatch

BLOCKS = console_blocks()
TIMEOUT_S = 300


def _workdir(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "fixtures").symlink_to(ROOT / "tests" / "fixtures")
    return tmp_path


def _env(workdir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SQUALL_", "SFMC_", "COSMOS"))}
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        HOME=str(workdir),
        COLUMNS="200",
        NO_COLOR="1",
        TERM="dumb",
        PYTHONHASHSEED="0",
    )
    return env


def _run(command: str, workdir: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        ["bash", "-c", command], cwd=workdir, env=env, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
    )
    return done.stdout + done.stderr


@pytest.mark.parametrize("block", BLOCKS, ids=[block.name for block in BLOCKS])
def test_console_block_prints_what_the_page_shows(block: ConsoleBlock, tmp_path: Path) -> None:
    workdir = _workdir(tmp_path)
    env = _env(workdir)
    if block.setup:
        setup = subprocess.run(["bash", "-ec", block.setup], cwd=workdir, env=env, capture_output=True, text=True)
        assert setup.returncode == 0, f"{block.name}: setup failed:\n{setup.stdout}{setup.stderr}"
    for step in block.steps:
        problem = mismatch(step.expected, _run(step.command, workdir, env))
        assert problem is None, f"{block.name}: $ {step.command}\n{problem}"


def test_the_docs_have_console_blocks_to_run() -> None:
    assert len(BLOCKS) >= 5
    assert all(block.steps for block in BLOCKS), [block.name for block in BLOCKS if not block.steps]
