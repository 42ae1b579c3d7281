"""The embedded PostgreSQL keeps its port across a restart, so running workers find it again."""

from __future__ import annotations

import psycopg
import pytest

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
