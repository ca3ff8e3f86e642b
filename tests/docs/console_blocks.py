"""The ``console`` blocks of README.md and docs/: parsed, run, and compared with what they show.

A ``console`` block is a transcript: ``$ command`` lines, each followed by the output it prints
(stdout and stderr, as a terminal shows them). Commands run in bash, in a fresh folder that holds a
copy of ``rules/`` and a link to ``tests/fixtures/``, with the repository's ``.venv/bin`` first on
``PATH``; the commands of one block share that folder, in order.

What the comparison allows (README "Docs that run"):

- ``…`` (or ``...``) inside a line stands for any text; a line that is only ``…`` for any lines;
- timings: a number followed by ``s``, ``ms`` or ``µs``, and rates (``12,345 events/s``), match
  any number in the same place;
- runs of spaces are one space (a table's columns widen with what they hold);
- a comment after a command (two spaces, then ``#``) is not part of the command.

A block that needs files first has a hidden setup right before it::

    <!-- console-setup
    mkdir my-rules && cp rules/teams.yaml my-rules/
    -->

A ``bash`` block (commands to run against your own Azure resources) is not run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))

_FENCE_OPEN = "```console"
_SETUP_OPEN = "<!-- console-setup"
_COMMENT = re.compile(r"\s{2,}#.*$")
_ELLIPSIS = re.compile(r"…|\.\.\.")
_WILDCARD = re.compile(r"\s*(?:…|\.\.\.)\s*")
_TIMING = re.compile(r"\d[\d,]*(?:\.\d+)?(?:\s?(?:events/s|/s|ms|µs|s)\b)")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Step:
    command: str
    expected: list[str]


@dataclass(slots=True)
class ConsoleBlock:
    path: Path
    line: int
    setup: str = ""
    steps: list[Step] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def console_blocks(documents: tuple[Path, ...] = DOCUMENTS) -> list[ConsoleBlock]:
    return [block for path in documents for block in _blocks_of(path)]


def _blocks_of(path: Path) -> list[ConsoleBlock]:
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[ConsoleBlock] = []
    setup: list[str] | None = None
    pending_setup = ""
    index = 0
    while index < len(lines):
        text = lines[index]
        if setup is not None:
            if text.strip() == "-->":
                pending_setup, setup = "\n".join(setup), None
            else:
                setup.append(text)
        elif text.strip() == _SETUP_OPEN:
            setup = []
        elif text.strip() == _FENCE_OPEN:
            end = index + 1
            while end < len(lines) and lines[end].strip() != "```":
                end += 1
            blocks.append(_block(path, index + 1, lines[index + 1 : end], pending_setup))
            pending_setup, index = "", end
        elif text.strip():
            pending_setup = "" if not text.startswith("<!--") else pending_setup
        index += 1
    return blocks


def _block(path: Path, line: int, body: list[str], setup: str) -> ConsoleBlock:
    block = ConsoleBlock(path=path, line=line, setup=setup)
    command: list[str] | None = None
    expected: list[str] = []
    for text in body:
        if command is not None and command[-1].endswith("\\"):
            command.append(text)
            continue
        if text.startswith("$ "):
            if command is not None:
                block.steps.append(Step(_joined(command), expected))
            command, expected = [text[2:]], []
        elif command is not None:
            expected.append(text)
    if command is not None:
        block.steps.append(Step(_joined(command), expected))
    return block


def _joined(command: list[str]) -> str:
    return _COMMENT.sub("", "\n".join(command)).rstrip()


def _normal(text: str) -> str:
    return _SPACES.sub(" ", _TIMING.sub("<timing>", text)).strip()


def _pattern(expected: str) -> re.Pattern[str]:
    parts = _WILDCARD.split(_normal(expected))
    return re.compile(".*".join(re.escape(part) for part in parts) + r"\Z")


def mismatch(expected: list[str], actual: str) -> str | None:
    """``None`` when ``actual`` is what ``expected`` shows (with the allowances above), else why not."""
    wanted = [line for line in expected if line.strip()]
    got = [_normal(line) for line in actual.splitlines() if line.strip()]
    if _matches(wanted, 0, got, 0):
        return None
    return "expected:\n" + "\n".join(wanted) + "\n\ngot:\n" + "\n".join(actual.splitlines())


def _matches(wanted: list[str], w: int, got: list[str], g: int) -> bool:
    while w < len(wanted):
        if _ELLIPSIS.fullmatch(wanted[w].strip()):
            return any(_matches(wanted, w + 1, got, skip) for skip in range(g, len(got) + 1))
        if g >= len(got) or not _pattern(wanted[w]).match(got[g]):
            return False
        w, g = w + 1, g + 1
    return g == len(got)
