"""Parameters are described and validated early; azd's parameter file matches main.bicep."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.infra.bicep_source import INFRA_DIR, MAIN_BICEP, REPO_ROOT, bicep_files, decorators, parse_bicep


@pytest.mark.parametrize("path", bicep_files(), ids=lambda path: str(path.relative_to(REPO_ROOT)))
def test_every_parameter_is_described(path: Path) -> None:
    # GIVEN the parameters of a template
    parameters = parse_bicep(path).get("parameters", {})
    # THEN each carries a @description in words
    undescribed = [
        name
        for name, parameter in parameters.items()
        if len(str(decorators(parameter).get("description") or "").split()) < 2
    ]
    assert undescribed == []


def test_every_numeric_main_parameter_is_bounded() -> None:
    # GIVEN main.bicep's int parameters
    parameters = parse_bicep(MAIN_BICEP)["parameters"]
    unbounded = [
        name
        for name, parameter in parameters.items()
        if parameter["type"] == "int"
        and "allowed" not in decorators(parameter)
        and not {"min_value", "max_value"} <= set(decorators(parameter))
    ]
    # THEN each is @allowed or has both @minValue and @maxValue
    assert unbounded == []


def test_flex_consumption_and_event_hub_limits_are_enforced_by_parameters() -> None:
    # GIVEN main.bicep's parameters
    parameters = parse_bicep(MAIN_BICEP)["parameters"]

    def rules(name: str) -> dict[str, object]:
        return decorators(parameters[name])

    # THEN Flex Consumption sizes and instance bounds, Standard-tier partitions and capacity modes hold
    assert rules("functionInstanceMemoryMB")["allowed"] == [512, 2048, 4096]
    assert (
        rules("functionMaximumInstanceCount")["min_value"],
        rules("functionMaximumInstanceCount")["max_value"],
    ) == (40, 1000)
    assert parameters["eventHubPartitionCount"]["default"] == 32
    assert rules("eventHubPartitionCount")["max_value"] == 32
    assert rules("cosmosCapacityMode")["allowed"] == ["serverless", "autoscale"]
    assert rules("eventFormat")["allowed"] == ["auto", "o365", "cloudevents", "eventgrid", "iothub", "json"]


def test_azd_parameter_file_covers_the_required_parameters_and_names_only_real_ones() -> None:
    # GIVEN main.parameters.json and main.bicep
    in_file = json.loads((INFRA_DIR / "main.parameters.json").read_text())["parameters"]
    parameters = parse_bicep(MAIN_BICEP)["parameters"]
    required = {name for name, parameter in parameters.items() if parameter.get("default") is None}
    # THEN it sets every required parameter and no unknown one, each from an azd environment variable
    assert set(in_file) <= set(parameters), sorted(set(in_file) - set(parameters))
    assert required <= set(in_file), sorted(required - set(in_file))
    assert all(str(entry["value"]).startswith("${") for entry in in_file.values())


def test_azure_yaml_deploys_the_repository_as_a_python_function_app() -> None:
    # GIVEN azure.yaml
    project = yaml.safe_load((REPO_ROOT / "azure.yaml").read_text())
    # THEN service `api` is the repository root, Python, hosted on Functions, provisioned from infra/main
    assert project["services"]["api"] == {"project": ".", "language": "python", "host": "function"}
    assert project["infra"] == {"provider": "bicep", "path": "infra", "module": "main"}
    # AND the app carries the azd-service-name tag azd looks for
    api = (INFRA_DIR / "app" / "api.bicep").read_text()
    assert "'azd-service-name': 'api'" in api


def test_funcignore_keeps_tooling_tests_and_local_settings_out_of_the_package() -> None:
    # GIVEN .funcignore
    ignored = {
        line.strip().rstrip("/")
        for line in (REPO_ROOT / ".funcignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    # THEN developer tooling and secrets-prone files are not deployed, the app itself is
    assert {
        "squall",
        "tests",
        "infra",
        ".venv",
        ".venv-infra",
        "node_modules",
        "local.settings.json",
        "build",
        "setup.py",
    } <= ignored
    assert not {"shared", "functions", "function_app.py", "host.json", "requirements.txt"} & ignored
