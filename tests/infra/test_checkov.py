"""checkov scans infra/ and finds nothing; every suppression says why.

checkov pins an older pycep-parser than the main environment, so it lives in `.venv-infra`, built by
`make test` from infra/requirements-checks.txt. It runs once per module (it is slow to start).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.infra.bicep_source import INFRA_DIR, REPO_ROOT, bicep_files

CHECKOV = REPO_ROOT / ".venv-infra" / "bin" / "checkov"
SKIP_COMMENT = re.compile(r"checkov:skip=(?P<check>[A-Z0-9_]+)(?P<reason>:.*)?")


class CheckovRun:
    """checkov's bicep report for infra/, or why there is none (so each test FAILS, not errors)."""

    def __init__(self) -> None:
        self.report: dict[str, Any] | None = None
        self.missing: str | None = None
        if not CHECKOV.exists():
            self.missing = (
                f"{CHECKOV.relative_to(REPO_ROOT)} is missing: run `make test`, which builds .venv-infra "
                "from infra/requirements-checks.txt (or: python3 -m venv .venv-infra && "
                ".venv-infra/bin/pip install -r infra/requirements-checks.txt)"
            )
            return
        self.report = scan_infra()

    def require(self) -> dict[str, Any]:
        if self.report is None:
            pytest.fail(self.missing or "checkov did not run")
        return self.report


def scan_infra() -> dict[str, Any]:
    # --skip-download: no call to Prisma Cloud for guidelines; the scan is fully local.
    command = [str(CHECKOV), "-d", str(INFRA_DIR), "--framework", "bicep", "--compact", "--quiet",
               "--skip-download", "-o", "json"]  # fmt: skip
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=300, cwd=REPO_ROOT, check=False
    )
    assert completed.stdout.strip(), f"checkov printed no report; stderr:\n{completed.stderr[-3000:]}"
    report = json.loads(completed.stdout)
    reports = report if isinstance(report, list) else [report]
    bicep_reports = [r for r in reports if r.get("check_type") == "bicep"]
    assert len(bicep_reports) == 1, f"expected one bicep report, got {[r.get('check_type') for r in reports]}"
    return bicep_reports[0]


@pytest.fixture(scope="module")
def checkov_run() -> CheckovRun:
    return CheckovRun()


def test_checkov_finds_no_failed_check_in_infra(checkov_run: CheckovRun) -> None:
    # GIVEN checkov's bicep report for infra/
    checkov_report = checkov_run.require()
    summary = checkov_report["summary"]
    failed = [
        f"{check['check_id']} {check['check_name']} — {check['resource']} ({check['file_path']})"
        for check in checkov_report.get("results", {}).get("failed_checks", [])
    ]
    # THEN it parsed every file, ran real checks, and none failed
    assert summary["parsing_errors"] == 0
    assert summary["passed"] >= 20, summary
    assert summary["failed"] == 0, "checkov failed checks:\n" + "\n".join(failed)


def test_checkov_skips_only_what_the_templates_suppress_inline(checkov_run: CheckovRun) -> None:
    # GIVEN checkov's report and the inline suppressions written in the Bicep files
    checkov_report = checkov_run.require()
    inline = [match for path in bicep_files() for match in SKIP_COMMENT.finditer(path.read_text())]
    # THEN checkov honoured each of them (no silent config-file skips elsewhere)
    assert checkov_report["summary"]["skipped"] == len(inline)


@pytest.mark.parametrize("path", bicep_files(), ids=lambda path: str(path.relative_to(REPO_ROOT)))
def test_every_checkov_suppression_gives_a_reason(path: Path) -> None:
    # GIVEN each `checkov:skip=` comment of a file
    for match in SKIP_COMMENT.finditer(path.read_text()):
        # THEN it names one check and explains itself in words
        reason = (match.group("reason") or "").lstrip(":").strip()
        assert len(reason.split()) >= 4, f"{path.name}: {match.group('check')} is skipped without a reason"
