"""Shared fixtures: real PostgreSQL (`database`, `database_url`) and the real Asterisk sandbox (`asterisk`)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.db_fixture import database, database_url, pg_admin_url, private_pg, template_database  # noqa: F401

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"

if importlib.util.find_spec("tests.asterisk_fixture") is not None:
    from tests.asterisk_fixture import asterisk  # noqa: F401

# Under pytest-xdist (`make test` runs two processes) every test on the one shared Asterisk sandbox
# runs in a single process, one at a time: fault tests restart Asterisk, and the real-time tests
# (pacing, AMD, windows) must not share it. The rest of the suite runs beside them.
ASTERISK_GROUP = "asterisk-sandbox"


def pytest_itemcollected(item: pytest.Item) -> None:
    # At collection, before xdist's `pytest_collection_modifyitems` reads the groups.
    if "asterisk" in getattr(item, "fixturenames", ()) or item.get_closest_marker("asterisk"):
        item.add_marker(pytest.mark.asterisk)
        item.add_marker(pytest.mark.xdist_group(ASTERISK_GROUP))


UNGROUPED = pytest.StashKey[bool]()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # xdist groups by a suffix it adds to the node ids (pytest 9.2 drops it: xdist #1386).
    if config.getoption("loadgroup", False):
        for item in items:
            if item.get_closest_marker("xdist_group") and not item.nodeid.endswith(f"@{ASTERISK_GROUP}"):
                item.stash[UNGROUPED] = True


@pytest.fixture(autouse=True)
def _sandbox_not_shared(request: pytest.FixtureRequest) -> None:
    if request.node.stash.get(UNGROUPED, False):
        pytest.fail("--dist loadgroup did not group this Asterisk test: another test process could use the "
                    "sandbox at the same time (this pytest and pytest-xdist do not work together)", pytrace=False)


@pytest.fixture(scope="session")
def def_registry_path() -> Path:
    """The real DEF-9xx registry from shared/ (never committed)."""
    path = SHARED_DATA / "DEF-9xx.csv"
    if not path.exists():
        pytest.fail(f"the numbering registry {path} is missing: tests read it from shared/data")
    return path
