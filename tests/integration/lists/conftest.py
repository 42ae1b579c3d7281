"""Fixtures of the call-list tests: a company and campaign in a fresh database, the real registry."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from compliance import Registry
from dialer.lists import ImportOptions
from tests.integration.lists.helpers import Tenant, make_tenant


@pytest.fixture(scope="session")
def registry(def_registry_path: Path) -> Registry:
    return Registry.from_files([def_registry_path])


@pytest.fixture
async def tenant(database: AsyncEngine) -> Tenant:
    return await make_tenant(database)


@pytest.fixture
def options(tmp_path: Path, registry: Registry) -> ImportOptions:
    return ImportOptions(reports_dir=tmp_path / "reports", registry=registry)
