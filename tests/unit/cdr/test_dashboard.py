"""config/grafana: the dashboard is generated from cdr.queries and refers only to what exists."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import CollectorRegistry

from cdr import DialerMetrics
from cdr.dashboard import DASHBOARD_PATH, POSTGRES_UID, PROMETHEUS_UID, prom_expressions, render
from cdr.queries import dashboard_queries

REPO = Path(__file__).resolve().parents[3]
GRAFANA = REPO / "config" / "grafana"


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD_PATH.read_text(encoding="utf-8"))


def test_committed_dashboard_is_the_generated_one() -> None:
    assert DASHBOARD_PATH.read_text(encoding="utf-8") == render(), "run: python -m cdr.dashboard"


def test_sql_panels_are_exactly_the_queries_of_cdr_queries() -> None:
    raw = [t["rawSql"] for p in dashboard()["panels"] for t in p.get("targets", []) if "rawSql" in t]
    assert raw == [q.grafana_sql() for q in dashboard_queries()]
    for sql in raw:
        variables = set(re.findall(r"\$(\w+)", sql))
        assert variables == {"company"}, sql
    names = {v["name"] for v in dashboard()["templating"]["list"]}
    assert names == {"company"}


def test_the_issue_panels_are_present() -> None:
    titles = {p["title"] for p in dashboard()["panels"]}
    for title in [
        "Calls by status, today", "Calls by status, this year", "Calls by status, last 15 minutes",
        "Calls by status, last 30 minutes", "Calls by duration, today", "Calls by duration, this year",
        "Calls by duration, last 15 minutes", "Calls by duration, last 60 minutes", "Volume of contacts by state",
        "Trunking level CPS", "Average handling time", "Active calls", "Held back by compliance, last 15 minutes",
    ]:
        assert title in titles
    pies = {p["title"] for p in dashboard()["panels"] if p["type"] == "piechart"}
    assert {"Calls by duration, last 15 minutes", "Calls by duration, last 60 minutes"} <= pies


def test_panels_have_unique_ids_and_do_not_overlap() -> None:
    panels = dashboard()["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    cells: set[tuple[int, int]] = set()
    for p in panels:
        g = p["gridPos"]
        assert g["x"] + g["w"] <= 24
        mine = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
        assert not mine & cells, p["title"]
        cells |= mine


def test_datasources_are_provisioned_with_the_uids_the_panels_use() -> None:
    provisioned = {}
    for path in (GRAFANA / "provisioning" / "datasources").glob("*.yml"):
        for ds in yaml.safe_load(path.read_text())["datasources"]:
            provisioned[ds["uid"]] = ds["type"]
    used = {(t["datasource"]["uid"], t["datasource"]["type"])
            for p in dashboard()["panels"] for t in p.get("targets", [])}
    used |= {(v["datasource"]["uid"], v["datasource"]["type"]) for v in dashboard()["templating"]["list"]}
    assert used == {(PROMETHEUS_UID, "prometheus"), (POSTGRES_UID, "grafana-postgresql-datasource")}
    assert {uid: provisioned.get(uid) for uid, _ in used} == dict(used)


def test_dashboard_provider_reads_the_directory_compose_mounts() -> None:
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "dialer.yml").read_text())["providers"][0]
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    mounts = dict(v.split(":")[:2] for v in compose["services"]["grafana"]["volumes"] if v.startswith("./"))
    assert mounts["./config/grafana/dashboards"] == provider["options"]["path"]
    assert mounts["./config/grafana/provisioning"] == "/etc/grafana/provisioning"


def test_promql_names_only_metrics_that_exist() -> None:
    families = {m.name for m in DialerMetrics(CollectorRegistry()).registry.collect()}
    series = set(families)
    for name in families:
        series |= {f"{name}_total", f"{name}_bucket", f"{name}_sum", f"{name}_count"}
    rules = yaml.safe_load((REPO / "config" / "prometheus" / "rules.yml").read_text())
    recorded = {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}
    expressions = prom_expressions(dashboard()) + [r["expr"] for g in rules["groups"] for r in g["rules"]]
    for expr in expressions:
        for name in re.findall(r"\b(dialer[:_][a-z0-9_:]+)", expr):
            assert name in series or name in recorded, f"{name} in {expr!r} is neither a metric nor a rule"
