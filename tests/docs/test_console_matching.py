"""How a console block's shown output is compared with what its command printed."""

from __future__ import annotations

from pathlib import Path

from tests.docs.console_blocks import console_blocks, mismatch


def test_same_output_matches_and_other_output_does_not() -> None:
    assert mismatch(["12 rules valid"], "12 rules valid\n") is None
    assert mismatch(["12 rules valid"], "11 rules valid\n") is not None


def test_an_extra_or_missing_line_is_a_mismatch() -> None:
    assert mismatch(["a", "b"], "a\n") is not None
    assert mismatch(["a"], "a\nb\n") is not None


def test_ellipsis_stands_for_text_in_a_line_and_for_lines_on_its_own() -> None:
    assert mismatch(["event 80c76bd2-…  o365"], "event 80c76bd2-1234-5678 o365") is None
    assert mismatch(["first", "…", "last"], "first\nx\ny\nlast") is None
    assert mismatch(["first", "…", "last"], "first\nlast") is None
    assert mismatch(["first", "…", "last"], "first\nx") is not None


def test_timings_and_column_widths_may_differ() -> None:
    assert mismatch(["elapsed 1.25 s at 12,060 events/s"], "elapsed 0.9 s at 15,878 events/s") is None
    assert mismatch(["ID   ENABLED"], "ID           ENABLED") is None
    assert mismatch(["12 rules valid"], "13 rules valid") is not None


def test_blocks_are_read_with_their_setup_commands_and_continuations(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "Text.\n\n<!-- console-setup\nmkdir x\n-->\n```console\n$ squall a \\\n    --flag  # why\nout 1\n"
        "$ squall b\n```\n\n```bash\n$ not run\n```\n",
        encoding="utf-8",
    )
    [block] = console_blocks((page,))
    assert block.setup == "mkdir x"
    assert [step.command for step in block.steps] == ["squall a \\\n    --flag", "squall b"]
    assert [step.expected for step in block.steps] == [["out 1"], []]
