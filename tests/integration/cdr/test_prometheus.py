"""Prometheus (Debian's package) scrapes a real `dialer run` worker during a sandbox campaign.

Every PromQL expression of the dashboard and of config/prometheus/rules.yml is evaluated through
Prometheus's HTTP API and returns data; CPS and AHT from Prometheus agree with the CDR table
(cdr.queries, the Grafana SQL panels) within 5%.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cdr.dashboard import DASHBOARD_PATH, prom_expressions
from cdr.queries import Period, aht_from_cdr, cps_from_cdr, run_query
from tests.asterisk_fixture import AsteriskSandbox
from tests.e2e.engine.harness import phone, run_prefix, scalar, settled, wait_until
from tests.integration.cdr.prometheus_server import CONFIG_DIR, Prometheus, running_prometheus, utc_now
from tests.integration.engine.seed import (
    SeedContact,
    fast_settings,
    rules_toml,
    seed_campaign,
    seed_company,
    seed_contacts,
    seed_trunk,
)
from tests.ports import free_port
from tests.unit.cdr.tools import require_tool

pytestmark = [pytest.mark.asterisk, pytest.mark.slow, pytest.mark.timeout(900)]

DIALER = Path(sys.executable).parent / "dialer"
REPO = Path(__file__).resolve().parents[3]
CPS = 4
# Two campaigns on one trunk: short and long conversations, so AHT is a real average.
CAMPAIGNS = {"prom-short": fast_settings(sim_hold=1, dialer_hold=1),
             "prom-long": fast_settings(sim_hold=8, dialer_hold=8)}
TRUNK = "prom-sbx"
# Selectors inside an alert expression: each must have data even when the alert does not fire.
SELECTOR = re.compile(r"\b((?:dialer[:_]|up\b)[a-zA-Z0-9_:]*)(\{[^}]*\})?(?!\s*\()")


def contacts(prefix: str, base: int) -> list[SeedContact]:
    """Two answering numbers per subscriber (the daily cap of 1 holds the second back) and failures."""
    out = []
    for s in range(30):
        out += [SeedContact(phone(prefix, base + 2 * s, d), f"person-{base}-{s}", "Asia/Yekaterinburg")
                for d in "06"]
    for i in range(150):
        digit = "0123456789"[i % 10]
        out.append(SeedContact(phone(prefix, base + 100 + i, digit), f"single-{base}-{i}", "Europe/Moscow"))
    return out


def spawn_worker(database_url: str, tmp: Path, metrics_port: int) -> subprocess.Popen[bytes]:
    config = tmp / "dialer.toml"
    config.write_text('[dialer]\nlog_level = "INFO"\n[dialer.worker]\nlease_seconds = 10\nready_queue = 16\n'
                      "shutdown_grace_seconds = 30\n", encoding="utf-8")
    env = {**os.environ, "DATABASE_URL": database_url, "DIALER_CONFIG": str(config),
           "DIALER_HOME": str(tmp / "home"), "PYTHONUNBUFFERED": "1"}
    with (tmp / "worker.log").open("wb") as log:
        campaigns = [arg for name in CAMPAIGNS for arg in ("--campaign", name)]
        return subprocess.Popen([str(DIALER), "run", *campaigns, "--metrics-port", str(metrics_port)],
                                cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)


async def latest_sample(prom: Prometheus, selector: str, at: datetime) -> tuple[datetime, float]:
    """The last raw sample of a series at or before `at`, with its own timestamp (a rule's evaluation)."""
    result = await prom.query(f"{selector}[15s]", at)
    assert len(result) == 1, f"{selector}: {result}"
    ts, value = result[0]["values"][-1]
    return datetime.fromtimestamp(float(ts), tz=at.tzinfo), float(value)


def rule_expressions() -> tuple[list[str], list[str]]:
    rules = yaml.safe_load((CONFIG_DIR / "rules.yml").read_text())["groups"]
    records = [r["expr"] for g in rules for r in g["rules"] if "record" in r]
    alerts = [r["expr"] for g in rules for r in g["rules"] if "alert" in r]
    return records, alerts


async def test_prometheus_agrees_with_the_cdr_during_a_sandbox_campaign(
    database: AsyncEngine, database_url: str, asterisk: AsteriskSandbox, tmp_path: Path
) -> None:
    require_tool("prometheus")
    prefix = run_prefix()
    async with database.begin() as conn:
        company = await seed_company(conn, "prom-co", timezone="Asia/Yekaterinburg")
        trunk = await seed_trunk(conn, TRUNK, ami_url=asterisk.ami_url, cps=CPS, max_channels=80)
        for n, (name, settings) in enumerate(CAMPAIGNS.items()):
            campaign = await seed_campaign(
                conn, company, name, trunk_ids=[trunk], rules="file:test.toml",
                rules_toml=rules_toml(day=1, week=10, month=10), max_attempts=1, settings=settings,
                dial_timeout_s=4,
            )
            await seed_contacts(conn, campaign, contacts(prefix, n * 1000))

    metrics_port = free_port()
    async with running_prometheus(tmp_path / "prometheus", [f"127.0.0.1:{metrics_port}"]) as prom:
        worker = spawn_worker(database_url, tmp_path, metrics_port)
        try:
            await wait_until(lambda: scalar(database, "SELECT count(*) FROM attempts"), 90, "the first call")
            await wait_until(lambda: settled(database), 400, "every contact dialled or held back")
            attempts = await scalar(database, "SELECT count(*) FROM attempts")
            await wait_until(lambda: _cdr_complete(database, attempts), 60, "every CDR written")

            settled_at = utc_now()

            async def scraped_after_the_run() -> bool:
                # a scrape after the run settled, seeing no call in progress
                scrape = await prom.query('timestamp(up{job="dialer"})')
                if not scrape or float(scrape[0]["value"][1]) <= settled_at.timestamp():
                    return False
                return await prom.scalar("sum(dialer_active_calls)") == 0

            await wait_until(scraped_after_the_run, 60, "a scrape of the settled worker")
            originated = await prom.scalar("sum(dialer_originations_total)")
            ended = await prom.scalar("sum(dialer_calls_total)")
            assert originated == ended > 0.8 * attempts, (originated, ended, attempts)
            caught_up = utc_now()

            async def rules_evaluated() -> bool:
                # a recording-rule sample from an evaluation after the scrape that saw every call
                result = await prom.query('dialer:aht_seconds:rate5m{scope="total"}[5s]')
                return bool(result) and float(result[0]["values"][-1][0]) > caught_up.timestamp() + 1

            await wait_until(rules_evaluated, 30, "the recording rules after the last scrape")
            t_end = utc_now()
            report = await _evaluate_everything(prom, t_end)
            first = await _instant(database, "SELECT min(created_at) FROM attempts")
            last = await _instant(database, "SELECT max(created_at) FROM attempts")
            cps = await _compare_cps(prom, database, company, first, last)
            aht = await _compare_aht(prom, database, company, t_end, first)
        finally:
            worker.send_signal(signal.SIGTERM)
            code = worker.wait(90)
        log = (tmp_path / "worker.log").read_text(errors="replace")
        assert code == 0, log[-4000:]
    (tmp_path / "report.json").write_text(json.dumps({"cps": cps, "aht": aht, **report}, indent=2, default=str))


async def _instant(engine: AsyncEngine, sql: str) -> datetime:
    async with engine.connect() as conn:
        value = (await conn.execute(text(sql))).scalar_one()
    assert isinstance(value, datetime), value
    return value


async def _cdr_complete(engine: AsyncEngine, attempts: int) -> bool:
    return await scalar(engine, "SELECT count(*) FROM cdr") >= attempts


async def _evaluate_everything(prom: Prometheus, at: datetime) -> dict[str, object]:
    dashboard = json.loads(DASHBOARD_PATH.read_text(encoding="utf-8"))
    records, alerts = rule_expressions()
    empty = []
    for expr in [*prom_expressions(dashboard), *records]:
        if not await prom.query(expr, at):
            empty.append(expr)
    for expr in alerts:
        await prom.query(expr, at)  # valid PromQL, evaluates without error
        for name, labels in SELECTOR.findall(expr):
            if not await prom.query(name + labels, at):
                empty.append(f"{name}{labels} (in alert {expr!r})")
    assert empty == [], f"expressions without data at {at}: {empty}"
    rules = await prom.rules()
    unhealthy = [(r["name"], r.get("lastError")) for r in rules if r["health"] != "ok"]
    assert unhealthy == []
    assert len(rules) == len(records) + len(alerts)
    firing = [r["name"] for r in rules if r.get("state") == "firing"]
    return {"evaluated": len(prom_expressions(dashboard)) + len(records) + len(alerts), "firing": firing}


async def _compare_cps(
    prom: Prometheus, engine: AsyncEngine, company: int, first: datetime, last: datetime
) -> dict[str, float]:
    """Trunking CPS over one steady minute: the recorded series against the CDR's originations."""
    assert last - first >= timedelta(seconds=75), f"the run was too short to measure a minute: {first}..{last}"
    at = first + timedelta(seconds=70)
    out: dict[str, float] = {}
    for selector, row in (('dialer:cps:rate1m{scope="total"}', "all"),
                          (f'dialer:cps:rate1m{{scope="trunk", trunk="{TRUNK}"}}', TRUNK)):
        ts, from_prometheus = await latest_sample(prom, selector, at)
        async with engine.connect() as conn:
            rows = await run_query(conn, cps_from_cdr(Period.LAST_1_MIN), company_id=company, now=ts)
        from_cdr = next(r["cps"] for r in rows if r["trunk"] == row)
        assert from_cdr > CPS * 0.5, rows  # the minute is inside the run
        assert from_prometheus == pytest.approx(from_cdr, rel=0.05), (selector, ts, from_prometheus, rows)
        out[row] = from_prometheus
    return out


async def _compare_aht(
    prom: Prometheus, engine: AsyncEngine, company: int, t_end: datetime, first: datetime
) -> dict[str, float]:
    ts, from_prometheus = await latest_sample(prom, 'dialer:aht_seconds:rate5m{scope="total"}', t_end)
    assert t_end - first < timedelta(minutes=5) - timedelta(seconds=10), "the run outgrew the 5 min AHT window"
    async with engine.connect() as conn:
        rows = await run_query(conn, aht_from_cdr(Period.LAST_5_MIN), company_id=company, now=ts)
    from_cdr = rows[0]["aht_seconds"]
    assert rows[0]["answered_calls"] > 50, rows
    assert from_prometheus == pytest.approx(from_cdr, rel=0.05), (ts, from_prometheus, rows, first)
    per_campaign = {
        name: (await latest_sample(prom, f'dialer:aht_seconds:rate5m{{scope="campaign", campaign="{name}"}}',
                                   t_end))[1]
        for name in CAMPAIGNS
    }
    # The average is of different conversations (else any mean would agree).
    assert per_campaign["prom-long"] > per_campaign["prom-short"] + 3, per_campaign
    assert min(per_campaign.values()) < from_prometheus < max(per_campaign.values())
    return {"prometheus": from_prometheus, "cdr": float(from_cdr), **per_campaign}
