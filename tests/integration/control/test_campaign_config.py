"""What workers read: `load_campaign_config` and friends against real PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.campaigns import (
    get_campaign,
    load_campaign_config,
    load_campaign_configs,
    update_campaign,
)
from dialer.db.models import CampaignStatus
from dialer.db.session import session_scope
from dialer.errors import ConflictError, InvalidValueError, NotFoundError
from dialer.retries import MachineAction, RetryKey
from tests.integration.control.helpers import make_campaign, make_trunk


async def test_config_has_trunks_in_priority_order_and_every_setting(database: AsyncEngine) -> None:
    await make_trunk(database, "b-trunk", cps=5, max_channels=10)
    await make_trunk(database, "a-trunk", cps="2.5", max_channels=3, caller_id="+74950000000")
    created = await make_campaign(
        database,
        "debts",
        trunks=("b-trunk", "a-trunk"),
        company="acme",
        rules="fz230-law",
        cps=4,
        max_channels=7,
        max_attempts=5,
        retry="busy=15m,no_answer=1h",
        machine="hangup",
        subscriber_column="debtor_id",
        caller_id="+74951112233",
        dial_timeout=25,
        schedule="mon-fri 09:00-18:00",
    )
    async with session_scope(database) as session:
        config = await load_campaign_config(session, created.id)
    assert config == created
    assert [t.name for t in config.trunks] == ["b-trunk", "a-trunk"]
    assert config.trunks[1].cps_limit == Decimal("2.5")
    assert config.trunks[0].dial_string("+79130000001") == "Local/+79130000001@pstn-sim"
    assert config.trunks[0].ami.server == "127.0.0.1:5038"
    assert config.status is CampaignStatus.DRAFT and not config.dialing
    assert config.company.name == "acme" and config.company.timezone == "Europe/Moscow"
    assert config.rules.name == "fz230-law" and config.rules.toml is None
    assert config.cps_limit == Decimal(4) and config.max_channels == 7
    assert config.max_attempts == 5 and config.machine is MachineAction.HANGUP
    assert config.retry.delay(RetryKey.BUSY) == timedelta(minutes=15)
    assert config.retry.delay(RetryKey.NO_ANSWER) == timedelta(hours=1)
    assert config.retry.delay(RetryKey.CONGESTION) == timedelta(minutes=2)  # default kept
    assert config.subscriber_column == "debtor_id"
    assert config.caller_id_for(config.trunks[1]) == "+74951112233"
    assert config.dial_timeout_s == 25
    assert config.schedule is not None and config.schedule.spec() == "mon-fri 09:00-18:00"


async def test_defaults_inherit_company_rules_and_trunk_limits(database: AsyncEngine) -> None:
    await make_trunk(database, caller_id="+70000000000")
    config = await make_campaign(database)
    assert config.company.name == "default"
    assert config.rules.name == "fz230-twin"
    assert config.cps_limit is None and config.max_channels is None
    assert config.max_attempts == 3 and config.machine is MachineAction.RETRY
    assert config.caller_id_for(config.trunks[0]) == "+70000000000"
    assert config.answered_context == "dialer-answered" and config.subscriber_column == "additional"


async def test_select_by_status_and_name(database: AsyncEngine) -> None:
    await make_trunk(database)
    await make_campaign(database, "one")
    await make_campaign(database, "two")
    async with session_scope(database) as session:
        await session.execute(text("UPDATE campaigns SET status = 'running' WHERE name = 'two'"))
    async with session_scope(database) as session:
        running = await load_campaign_configs(session, statuses=[CampaignStatus.RUNNING])
        named = await load_campaign_configs(session, names=["one"])
        everything = await load_campaign_configs(session)
    assert [c.name for c in running] == ["two"]
    assert [c.name for c in named] == ["one"]
    assert [c.name for c in everything] == ["one", "two"]


async def test_unknown_trunk_and_duplicate_name_store_nothing(database: AsyncEngine) -> None:
    await make_trunk(database)
    with pytest.raises(InvalidValueError, match=r"unknown trunk.*'nope'") as info:
        await make_campaign(database, "x", trunks=("sim", "nope"))
    assert info.value.field == "trunk"
    await make_campaign(database, "x")
    with pytest.raises(ConflictError, match="already exists"):
        await make_campaign(database, "x", company="other")
    async with session_scope(database) as session:
        companies = (await session.execute(text("SELECT name FROM companies ORDER BY name"))).scalars().all()
    assert companies == ["default"]  # the failed create did not leave its company behind


async def test_update_changes_settings_and_trunks(database: AsyncEngine) -> None:
    await make_trunk(database, "t1")
    await make_trunk(database, "t2")
    config = await make_campaign(database, "c", trunks=("t1",), cps=3)
    async with session_scope(database) as session:
        updated = await update_campaign(
            session, "c", {"trunks": ("t2", "t1"), "cps": None, "retry": "busy=1m", "schedule": "daily 10:00-20:00"}
        )
    assert [t.name for t in updated.trunks] == ["t2", "t1"]
    assert updated.cps_limit is None
    assert updated.retry.delay(RetryKey.BUSY) == timedelta(minutes=1)
    assert updated.schedule is not None and updated.schedule.spec() == "daily 10:00-20:00"
    assert updated.id == config.id
    with pytest.raises(InvalidValueError) as info:
        async with session_scope(database) as session:
            await update_campaign(session, "c", {"dial_timeout": 1})
    assert info.value.field == "dial_timeout"
    with pytest.raises(NotFoundError):
        async with session_scope(database) as session:
            await get_campaign(session, "missing")
