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


def test_dialer_api_will_not_serve_beyond_loopback_without_a_token(database_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DIALER_API_TOKEN"}
    for host in ("0.0.0.0", "10.1.2.3", "api.example.com", "::"):
        result = subprocess.run([str(DIALER), "api", "--host", host, "--port", str(free_port())],
                                env={**env, "DATABASE_URL": database_url}, capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 2, result.stdout + result.stderr
        assert f"serve {host} with no access token" in " ".join(result.stderr.split())
        assert "DIALER_API_TOKEN" in result.stderr


def test_dialer_api_with_a_token_asks_for_it(database_url: str) -> None:
    port, token = free_port(), "a-token-of-32-characters-0123456"
    env = {**os.environ, "DATABASE_URL": database_url, "DIALER_API_TOKEN": token}
    server = subprocess.Popen([str(DIALER), "api", "--host", "127.0.0.1", "--port", str(port)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        refused = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                refused = httpx.get(f"http://127.0.0.1:{port}/trunks")
                break
            except httpx.TransportError:
                time.sleep(0.2)  # the server is still starting: nothing to await across processes
        assert refused is not None, f"server did not come up: {server.poll()}"
        assert refused.status_code == 401, refused.text
        allowed = httpx.get(f"http://127.0.0.1:{port}/trunks", headers={"Authorization": f"Bearer {token}"})
        assert allowed.status_code == 200, allowed.text
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=60)
    assert server.returncode == 0, output
    assert token not in output
