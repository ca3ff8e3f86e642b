"""infra/deploy.sh drives `az` and `func` in the right order and never puts the secret on a command line.

`az` and `func` cannot reach Azure here, so they are replaced by recording stand-ins on PATH: small
scripts that log their arguments and answer the few queries deploy.sh makes. Everything else is real.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.infra.bicep_source import INFRA_DIR

DEPLOY_SCRIPT = INFRA_DIR / "deploy.sh"
FAKE_SECRET = "local-test-secret-9f1c"  # obviously fake; only ever seen by the recording stand-ins
RECORDING_AZ = """#!/usr/bin/env bash
printf 'az %s\\n' "$*" >> "$CALL_LOG"
case "$*" in
  "group exists"*) echo "${STUB_GROUP_EXISTS:-true}" ;;
  *"deployment group create"*)
    for arg in "$@"; do case "$arg" in @*) cp "${arg#@}" "$STUB_DIR/parameters.json" ;; esac; done ;;
  *"AZURE_FUNCTION_APP_NAME"*) echo "func-api-stub" ;;
  *"deployment source config-zip"*)
    previous=""
    for arg in "$@"; do
      [ "$previous" = "--src" ] && cp "$arg" "$STUB_DIR/app.zip"
      previous="$arg"
    done ;;
  *) echo "stub-value" ;;
esac
"""
RECORDING_FUNC = """#!/usr/bin/env bash
printf 'func %s (cwd %s)\\n' "$*" "$PWD" >> "$CALL_LOG"
"""


@pytest.fixture()
def stub_dir(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "az").write_text(RECORDING_AZ)
    (bin_dir / "az").chmod(0o755)
    return tmp_path


def add_func(stub_dir: Path) -> None:
    (stub_dir / "bin" / "func").write_text(RECORDING_FUNC)
    (stub_dir / "bin" / "func").chmod(0o755)


def run_deploy(
    stub_dir: Path, *args: str, sfmc: bool = True, **extra_env: str
) -> subprocess.CompletedProcess[str]:
    python_dir = str(Path(shutil.which("python3") or "/usr/bin/python3").parent)
    env = {
        "PATH": os.pathsep.join([str(stub_dir / "bin"), python_dir, "/usr/bin", "/bin"]),
        "HOME": str(stub_dir),
        "TMPDIR": str(stub_dir),
        "CALL_LOG": str(stub_dir / "calls.log"),
        "STUB_DIR": str(stub_dir),
        **extra_env,
    }
    if sfmc:
        env |= {
            "SFMC_AUTH_BASE_URL": "https://example.auth.marketingcloudapis.com",
            "SFMC_REST_BASE_URL": "https://example.rest.marketingcloudapis.com",
            "SFMC_CLIENT_ID": "example-client-id",
            "SFMC_CLIENT_SECRET": FAKE_SECRET,
        }
    return subprocess.run(
        ["bash", str(DEPLOY_SCRIPT), *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def calls(stub_dir: Path) -> list[str]:
    log = stub_dir / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


def test_help_describes_the_what_if_option(stub_dir: Path) -> None:
    # WHEN asking for help
    completed = run_deploy(stub_dir, "--help", sfmc=False)
    # THEN it succeeds, shows the options and calls nothing
    assert completed.returncode == 0
    assert "--what-if" in completed.stdout and "--env-name" in completed.stdout
    assert calls(stub_dir) == []


def test_missing_marketing_cloud_secret_stops_before_any_azure_call(stub_dir: Path) -> None:
    # GIVEN no Marketing Cloud settings in the environment
    # WHEN deploying
    completed = run_deploy(stub_dir, "--env-name", "dev", "--location", "swedencentral", sfmc=False)
    # THEN it fails early, names the missing variable, and never called az
    assert completed.returncode != 0
    assert "SFMC_AUTH_BASE_URL" in completed.stderr
    assert calls(stub_dir) == []


def test_malformed_parameter_override_is_rejected(stub_dir: Path) -> None:
    # WHEN an override is not KEY=VALUE
    completed = run_deploy(stub_dir, "-e", "dev", "-l", "swedencentral", "-p", "eventHubPartitionCount")
    # THEN it fails before calling az
    assert completed.returncode != 0 and "KEY=VALUE" in completed.stderr
    assert calls(stub_dir) == []


def test_what_if_previews_and_changes_nothing(stub_dir: Path) -> None:
    # GIVEN an existing resource group
    add_func(stub_dir)
    # WHEN running with --what-if
    completed = run_deploy(stub_dir, "-e", "dev", "-l", "swedencentral", "--what-if")
    # THEN it runs what-if against main.bicep and creates, deploys and publishes nothing
    assert completed.returncode == 0, completed.stderr
    made = calls(stub_dir)
    assert any(call.startswith("az deployment group what-if") and "main.bicep" in call for call in made)
    assert not any("group create" in call or call.startswith("func") for call in made)


def test_what_if_on_a_missing_group_reports_it_would_be_created(stub_dir: Path) -> None:
    # GIVEN no resource group yet
    # WHEN running with --what-if
    completed = run_deploy(
        stub_dir, "-e", "dev", "-l", "swedencentral", "--what-if", STUB_GROUP_EXISTS="false"
    )
    # THEN it says so and creates nothing
    assert completed.returncode == 0
    assert "rg-squall-dev does not exist" in completed.stdout
    assert calls(stub_dir) == ["az group exists --name rg-squall-dev"]


def test_deploy_creates_group_deploys_template_then_publishes_with_core_tools(stub_dir: Path) -> None:
    # GIVEN Core Tools installed
    add_func(stub_dir)
    # WHEN deploying with an override
    completed = run_deploy(stub_dir, "-e", "dev", "-l", "swedencentral", "-p", "eventHubPartitionCount=8")
    # THEN group, template and publish happen in that order
    assert completed.returncode == 0, completed.stderr
    made = calls(stub_dir)
    order = [
        next(i for i, call in enumerate(made) if call.startswith(prefix))
        for prefix in (
            "az group create --name rg-squall-dev --location swedencentral",
            "az deployment group create --resource-group rg-squall-dev --name squall-dev",
            "func azure functionapp publish func-api-stub --python",
        )
    ]
    assert order == sorted(order)
    assert any("--parameters eventHubPartitionCount=8" in call for call in made)
    # AND the secret went through the parameters file only, which is gone afterwards
    assert not any(FAKE_SECRET in call for call in made)
    assert FAKE_SECRET in (stub_dir / "parameters.json").read_text()
    assert not list(stub_dir.glob("squall-deploy.*"))


def test_deploy_without_core_tools_zips_the_app_as_funcignore_says(stub_dir: Path) -> None:
    # GIVEN no Core Tools on PATH
    # WHEN deploying
    completed = run_deploy(stub_dir, "-e", "dev", "-l", "swedencentral")
    # THEN the app is pushed with a remote build
    assert completed.returncode == 0, completed.stderr
    assert any(
        "deployment source config-zip" in call and "--build-remote true" in call for call in calls(stub_dir)
    )
    # AND the package holds the app but not the tooling, tests or local settings
    names = zipfile.ZipFile(stub_dir / "app.zip").namelist()
    assert {"function_app.py", "host.json", "requirements.txt"} <= set(names)
    assert any(name.startswith("shared/") for name in names)
    assert not [
        name for name in names
        if name.split("/")[0] in {"squall", "tests", "infra", ".venv", "node_modules", "build", "setup.py"}
    ]  # fmt: skip


FAKE_WEBHOOK_SECRETS = '{"crm": "local-test-signing-secret-5d2e"}'  # obviously fake
WEBHOOKS = '{"crm": {"url": "https://hooks.example.com/squall"}}'


def test_webhook_settings_go_through_the_parameters_file_only(stub_dir: Path) -> None:
    # GIVEN webhook destinations, their signing secrets and the async journey mode in the environment
    add_func(stub_dir)
    # WHEN deploying
    completed = run_deploy(
        stub_dir, "-e", "dev", "-l", "swedencentral",
        SQUALL_WEBHOOKS=WEBHOOKS, SQUALL_WEBHOOK_SECRETS=FAKE_WEBHOOK_SECRETS, SFMC_JOURNEY_ENTRY_MODE="async",
    )  # fmt: skip
    # THEN they reach main.bicep's parameters as given, and the secrets never appear on a command line
    assert completed.returncode == 0, completed.stderr
    parameters = json.loads((stub_dir / "parameters.json").read_text())["parameters"]
    assert parameters["webhooks"]["value"] == WEBHOOKS
    assert parameters["webhookSecrets"]["value"] == FAKE_WEBHOOK_SECRETS
    assert parameters["sfmcJourneyEntryMode"]["value"] == "async"
    assert not any("local-test-signing-secret" in call for call in calls(stub_dir))


def test_unset_optional_settings_leave_the_main_bicep_defaults(stub_dir: Path) -> None:
    # GIVEN only the required Marketing Cloud settings
    add_func(stub_dir)
    # WHEN deploying
    completed = run_deploy(stub_dir, "-e", "dev", "-l", "swedencentral", SQUALL_WEBHOOKS="")
    # THEN the parameters file leaves journey mode and webhooks to main.bicep's defaults
    assert completed.returncode == 0, completed.stderr
    parameters = json.loads((stub_dir / "parameters.json").read_text())["parameters"]
    assert not {"sfmcJourneyEntryMode", "webhooks", "webhookSecrets"} & set(parameters)


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({"SQUALL_WEBHOOK_SECRETS": '{"crm": "local-test-signing'}, "SQUALL_WEBHOOK_SECRETS is not valid JSON"),
        ({"SQUALL_WEBHOOKS": WEBHOOKS}, "no signing secret for crm"),
        ({"SQUALL_WEBHOOKS": "[]"}, "SQUALL_WEBHOOKS must be a JSON object"),
        ({"SFMC_JOURNEY_ENTRY_MODE": "batch"}, "SFMC_JOURNEY_ENTRY_MODE must be sync or async"),
    ],
    ids=["secrets-not-json", "webhook-without-secret", "webhooks-not-object", "bad-journey-mode"],
)
def test_malformed_optional_settings_stop_before_any_azure_call(
    stub_dir: Path, environment: dict[str, str], message: str
) -> None:
    # WHEN deploying with a malformed optional setting
    completed = run_deploy(stub_dir, "-e", "dev", "-l", "swedencentral", **environment)
    # THEN it fails, says which setting, never echoes a secret, and never called az
    assert completed.returncode != 0
    assert message in completed.stderr
    assert "local-test-signing" not in completed.stderr + completed.stdout
    assert calls(stub_dir) == []
