"""Builds config/grafana/dashboards/dialer.json: PromQL panels for the live view, SQL panels from cdr.queries.

The SQL of every SQL panel is `PanelQuery.grafana_sql()` of the function in cdr.queries, so the
dashboard and the reports run the same query. Regenerate after changing either:

    python -m cdr.dashboard            # writes the file
    python -m cdr.dashboard --check    # exits 1 when the committed file is stale
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cdr.queries import PanelQuery, Period, Visual, dashboard_queries

__all__ = [
    "DASHBOARD_PATH",
    "POSTGRES_UID",
    "PROMETHEUS_UID",
    "PROM_PANELS",
    "PromPanel",
    "build_dashboard",
    "prom_expressions",
    "sql_panels",
]

DASHBOARD_PATH = Path(__file__).resolve().parent.parent / "config" / "grafana" / "dashboards" / "dialer.json"
PROMETHEUS_UID = "dialer-prometheus"
POSTGRES_UID = "dialer-postgres"
_PROM = {"type": "prometheus", "uid": PROMETHEUS_UID}
_PG = {"type": "grafana-postgresql-datasource", "uid": POSTGRES_UID}


@dataclass(frozen=True, slots=True)
class PromPanel:
    title: str
    targets: tuple[tuple[str, str], ...]  # (PromQL, legend)
    unit: str = "short"
    description: str = ""


PROM_PANELS: tuple[PromPanel, ...] = (
    PromPanel("Active calls", (("sum by (trunk) (dialer_active_calls)", "{{trunk}}"),),
              description="Calls in progress per trunk, over all workers."),
    PromPanel(
        "Trunking level CPS",
        (
            ('dialer:cps:rate1m{scope="trunk"}', "{{trunk}}"),
            ('dialer:cps:rate1m{scope="total"}', "all trunks"),
            ("max by (trunk) (dialer_trunk_cps_limit)", "limit {{trunk}}"),
        ),
        unit="reqps",
        description="Originations per second over the last minute, per trunk, with the trunk's configured limit.",
    ),
    PromPanel(
        "Average handling time",
        (
            ('dialer:aht_seconds:rate5m{scope="campaign"}', "{{campaign}}"),
            ('dialer:aht_seconds:rate5m{scope="total"}', "all campaigns"),
        ),
        unit="s",
        description="Billed seconds per answered call over the last 5 minutes.",
    ),
    PromPanel("Answer rate", (("dialer:answer_rate:rate5m", "{{campaign}}"),), unit="percentunit"),
    PromPanel("Calls by status, per minute", (("dialer:calls:rate5m * 60", "{{campaign}} {{outcome}}"),)),
    PromPanel(
        "Held back by compliance, last 15 minutes",
        (("sum by (reason) (increase(dialer_compliance_blocked_total[15m]))", "{{reason}}"),),
        description="Contacts not dialed at their turn: outside the subscriber's window, caps reached...",
    ),
    PromPanel("Contacts ready to dial", (("sum by (campaign) (dialer_contacts_ready)", "{{campaign}}"),)),
    PromPanel("Originations per campaign", (("dialer:campaign_cps:rate1m", "{{campaign}}"),), unit="reqps"),
    PromPanel(
        "Ring time p90",
        (("histogram_quantile(0.9, sum by (trunk, le) (rate(dialer_call_ring_seconds_bucket[5m])))", "{{trunk}}"),),
        unit="s",
    ),
    PromPanel("AMI links", (("min by (server) (dialer_ami_connected)", "{{server}}"),),
              description="1 when every worker has its AMI session to the server."),
    PromPanel(
        "CDR pipeline",
        (
            ("sum by (table) (dialer_cdr_queue_rows)", "queued {{table}}"),
            ("sum(increase(dialer_cdr_mismatch_total[1h]))", "mismatches with Asterisk, 1 h"),
        ),
    ),
)


def sql_panels() -> tuple[PanelQuery, ...]:
    return dashboard_queries()


def _ids() -> Iterator[int]:
    n = 0
    while True:
        n += 1
        yield n


def _row(panel_id: int, title: str, y: int) -> dict[str, Any]:
    return {"id": panel_id, "type": "row", "title": title, "collapsed": False,
            "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []}


def _prom_panel(panel_id: int, panel: PromPanel, grid: dict[str, int]) -> dict[str, Any]:
    return {
        "id": panel_id,
        "type": "timeseries",
        "title": panel.title,
        "description": panel.description,
        "datasource": _PROM,
        "gridPos": grid,
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                    "tooltip": {"mode": "multi", "sort": "desc"}},
        "targets": [
            {"refId": chr(ord("A") + i), "datasource": _PROM, "expr": expr, "legendFormat": legend, "range": True}
            for i, (expr, legend) in enumerate(panel.targets)
        ],
    }


def _sql_panel(panel_id: int, query: PanelQuery, grid: dict[str, int]) -> dict[str, Any]:
    options: dict[str, Any]
    if query.visual is Visual.PIE:
        options = {"reduceOptions": {"values": True, "calcs": ["lastNotNull"], "fields": ""},
                   "pieType": "pie", "displayLabels": ["name", "value"],
                   "legend": {"displayMode": "table", "placement": "right", "showLegend": True, "values": ["value"]}}
    elif query.visual is Visual.BARS:
        options = {"orientation": "horizontal", "showValue": "always", "xTickLabelRotation": 0,
                   "legend": {"displayMode": "list", "placement": "bottom", "showLegend": False}}
    elif query.visual is Visual.STAT:
        options = {"reduceOptions": {"values": False, "calcs": ["lastNotNull"], "fields": "/^aht_seconds$/"},
                   "colorMode": "value", "graphMode": "none", "textMode": "value"}
    else:
        options = {"showHeader": True}
    return {
        "id": panel_id,
        "type": query.visual.value,
        "title": query.title,
        "description": f"SQL: {query.source} (times in the company's time zone)",
        "datasource": _PG,
        "gridPos": grid,
        "fieldConfig": {"defaults": {"unit": query.unit}, "overrides": []},
        "options": options,
        "targets": [{"refId": "A", "datasource": _PG, "editorMode": "code", "format": "table", "rawQuery": True,
                     "rawSql": query.grafana_sql()}],
    }


def _layout(panels: Sequence[Any], width: int, height: int, y: int) -> Iterator[tuple[Any, dict[str, int]]]:
    per_row = 24 // width
    for i, panel in enumerate(panels):
        yield panel, {"h": height, "w": width, "x": (i % per_row) * width, "y": y + (i // per_row) * height}


def build_dashboard() -> dict[str, Any]:
    """The dashboard as Grafana's JSON model (provisioned from config/grafana/dashboards)."""
    ids = _ids()
    panels: list[dict[str, Any]] = []
    y = 0
    panels.append(_row(next(ids), "Live (Prometheus)", y))
    y += 1
    for prom, grid in _layout(PROM_PANELS, 8, 8, y):
        panels.append(_prom_panel(next(ids), prom, grid))
    y += -(-len(PROM_PANELS) // 3) * 8
    queries = {q.key: q for q in sql_panels()}
    sections = (
        ("Calls by status (CDR)", [f"calls_by_status_{p.key}" for p in
                                   (Period.TODAY, Period.YEAR, Period.LAST_15_MIN, Period.LAST_30_MIN)]),
        ("Calls by duration (CDR)", [f"calls_by_duration_{p.key}" for p in
                                     (Period.TODAY, Period.YEAR, Period.LAST_15_MIN, Period.LAST_60_MIN)]),
        ("Contacts, CPS and AHT (CDR)", ["contacts_by_state", "cps_from_cdr_today", "aht_from_cdr_today",
                                         "aht_from_cdr_year"]),
    )
    placed = set()
    for title, keys in sections:
        panels.append(_row(next(ids), title, y))
        y += 1
        for query, grid in _layout([queries[k] for k in keys], 6, 9, y):
            panels.append(_sql_panel(next(ids), query, grid))
            placed.add(query.key)
        y += 9
    missing = set(queries) - placed
    if missing:
        raise AssertionError(f"SQL panels without a place on the dashboard: {sorted(missing)}")
    return {
        "uid": "dialer-telephony",
        "title": "Dialer: telephony",
        "description": "Calls, CPS, AHT, contacts and compliance of the outbound dialer.",
        "tags": ["dialer", "telephony"],
        "timezone": "browser",
        "editable": True,
        "graphTooltip": 1,
        "refresh": "10s",
        "schemaVersion": 39,
        "version": 1,
        "time": {"from": "now-1h", "to": "now"},
        "templating": {"list": [{
            "name": "company",
            "label": "Company",
            "type": "query",
            "datasource": _PG,
            "definition": "SELECT id AS __value, name AS __text FROM companies ORDER BY name",
            "query": "SELECT id AS __value, name AS __text FROM companies ORDER BY name",
            "refresh": 1,
            "includeAll": False,
            "multi": False,
            "current": {},
            "options": [],
            "hide": 0,
            "sort": 0,
        }]},
        "annotations": {"list": []},
        "links": [],
        "panels": panels,
    }


def render() -> str:
    return json.dumps(build_dashboard(), indent=2, ensure_ascii=False) + "\n"


def prom_expressions(dashboard: dict[str, Any]) -> list[str]:
    """Every PromQL expression of a dashboard JSON model (targets with `expr`)."""
    return [
        target["expr"]
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        if "expr" in target
    ]


def main(argv: Sequence[str]) -> int:
    text = render()
    if "--check" in argv:
        current = DASHBOARD_PATH.read_text(encoding="utf-8") if DASHBOARD_PATH.exists() else ""
        if current != text:
            print(f"{DASHBOARD_PATH} is stale: run python -m cdr.dashboard", file=sys.stderr)
            return 1
        return 0
    DASHBOARD_PATH.parent.mkdir(parents=True, exist_ok=True)
    DASHBOARD_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {DASHBOARD_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
