"""`make demo`: a whole campaign, end to end, in about two minutes.

Embedded PostgreSQL (a fresh `dialer_demo` database, migrated), the Asterisk sandbox, a generated
call list of a few hundred real-looking numbers across Russian time zones (subscribers with several
numbers), imported like any list, a campaign with a demo rule set whose window covers *now* (so the
demo runs at any hour) while zones further east are already outside it, one worker in this process,
a live table, a summary, and where to look next.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
from rich.console import Console
from rich.live import Live
from rich.table import Table
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cdr.metrics import DialerMetrics
from compliance import Registry
from dialer.campaigns import CampaignSpec, create_campaign
from dialer.cli.run_cmd import start_metrics_exporter
from dialer.db import migrate
from dialer.db.session import make_engine, session_scope
from dialer.db.url import database_url, libpq_url
from dialer.demo.numbers import generate, write_csv
from dialer.demo.view import Snapshot, snapshot, table
from dialer.demo.window import DemoWindow, demo_window
from dialer.errors import DialerError
from dialer.lifecycle import Action, apply_action
from dialer.lists import ImportOptions, import_call_list
from dialer.runtime import configure_logging, run
from dialer.settings import REPO_ROOT, Settings, get_settings
from dialer.trunks import TrunkSpec, add_trunk
from dialer.worker import Worker, WorkerOptions

DEMO_DB = "dialer_demo"
CAMPAIGN = "demo"
SANDBOX = REPO_ROOT / "asterisk" / "sandbox"
MAX_DIALING_S = 150
METRICS_PORT = 9108
FIRST_NAMES = ("Анна", "Иван", "Мария", "Пётр", "Ольга", "Сергей", "Елена", "Дмитрий", "Наталья", "Алексей")
# Short talk on both legs of the simulated network keeps the demo quick.
CALL_VARIABLES = {"SIM_HOLD": "2", "DIALER_HOLD": "1"}

console = Console()


def fresh_database(base_url: str) -> str:
    """Drop and create `dialer_demo` on the server of `base_url`; its URL."""
    server = libpq_url(base_url).rsplit("/", 1)[0]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DEMO_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DEMO_DB}"')
    return f"{server}/{DEMO_DB}"


def sandbox_up() -> dict[str, object] | None:
    """Bring the Asterisk sandbox up (or reuse it); its status, or None with the reason printed."""
    with console.status("Asterisk sandbox: starting (the first time builds a Debian sid chroot, ~1 min)"):
        up = subprocess.run([str(SANDBOX), "up"], capture_output=True, text=True, timeout=1800, check=False)
    if up.returncode != 0:
        reason = (up.stderr.strip() or up.stdout.strip() or "no output").splitlines()[-1]
        console.print(f"[bold red]The Asterisk sandbox is not available:[/] {reason}")
        console.print("The demo dials real calls through it; run `make demo` as root on a machine that can "
                      "reach Debian's package mirrors (see asterisk/README.md).")
        return None
    status = subprocess.run([str(SANDBOX), "status", "--json"], capture_output=True, text=True, timeout=60,
                            check=False)
    info: dict[str, object] = json.loads(status.stdout)
    return info


def registry_paths(settings: Settings) -> list[Path]:
    paths = list(settings.registry_paths) or [REPO_ROOT.parent / "shared" / "data" / "DEF-9xx.csv"]
    return [p for p in paths if p.exists()]


def plan_zones(window: DemoWindow, rng: random.Random, subscribers: int) -> dict[str, int]:
    """More subscribers where calls are allowed now, some everywhere else (they show hold-backs)."""
    weights = {zone: 3 if zone in window.inside else 1 for zone in window.inside + window.outside}
    total = sum(weights.values())
    counts = {zone: max(2, round(subscribers * w / total)) for zone, w in weights.items()}
    return dict(sorted(counts.items(), key=lambda kv: rng.random()))


async def setup(engine: AsyncEngine, ami_url: str, rules_path: Path, list_path: Path,
                registry: Registry | None, reports: Path) -> int:
    async with session_scope(engine) as session:
        await add_trunk(session, TrunkSpec(name="sandbox", ami=ami_url, dial="Local/{number}@pstn-sim",
                                           cps=15, max_channels=40))
        config = await create_campaign(session, CampaignSpec(
            name=CAMPAIGN, trunks=("sandbox",), company="demo", rules=str(rules_path), max_attempts=2,
            retry="busy=15s,no_answer=15s,congestion=10s,failed=10s,lost=10s,machine=15s,rejected=15s",
            machine="retry", dial_timeout=8,
        ))
        await session.execute(
            text("UPDATE campaigns SET settings = settings || CAST(:s AS jsonb) WHERE id = :id"),
            {"s": json.dumps({"variables": CALL_VARIABLES}), "id": config.id},
        )
    summary = await import_call_list(engine, list_path, CAMPAIGN,
                                      ImportOptions(registry=registry, reports_dir=reports))
    console.print(f"Imported {summary.imported} numbers of {summary.rows} subscribers "
                  f"({summary.invalid} invalid, {summary.duplicates} duplicates, "
                  f"{summary.timezone_unknown} with an unknown time zone).")
    async with session_scope(engine) as session:
        await apply_action(session, config.id, Action.START)
    return config.id


async def nothing_due_soon(engine: AsyncEngine, campaign_id: int) -> bool:
    """No call up and nothing due within 30 s (what is left waits for a window or a cap period)."""
    async with engine.connect() as conn:
        left = (await conn.execute(text(
            """SELECT count(*) FROM contacts WHERE campaign_id = :c
                 AND (state = 'dialing' OR (state = 'ready' AND next_attempt_at < now() + interval '30 seconds'))"""),
            {"c": campaign_id})).scalar_one()
    return int(left) == 0


async def dial(engine: AsyncEngine, url: str, campaign_id: int, metrics: DialerMetrics) -> Snapshot:
    worker = Worker(engine, url, WorkerOptions(
        campaigns=(CAMPAIGN,), lease_seconds=30, ready_queue=16, shutdown_grace_seconds=30,
        idle_recheck_seconds=3,
    ), metrics=metrics)
    started = time.monotonic()
    async with asyncio.TaskGroup() as tg:
        running = tg.create_task(worker.run())
        await worker.started.wait()
        with Live(console=console, refresh_per_second=4, transient=False) as live:
            while not running.done():
                snap = await snapshot(engine, campaign_id, worker)
                elapsed = time.monotonic() - started
                live.update(table(snap, f"Campaign {CAMPAIGN!r}, {elapsed:.0f} s"))
                if snap.attempts and snap.in_flight == 0 and await nothing_due_soon(engine, campaign_id):
                    break
                if elapsed > MAX_DIALING_S:
                    console.print(f"Demo time is up ({MAX_DIALING_S} s): stopping; calls up finish first.")
                    break
                await asyncio.sleep(0.5)  # the display's refresh period
            worker.request_stop()
    return await snapshot(engine, campaign_id, None)


async def summary(engine: AsyncEngine, campaign_id: int, final: Snapshot, window: DemoWindow, url: str,
                  metrics_port: int) -> None:
    async with engine.connect() as conn:
        held = (await conn.execute(text(
            """SELECT c.timezone, d.code, count(*) AS n, min(c.next_attempt_at) AS next, min(c.phone) AS phone
                 FROM contacts c
                 JOIN LATERAL (SELECT reasons -> 0 ->> 'code' AS code FROM decision_log
                                WHERE contact_id = c.id ORDER BY at DESC LIMIT 1) d ON true
                WHERE c.campaign_id = :c AND c.state = 'ready' AND c.next_attempt_at > now()
                GROUP BY 1, 2 ORDER BY 1, 2"""), {"c": campaign_id})).all()
        span = (await conn.execute(text(
            "SELECT min(created_at), max(created_at), count(*) FROM attempts WHERE campaign_id = :c"),
            {"c": campaign_id})).one()
    console.print()
    console.rule("Summary")
    example = "<phone>"
    outcomes = Table(title="Attempts by outcome", title_justify="left")
    outcomes.add_column("outcome")
    outcomes.add_column("calls", justify="right")
    for name, n in sorted(final.outcomes.items(), key=lambda kv: -kv[1]):
        outcomes.add_row(name, str(n))
    outcomes.add_row("[bold]total[/]", str(final.attempts))
    console.print(outcomes)
    if held:
        hold = Table(title="Held back by compliance (decided at the instant of dialing)", title_justify="left")
        for column in ("time zone", "reason", "contacts", "next allowed (local)", "e.g."):
            hold.add_column(column)
        for row in held:
            nxt = row.next.astimezone(ZoneInfo(row.timezone)).strftime("%a %H:%M") if row.timezone else "-"
            hold.add_row(row.timezone or "?", row.code, str(row.n), nxt, row.phone)
        console.print(hold)
        example = held[0].phone
    if span[2] > 1 and span[1] > span[0]:
        cps = (span[2] - 1) / (span[1] - span[0]).total_seconds()
        console.print(f"Originations: {span[2]} in {(span[1] - span[0]).total_seconds():.0f} s "
                      f"({cps:.1f} calls/s, trunk limit 15).")
    console.print(f"Contacts: {final.done} done, {final.failed} failed or excluded, "
                  f"{final.held_window} waiting for their window, {final.held_caps} for their caps, "
                  f"of {final.total}. Human answers counted in the caps ledger: {final.human}.")
    console.print(
        f"\n[bold]Rules:[/] the demo uses its own rule set [bold]demo-now[/]: calls {window.text} local time "
        "every day (chosen around the current Moscow time so the demo can dial at any hour), at most 1 "
        "human-answered call per subscriber a day, 2 a week, 8 a month. Real campaigns use the presets "
        "fz230-law (08:00-22:00 workdays, 09:00-20:00 days off; 1/2/8) or fz230-twin, or a TOML file."
    )
    env = f"DATABASE_URL={url}"
    console.print("\n[bold]Where to look next[/]")
    if metrics_port:
        console.print(f"  Metrics: a worker serves Prometheus metrics at http://127.0.0.1:{metrics_port}/metrics "
                      f"while it runs (`{env} dialer run --metrics-port {metrics_port}`); recording and alert "
                      "rules in config/prometheus/, Grafana dashboards in config/grafana/ (docker compose up).")
    console.print(f"  CDR report: {env} dialer cdr export --campaign {CAMPAIGN} --format xlsx --output demo.xlsx")
    console.print(f"  Results per contact: {env} dialer contacts export --campaign {CAMPAIGN} --format xlsx "
                  "--output demo-results.xlsx")
    console.print(f"  Why a number was or was not dialed: {env} dialer contacts why {example} --campaign {CAMPAIGN}")
    console.print(f"  Campaign: {env} dialer campaigns show {CAMPAIGN}")


async def main_async(settings: Settings, ami_url: str) -> None:
    rng = random.Random()
    now = datetime.now(UTC)
    window = demo_window(now)
    with console.status("PostgreSQL: starting the embedded server and migrating a fresh demo database"):
        url = fresh_database(database_url(settings))
        migrate.upgrade(url)
    paths = registry_paths(settings)
    registry = Registry.from_files(paths) if paths else None
    console.print(f"Database: {url}")
    console.print(f"Numbering registry: {', '.join(map(str, paths)) if paths else 'not found; built-in prefixes'}")
    console.print(f"Demo window {window.text} local time: allowed now in {', '.join(window.inside)}; "
                  f"outside it now: {', '.join(window.outside)}.")
    subscribers = generate(rng, plan_zones(window, rng, 140), registry, first_names=FIRST_NAMES)
    engine = make_engine(url)
    try:
        with tempfile.TemporaryDirectory(prefix="dialer-demo-") as tmp:
            work = Path(tmp)
            rules_path = work / "demo-now.toml"
            rules_path.write_text(window.toml(), encoding="utf-8")
            list_path = work / "demo-list.csv"
            write_csv(list_path, subscribers, with_zone=registry is None)
            campaign_id = await setup(engine, ami_url, rules_path, list_path, registry, work)
        metrics = DialerMetrics()
        metrics_port = METRICS_PORT
        try:
            start_metrics_exporter(metrics, metrics_port)
            console.print(f"Metrics of this run: http://127.0.0.1:{metrics_port}/metrics")
        except DialerError:  # the port is taken (e.g. a worker runs): the demo goes on without it
            metrics_port = 0
        final = await dial(engine, url, campaign_id, metrics)
        await summary(engine, campaign_id, final, window, url, metrics_port)
    finally:
        await engine.dispose()


def main() -> int:
    configure_logging("WARNING")
    settings = get_settings()
    console.rule("Outbound dialer demo: one campaign through a real Asterisk")
    info = sandbox_up()
    if info is None:
        return 1
    ami_url = f"ami://{info['username']}:{info['secret']}@{info['host']}:{info['port']}"
    console.print(f"Asterisk {info['version']} sandbox, AMI {info['host']}:{info['port']}")
    try:
        run(main_async(settings, ami_url))
    except DialerError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        return 1
    with contextlib.suppress(Exception):
        console.rule("Demo finished")
    return 0


if __name__ == "__main__":
    sys.exit(main())
