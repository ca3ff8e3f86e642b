"""The alerts and the workbook query metrics Squall really emits, under the names and dimensions it
emits them with, and docs/observability.md shows the same KQL."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from shared.actions.models import FailureKind
from shared.telemetry import names
from tests.infra.bicep_source import INFRA_DIR, MAIN_BICEP, REPO_ROOT, expression_text, parse_bicep, resources

ALERTS_BICEP = INFRA_DIR / "app" / "alerts.bicep"
WORKBOOK_BICEP = INFRA_DIR / "app" / "workbook.bicep"
KQL_DIR = INFRA_DIR / "app" / "kql"
OBSERVABILITY = REPO_ROOT / "docs" / "observability.md"
#: Metric names another part of issue 14 adds (shadow rules: ``squall.rule.firings{rule_id, mode}``); the
#: workbook already charts it. Once shared/telemetry/names.py defines it, this set changes nothing.
ADDED_ELSEWHERE = {"squall.rule.firings"}
METRIC_NAME = re.compile(r'"(squall\.[a-z_.]+)"')


def emitted_metric_names() -> set[str]:
    return {value for value in vars(names).values() if isinstance(value, str) and value.startswith("squall.")}


def kql_file(value: Any) -> Path:
    """The file a ``loadTextContent('kql/...')`` expression loads."""
    function = value["function"]
    assert function["type"] == "load_text_content", value
    return INFRA_DIR / "app" / function["parameters"]["file_path"]


def alert_table() -> dict[str, dict[str, Any]]:
    return {entry["key"]: entry for entry in parse_bicep(ALERTS_BICEP)["variables"]["alerts"]["value"]}


def chart_table() -> dict[str, dict[str, Any]]:
    return {chart["name"]: chart for chart in parse_bicep(WORKBOOK_BICEP)["variables"]["charts"]["value"]}


def test_the_four_alerts_exist_and_each_measures_its_metric() -> None:
    # GIVEN the alert table of alerts.bicep
    alerts = alert_table()
    # THEN backlog, dead-letter rate, open circuit and consumer lag, each on the metric it is about
    expected = {
        "outbox-backlog": names.OUTBOX_BACKLOG_AGE,
        "dead-letter-rate": names.EVENTS,
        "open-circuit": names.DELIVERY_ATTEMPTS,
        "consumer-lag": names.INGEST_LAG,
    }
    assert set(alerts) == set(expected)
    for key, metric in expected.items():
        query = kql_file(alerts[key]["query"]).read_text()
        assert f'Name == "{metric}"' in query, (key, query)
        # AND the measured column is one the query produces
        assert re.search(rf"\b{alerts[key]['column']}\s*=", query), (key, alerts[key]["column"])


def test_alert_queries_filter_on_dimension_values_the_code_records() -> None:
    alerts = alert_table()
    dead_letters = kql_file(alerts["dead-letter-rate"]["query"]).read_text()
    assert 'outcome == "dead_lettered"' in dead_letters and '"outcome"' in dead_letters
    assert f'"{names.OUTCOME}"' in dead_letters
    circuit = kql_file(alerts["open-circuit"]["query"]).read_text()
    assert f'tostring(Properties["{names.FAILURE}"]) == "{FailureKind.CIRCUIT_OPEN.value}"' in circuit


def test_every_alert_is_one_scheduled_query_rule_sent_to_the_action_groups() -> None:
    # GIVEN the alert resource (a loop over the table)
    alert = parse_bicep(ALERTS_BICEP)["resources"]["alert"]
    config = alert["config"]
    # THEN one scheduled query rule per table row, on the workspace, notifying the configured action groups
    assert alert["type"] == "Microsoft.Insights/scheduledQueryRules"
    assert config["loop_type"]["detail"]["array_name"] == "alerts"
    properties = config["config"]["properties"]
    assert properties["actions"] == {"actionGroups": "actionGroups"}
    assert "logAnalytics" in expression_text(properties["scopes"])
    # AND an e-mail action group exists only when an address is given
    group = parse_bicep(ALERTS_BICEP)["resources"]["emailGroup"]["config"]
    assert "alertEmailAddress" in expression_text(group["condition"])
    assert "alertEmailAddress" in expression_text(group["config"]["properties"]["emailReceivers"])


def test_main_exposes_the_alert_thresholds_and_the_optional_email() -> None:
    parameters = parse_bicep(MAIN_BICEP)["parameters"]
    assert parameters["alertEmailAddress"]["default"] == ""
    assert parameters["alertActionGroupId"]["default"] == ""
    assert (parameters["deadLetterAlertPercent"]["default"], parameters["consumerLagAlertSeconds"]["default"]) == (
        5,
        600,
    )
    modules = parse_bicep(MAIN_BICEP)["modules"]
    assert {"alerts", "workbook"} <= set(modules)


def test_the_workbook_charts_firings_per_rule_dead_letters_and_backlog() -> None:
    # GIVEN the workbook's charts and resource
    charts = chart_table()
    workbook = resources(WORKBOOK_BICEP)["workbook"]["config"]
    # THEN it is a shared workbook on Application Insights, its content the serialized chart list
    assert resources(WORKBOOK_BICEP)["workbook"]["type"] == "Microsoft.Insights/workbooks"
    assert workbook["kind"] == "shared"
    assert "applicationInsights" in expression_text(workbook["properties"]["sourceId"])
    assert "workbookContent" in expression_text(workbook["properties"]["serializedData"])
    # AND firings per rule (by rule id and mode), dead letters and the backlog are charted
    firings = kql_file(charts["firings-per-rule"]["query"]).read_text()
    assert 'name == "squall.rule.firings"' in firings
    assert f'customDimensions["{names.RULE_ID}"]' in firings and 'customDimensions["mode"]' in firings
    assert names.EVENTS in kql_file(charts["dead-letters"]["query"]).read_text()
    assert names.OUTBOX_BACKLOG_AGE in kql_file(charts["outbox-backlog"]["query"]).read_text()
    assert names.INGEST_LAG in kql_file(charts["consumer-lag"]["query"]).read_text()


@pytest.mark.parametrize("path", sorted(KQL_DIR.glob("*.kql")), ids=lambda path: path.name)
def test_every_metric_a_query_names_is_one_squall_emits(path: Path) -> None:
    used = set(METRIC_NAME.findall(path.read_text()))
    assert used, f"{path.name} names no metric"
    assert used - emitted_metric_names() - ADDED_ELSEWHERE == set()


@pytest.mark.parametrize("path", sorted(KQL_DIR.glob("*.kql")), ids=lambda path: path.name)
def test_observability_docs_show_each_deployed_query(path: Path) -> None:
    # GIVEN a deployed query without its comment lines
    query = "\n".join(line for line in path.read_text().splitlines() if not line.startswith("//")).strip()
    # THEN docs/observability.md shows it as written
    assert query in OBSERVABILITY.read_text(), f"{path.name} is not in docs/observability.md"
