"""End-to-end harness: `dialer run` worker processes against a test database and the real sandbox,
and the invariants every run must keep, computed from the database and Asterisk's own CDR."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.engine.seed import (
    FAST_RETRIES,
    SeedContact,
    fast_settings,
    rules_toml,
    seed_campaign,
    seed_company,
    seed_contacts,
    seed_trunk,
)

REPO = Path(__file__).resolve().parents[3]
DIALER = Path(sys.executable).parent / "dialer"
# Logged by `dialer run` once SIGTERM/SIGINT mean a graceful stop (dialer/cli/run_cmd.py).
READY_LINE = "stop signals handled"

# Russian zones by UTC offset (no DST since 2014).
ZONES_BY_OFFSET = {
    2: "Europe/Kaliningrad", 3: "Europe/Moscow", 4: "Europe/Samara", 5: "Asia/Yekaterinburg", 6: "Asia/Omsk",
    7: "Asia/Novosibirsk", 8: "Asia/Irkutsk", 9: "Asia/Yakutsk", 10: "Asia/Vladivostok", 11: "Asia/Magadan",
    12: "Asia/Kamchatka",
}


def run_prefix() -> str:
    """Three random digits that keep this run's numbers apart from other users of the shared sandbox."""
    return f"{random.randrange(1000):03d}"


def phone(prefix: str, seq: int, last_digit: int | str) -> str:
    """+79 PPP SSSSS D: the last digit chooses the behaviour in [pstn-sim]."""
    return f"+79{prefix}{seq:05d}{last_digit}"


@dataclass
class WorkerProcess:
    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def signal(self, sig: int) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    async def handles_stop_signals(self, within_s: float = 60) -> None:
        """Until the process says it handles SIGTERM (or has exited): before that, Python is still
        importing and a SIGTERM would kill it with the default action."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        while self.proc.poll() is None and READY_LINE not in self.log():
            if loop.time() > deadline:
                raise AssertionError(f"worker {self.name} never got ready; log:\n{self.log()[-4000:]}")
            await asyncio.sleep(0.05)

    async def wait(self, within_s: float) -> int:
        try:
            return await asyncio.to_thread(self.proc.wait, within_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            await asyncio.to_thread(self.proc.wait, 10)
            raise AssertionError(
                f"worker {self.name} did not exit within {within_s}s; log:\n{self.log()[-4000:]}"
            ) from None


def worker_config(tmp_path: Path, *, lease_seconds: int = 5, grace: int = 30) -> Path:
    path = tmp_path / "dialer-e2e.toml"
    path.write_text(
        "[dialer]\nlog_level = \"INFO\"\n"
        f"[dialer.worker]\nlease_seconds = {lease_seconds}\nready_queue = 16\n"
        f"shutdown_grace_seconds = {grace}\nmetrics_port = 0\n",
        encoding="utf-8",
    )
    return path


def spawn_worker(
    database_url: str, tmp_path: Path, name: str, *, campaign: str | None = "e2e", until_done: bool = True,
    config: Path | None = None,
) -> WorkerProcess:
    """`dialer run` as a separate process (what production runs), logging to a file per worker."""
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": database_url,
        "DIALER_CONFIG": str(config or worker_config(tmp_path)),
        "DIALER_HOME": str(tmp_path / "home"),
        "PYTHONUNBUFFERED": "1",
    })
    args = [str(DIALER), "run", "--metrics-port", "0"]
    if campaign is not None:
        args += ["--campaign", campaign]
    if until_done:
        args.append("--until-done")
    log_path = tmp_path / f"{name}.log"
    log_file = log_path.open("wb")
    proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    log_file.close()
    return WorkerProcess(name, proc, log_path)


@contextlib.contextmanager
def killed_at_exit(workers: Sequence[WorkerProcess]) -> Iterator[None]:
    """Whatever happens in the block (a failed wait, a fault that raised), no worker outlives it."""
    try:
        yield
    finally:
        for w in workers:
            w.signal(signal.SIGKILL)


async def finished(workers: Sequence[WorkerProcess], within_s: float, *, log_tail: int = 4000) -> str:
    """Wait for each worker to end its run (`--until-done`); every one must exit 0 (graceful). Returns
    the end of their logs, for further assertions."""
    codes = [await w.wait(within_s) for w in workers]
    logs = "\n".join(w.log()[-log_tail:] for w in workers)
    assert codes == [0] * len(workers), logs
    return logs


async def stop_all(workers: Sequence[WorkerProcess], within_s: float = 90) -> list[int]:
    """SIGTERM every worker once it handles signals; their exit codes (0: graceful)."""
    for w in workers:
        await w.handles_stop_signals()
    for w in workers:
        w.signal(signal.SIGTERM)
    return [await w.wait(within_s) for w in workers]


async def wait_until(check: Callable[[], Awaitable[bool]], within_s: float, what: str,
                     interval: float = 0.5) -> None:
    """Poll a database condition (the run's progress is only observable there) until true or timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while True:
        if await check():
            return
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {within_s}s waiting for {what}")
        await asyncio.sleep(interval)


async def scalar(engine: AsyncEngine, sql: str, **params: object) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(sql), params)).scalar_one() or 0)


async def seed_fault_run(
    engine: AsyncEngine, ami_url: str, contacts: Sequence[SeedContact], *, max_channels: int, max_attempts: int,
    sim_hold: int,
) -> None:
    """The campaign `e2e` the fault tests dial (20 CPS, caps far above what they need, fast retries):
    its calls last `sim_hold` seconds, so a fault meets some of them up."""
    async with engine.begin() as conn:
        company = await seed_company(conn)
        trunk = await seed_trunk(conn, ami_url=ami_url, cps=20, max_channels=max_channels)
        campaign = await seed_campaign(
            conn, company, "e2e", trunk_ids=[trunk], rules="file:test.toml",
            rules_toml=rules_toml(day=10, week=20, month=40), max_attempts=max_attempts, retry_delays=FAST_RETRIES,
            settings=fast_settings(sim_hold=sim_hold, dialer_hold=1), dial_timeout_s=10,
        )
        await seed_contacts(conn, campaign, contacts)


async def calls_in_flight(engine: AsyncEngine, at_least: int) -> bool:
    return await scalar(engine, "SELECT count(*) FROM attempts WHERE ended_at IS NULL") >= at_least


async def settled(engine: AsyncEngine, horizon_s: float = 120) -> bool:
    """Nothing in flight and nothing due soon: what is left waits for a window or a cap period
    (hours away), not for a retry delay of a few seconds."""
    return await scalar(
        engine,
        """SELECT (SELECT count(*) FROM contacts WHERE state = 'dialing'
                     OR (state = 'ready' AND next_attempt_at <= now() + make_interval(secs => :horizon)))
                + (SELECT count(*) FROM attempts WHERE ended_at IS NULL)""",
        horizon=horizon_s,
    ) == 0


# Invariants


@dataclass(frozen=True)
class HumanAnswer:
    subscriber: str
    zone: str
    at: datetime


async def human_answers(engine: AsyncEngine) -> list[HumanAnswer]:
    """Answered by a human (FZ-230 caps): answered, billsec > 0, AMD HUMAN or not run; from the attempts."""
    async with engine.connect() as conn:
        rows = (await conn.execute(text(
            """SELECT c.subscriber_key, c.timezone, coalesce(a.answered_at, a.created_at) AS at
                 FROM attempts a JOIN contacts c ON c.id = a.contact_id
                WHERE a.outcome = 'answered' AND a.billsec > 0
                  AND coalesce(nullif(a.amd_status, ''), 'HUMAN') = 'HUMAN'"""
        ))).all()
    return [HumanAnswer(r.subscriber_key, r.timezone, r.at) for r in rows]


def cap_violations(answers: Sequence[HumanAnswer], *, day: int, week: int, month: int) -> list[str]:
    per: dict[tuple[str, str, str], int] = Counter()
    for a in answers:
        local = a.at.astimezone(ZoneInfo(a.zone)).date()
        iso = local.isocalendar()
        per[(a.subscriber, "day", local.isoformat())] += 1
        per[(a.subscriber, "week", f"{iso[0]}-W{iso[1]}")] += 1
        per[(a.subscriber, "month", f"{local.year}-{local.month}")] += 1
    limits = {"day": day, "week": week, "month": month}
    return [f"{s} {p} {k}: {n} > {limits[p]}" for (s, p, k), n in per.items() if n > limits[p]]


async def double_dials(engine: AsyncEngine, *, max_answers_per_contact: int | None = 1) -> list[str]:
    """Two attempts of one contact in flight at once (what a double dial is), or a contact answered
    more often than its campaign allows (answered completes a contact), or an attempt with two CDRs."""
    problems: list[str] = []
    async with engine.connect() as conn:
        rows = (await conn.execute(text(
            """SELECT a.contact_id, a.channel_id, a.created_at, coalesce(a.ended_at, now()) AS ended_at,
                      a.outcome
                 FROM attempts a ORDER BY a.contact_id, a.created_at"""
        ))).all()
        cdr_dupes = (await conn.execute(text(
            "SELECT attempt_id FROM cdr GROUP BY attempt_id HAVING count(*) > 1"
        ))).scalars().all()
    by_contact: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    answers: Counter[int] = Counter()
    for r in rows:
        spans = by_contact[r.contact_id]
        if spans and r.created_at < spans[-1][1]:
            problems.append(f"contact {r.contact_id}: attempt {r.channel_id} overlaps the previous one")
        spans.append((r.created_at, r.ended_at))
        if r.outcome == "answered":
            answers[r.contact_id] += 1
    if max_answers_per_contact is not None:
        problems += [f"contact {c} answered {n} times" for c, n in answers.items() if n > max_answers_per_contact]
    problems += [f"attempt {a} has several CDR rows" for a in cdr_dupes]
    return problems


async def unaccounted(engine: AsyncEngine) -> list[str]:
    """Contacts neither finished nor waiting for a later instant with a reason, and open attempts."""
    async with engine.connect() as conn:
        rows = (await conn.execute(text(
            """SELECT c.id, c.state, c.next_attempt_at, c.attempts,
                      EXISTS (SELECT 1 FROM decision_log d WHERE d.contact_id = c.id) AS logged
                 FROM contacts c
                WHERE c.state = 'dialing' OR (c.state = 'ready' AND (c.next_attempt_at <= now()
                      OR (c.attempts = 0 AND NOT EXISTS (SELECT 1 FROM decision_log d WHERE d.contact_id = c.id))))"""
        ))).all()
        open_attempts = (await conn.execute(text("SELECT id FROM attempts WHERE ended_at IS NULL"))).scalars().all()
    return [f"contact {r.id} {r.state} next {r.next_attempt_at} attempts {r.attempts}" for r in rows] + [
        f"attempt {a} still open" for a in open_attempts
    ]


def local_time_of_day(at: datetime, zone: str) -> timedelta:
    local = at.astimezone(ZoneInfo(zone))
    return timedelta(hours=local.hour, minutes=local.minute, seconds=local.second, microseconds=local.microsecond)
