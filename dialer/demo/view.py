"""What the demo shows: a live table of the campaign, and the summary at the end."""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.table import Table
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from ami import CallState
from dialer.worker import Worker

__all__ = ["Snapshot", "snapshot", "table"]


@dataclass(frozen=True, slots=True)
class Snapshot:
    queued: int = 0
    dialing: int = 0
    ringing: int = 0
    talking: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    held_window: int = 0
    held_caps: int = 0
    done: int = 0
    failed: int = 0
    total: int = 0
    attempts: int = 0
    human: int = 0
    machine: int = 0

    @property
    def in_flight(self) -> int:
        return self.dialing + self.ringing + self.talking


async def snapshot(engine: AsyncEngine, campaign_id: int, worker: Worker | None) -> Snapshot:
    async with engine.connect() as conn:
        c = (await conn.execute(text(
            """SELECT count(*) AS total,
                      count(*) FILTER (WHERE state = 'ready' AND next_attempt_at <= now()) AS due,
                      count(*) FILTER (WHERE state = 'done') AS done,
                      count(*) FILTER (WHERE state IN ('failed', 'excluded')) AS failed
                 FROM contacts WHERE campaign_id = :c"""), {"c": campaign_id})).one()
        outcomes = {r.k: r.n for r in (await conn.execute(text(
            """SELECT CASE WHEN outcome = 'answered' AND amd_status = 'MACHINE' THEN 'machine' ELSE outcome END
                      AS k, count(*) AS n
                 FROM attempts WHERE campaign_id = :c AND ended_at IS NOT NULL GROUP BY 1"""),
            {"c": campaign_id})).all()}
        attempts = (await conn.execute(text("SELECT count(*) FROM attempts WHERE campaign_id = :c"),
                                       {"c": campaign_id})).scalar_one()
        held = {r.code: r.n for r in (await conn.execute(text(
            """SELECT CASE WHEN d.code = 'outside-window' THEN 'window'
                           WHEN d.code LIKE 'cap-%' OR d.code LIKE 'attempt-cap-%' THEN 'caps' ELSE 'other' END
                      AS code, count(*) AS n
                 FROM contacts c
                 JOIN LATERAL (SELECT reasons -> 0 ->> 'code' AS code FROM decision_log
                                WHERE contact_id = c.id ORDER BY at DESC LIMIT 1) d ON true
                WHERE c.campaign_id = :c AND c.state = 'ready' AND c.next_attempt_at > now()
                GROUP BY 1"""), {"c": campaign_id})).all()}
        human = (await conn.execute(text(
            "SELECT count(*) FROM compliance_ledger WHERE campaign_id = :c"), {"c": campaign_id})).scalar_one()
    dialing = ringing = talking = 0
    queued = c.due
    if worker is not None:
        for handle in list(worker.ctx.live_handles.values()):
            if handle.state >= CallState.ANSWERED:
                talking += 1
            elif handle.state is CallState.RINGING:
                ringing += 1
            else:
                dialing += 1
        queued += sum(len(r.queue) for r in worker.runners.values())
    return Snapshot(
        queued=queued, dialing=dialing, ringing=ringing, talking=talking, outcomes=outcomes,
        held_window=held.get("window", 0), held_caps=held.get("caps", 0), done=c.done, failed=c.failed,
        total=c.total, attempts=attempts, human=human, machine=outcomes.get("machine", 0),
    )


def table(s: Snapshot, title: str) -> Table:
    """Four small tables side by side (fits 80 columns): calls now, calls ended, held back, contacts."""
    sections = {
        "now": [("queued", s.queued), ("dialing", s.dialing), ("ringing", s.ringing), ("talking", s.talking)],
        "ended": [("answered", s.outcomes.get("answered", 0)), ("machine", s.machine),
                  ("busy", s.outcomes.get("busy", 0)), ("no answer", s.outcomes.get("no_answer", 0)),
                  ("congestion", s.outcomes.get("congestion", 0)), ("invalid", s.outcomes.get("invalid_number", 0))],
        "held back": [("by window", s.held_window), ("by caps", s.held_caps)],
        "contacts": [("done", s.done), ("failed", s.failed), ("total", s.total), ("attempts", s.attempts)],
    }
    grid = Table.grid(padding=(0, 2))
    parts = []
    for name, rows in sections.items():
        part = Table(title=name, show_header=False, box=None, padding=(0, 1))
        part.add_column(style="dim")
        part.add_column(justify="right")
        for label, value in rows:
            part.add_row(label, str(value))
        parts.append(part)
    grid.add_row(*parts)
    outer = Table(title=title, title_justify="left", show_header=False)
    outer.add_column()
    outer.add_row(grid)
    return outer
