"""Rows for engine tests, written with plain SQL so the tests depend only on the schema."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


@dataclass(frozen=True, slots=True)
class SeedContact:
    phone: str
    subscriber_key: str
    timezone: str = "Europe/Moscow"
    state: str = "ready"
    next_attempt_offset_s: float = -1.0  # relative to now(): negative means due already


async def seed_company(conn: AsyncConnection, name: str = "acme", timezone: str = "Europe/Moscow") -> int:
    return (
        await conn.execute(
            text("INSERT INTO companies (name, timezone) VALUES (:n, :tz) RETURNING id"), {"n": name, "tz": timezone}
        )
    ).scalar_one()


async def seed_trunk(
    conn: AsyncConnection, name: str = "sim", *, ami_url: str = "ami://dialer:dialer@127.0.0.1:5038",
    dial: str = "Local/{number}@pstn-sim", cps: float = 20, max_channels: int = 30,
) -> int:
    return (
        await conn.execute(
            text(
                """INSERT INTO trunks (name, ami_url, dial_template, cps_limit, max_channels)
                   VALUES (:n, :a, :d, :c, :m) RETURNING id"""
            ),
            {"n": name, "a": ami_url, "d": dial, "c": cps, "m": max_channels},
        )
    ).scalar_one()


async def seed_campaign(
    conn: AsyncConnection, company_id: int, name: str = "camp", *, trunk_ids: Sequence[int] = (),
    status: str = "running", rules: str = "fz230-twin", rules_toml: str | None = None,
    cps: float | None = None, max_channels: int | None = None, max_attempts: int = 3,
    retry_delays: str = "{}", settings: str = "{}", dial_timeout_s: int = 30,
) -> int:
    campaign_id: int = (
        await conn.execute(
            text(
                """INSERT INTO campaigns (company_id, name, status, rules, rules_toml, cps_limit, max_channels,
                                          max_attempts, retry_delays, settings, dial_timeout_s)
                   VALUES (:co, :n, :s, :r, :rt, :cps, :mc, :ma, CAST(:rd AS jsonb), CAST(:st AS jsonb), :dt)
                   RETURNING id"""
            ),
            {"co": company_id, "n": name, "s": status, "r": rules, "rt": rules_toml, "cps": cps,
             "mc": max_channels, "ma": max_attempts, "rd": retry_delays, "st": settings, "dt": dial_timeout_s},
        )
    ).scalar_one()
    for priority, trunk_id in enumerate(trunk_ids):
        await conn.execute(
            text("INSERT INTO campaign_trunks (campaign_id, trunk_id, priority) VALUES (:c, :t, :p)"),
            {"c": campaign_id, "t": trunk_id, "p": priority},
        )
    return campaign_id


async def seed_contacts(conn: AsyncConnection, campaign_id: int, contacts: Sequence[SeedContact]) -> list[int]:
    ids: list[int] = []
    for chunk_start in range(0, len(contacts), 1000):
        chunk = contacts[chunk_start : chunk_start + 1000]
        rows = (
            await conn.execute(
                text(
                    """INSERT INTO contacts (campaign_id, phone, subscriber_key, timezone, tz_source, state,
                                             next_attempt_at)
                       SELECT :campaign, p, k, tz, 'explicit', st, now() + make_interval(secs => off)
                         FROM unnest(CAST(:phones AS text[]), CAST(:keys AS text[]), CAST(:tzs AS text[]),
                                     CAST(:states AS text[]), CAST(:offs AS float8[])) AS u(p, k, tz, st, off)
                       RETURNING id"""
                ),
                {
                    "campaign": campaign_id,
                    "phones": [c.phone for c in chunk],
                    "keys": [c.subscriber_key for c in chunk],
                    "tzs": [c.timezone for c in chunk],
                    "states": [c.state for c in chunk],
                    "offs": [float(c.next_attempt_offset_s) for c in chunk],
                },
            )
        ).scalars().all()
        ids.extend(rows)
    return ids


async def seed_sandbox_campaign(
    database: AsyncEngine, ami_url: str, contacts: Sequence[SeedContact], *, cps: float, max_channels: int,
    rules_toml: str, **campaign: Any,
) -> tuple[int, list[int]]:
    """A company, a trunk on the sandbox's AMI, a running campaign `camp` with custom rules, its contacts:
    (campaign id, contact ids)."""
    async with database.begin() as conn:
        company = await seed_company(conn)
        trunk = await seed_trunk(conn, ami_url=ami_url, cps=cps, max_channels=max_channels)
        campaign_id = await seed_campaign(conn, company, trunk_ids=[trunk], rules="file:test.toml",
                                          rules_toml=rules_toml, **campaign)
        return campaign_id, await seed_contacts(conn, campaign_id, contacts)


def rules_toml(*, window: str = "00:00-24:00", day: int = 2, week: int = 4, month: int = 16,
               end_margin_s: int = 0) -> str:
    """A custom rule set as stored in `campaigns.rules_toml` (compliance TOML format)."""
    return (
        f'name = "test"\nend_margin_seconds = {end_margin_s}\n'
        f'[windows]\neveryday = "{window}"\n'
        f"[caps]\nday = {day}\nweek = {week}\nmonth = {month}\n"
    )


FAST_RETRIES = '{"busy": 3, "no_answer": 3, "congestion": 3, "rejected": 3, "failed": 3, "lost": 3, "machine": 3}'


def fast_settings(*, sim_hold: int = 2, dialer_hold: int = 1, machine: str = "retry") -> str:
    """Campaign settings for sandbox runs: short talk on both legs of the simulated network."""
    return (
        f'{{"machine": "{machine}", "variables": {{"SIM_HOLD": "{sim_hold}", "DIALER_HOLD": "{dialer_hold}"}}}}'
    )
