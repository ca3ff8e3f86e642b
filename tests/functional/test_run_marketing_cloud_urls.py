"""``squall run`` against a Marketing Cloud whose auth and REST bases are two hosts, as a real tenant's
are (``SUBDOMAIN.auth…`` and ``SUBDOMAIN.rest…``): tokens must come from the one, journeys go to the
other. One stub serves both; the Host header of each request says which base the client used."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from squall.stub import MarketingCloudStub
from tests.functional.delivery_support import STUB_CLIENT_ID, STUB_CLIENT_SECRET, stub_with_known_credentials

ROOT = Path(__file__).resolve().parents[2]
TEAMS_EVENT = (
    b'{"Id":"e-1","CreationTime":"2024-05-01T08:00:00","Workload":"MicrosoftTeams",'
    b'"Operation":"TeamsSessionStarted","UserId":"alice@contoso.com","OrganizationId":"org-1"}\n'
)


@pytest.fixture
def tenant() -> Iterator[MarketingCloudStub]:
    with stub_with_known_credentials(journey_keys=None) as stub:
        yield stub


def run_against(tenant_options: list[str], rules_dir: Path, tmp_path: Path) -> dict[str, object]:
    events = tmp_path / "events.jsonl"
    events.write_bytes(TEAMS_EVENT)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SQUALL_", "SFMC_"))}
    env |= {"SFMC_CLIENT_ID": STUB_CLIENT_ID, "SFMC_CLIENT_SECRET": STUB_CLIENT_SECRET}
    result = subprocess.run(
        [sys.executable, "-m", "squall", "run", "--events", str(events), "--rules", str(rules_dir), "--json",
         *tenant_options],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_tokens_come_from_the_auth_url_and_journeys_go_to_the_rest_url(
    tenant: MarketingCloudStub, rules_dir: Path, tmp_path: Path
) -> None:
    # GIVEN the tenant's auth base on one host name and its REST base on another
    port = urlsplit(tenant.base_url).port
    auth, rest = f"127.0.0.1:{port}", f"localhost:{port}"
    # WHEN a Teams session runs with --sfmc-auth-url and --sfmc-rest-url
    options = ["--sfmc-auth-url", f"http://{auth}", "--sfmc-rest-url", f"http://{rest}"]
    report = run_against(options, rules_dir, tmp_path)
    # THEN the journey entry was delivered; every token request went to the auth host, every journey to REST
    assert report["actions_delivered"] == 1
    assert [entry["ContactKey"] for entry in tenant.received()] == ["alice@contoso.com"]
    assert tenant.request_hosts() == {"token": {auth: 1}, "rest": {rest: 1}}


def test_sfmc_url_still_serves_both_from_one_url(tenant: MarketingCloudStub, rules_dir: Path, tmp_path: Path) -> None:
    # WHEN the same run names one URL for a stub that serves both
    report = run_against(["--sfmc-url", tenant.base_url], rules_dir, tmp_path)
    # THEN tokens and journeys both went there
    host = urlsplit(tenant.base_url).netloc
    assert report["actions_delivered"] == 1
    assert tenant.request_hosts() == {"token": {host: 1}, "rest": {host: 1}}
