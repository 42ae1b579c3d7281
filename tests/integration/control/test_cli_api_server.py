"""`dialer api` serves the real app with uvicorn on uvloop: start the console script, call it, stop it."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import httpx

from tests.integration.control.cli import DIALER
from tests.ports import free_port


def test_dialer_api_serves_and_stops_cleanly(database_url: str) -> None:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url}
    server = subprocess.Popen(
        [str(DIALER), "api", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        response = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                response = httpx.post(f"http://127.0.0.1:{port}/trunks", json={
                    "name": "sim", "ami": "ami://dialer:dialer@127.0.0.1:5038", "dial": "Local/{number}@pstn-sim"})
                break
            except httpx.TransportError:
                time.sleep(0.2)  # the server is still starting: nothing to await across processes
        assert response is not None, f"server did not come up: {server.poll()}"
        assert response.status_code == 201, response.text
        listed = httpx.get(f"http://127.0.0.1:{port}/trunks").json()
        assert [t["name"] for t in listed] == ["sim"]
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=60)
    assert server.returncode == 0, output
    assert "uvloop" not in output or "error" not in output.lower()
