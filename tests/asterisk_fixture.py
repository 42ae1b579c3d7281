"""The `asterisk` fixture: the real Asterisk 22 sandbox (`asterisk/sandbox`), up once per session.

The sandbox is shared (other sessions and developers use it at once), so the fixture never stops
it: a running sandbox is reused, a started one is left running for fast reruns
(`asterisk/sandbox down` stops it). When the machine cannot run it (not root, no network to build
the chroot) the tests skip with the reason, unless DIALER_REQUIRE_ASTERISK=1, where they fail.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["SANDBOX", "AsteriskSandbox", "asterisk"]

SANDBOX = Path(__file__).resolve().parent.parent / "asterisk" / "sandbox"
# asterisk/sandbox exit code: the sandbox cannot work on this machine (documented in the script).
EXIT_UNAVAILABLE = 3
# Building the chroot from scratch takes about a minute; slow mirrors take longer.
UP_TIMEOUT_S = 1200


@dataclass(frozen=True)
class AsteriskSandbox:
    """Where the sandbox's AMI answers, and a way to run Asterisk CLI commands in it."""

    host: str
    port: int
    username: str
    secret: str
    version: str

    @property
    def ami_url(self) -> str:
        """The trunk form `ami://user:secret@host:port` (dialer.trunks.parse_ami_url)."""
        return f"ami://{self.username}:{self.secret}@{self.host}:{self.port}"

    def cli(self, command: str, timeout: float = 60) -> str:
        """Output of an Asterisk CLI command (`asterisk -rx`, needs root like the sandbox)."""
        result = _sandbox("cli", command, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"asterisk/sandbox cli {command!r} failed ({result.returncode}): "
                               f"{result.stderr.strip() or result.stdout.strip()}")
        return result.stdout

    def restart(self, *, kill: bool = False) -> None:
        """Restart Asterisk, for fault tests only: every call on the shared sandbox ends.

        kill=True ends it with SIGKILL (a crash: no Hangup events) instead of `core stop now`.
        Returns once the new Asterisk is FullyBooted on AMI (same address, same version).
        """
        result = _sandbox("restart", *(["--kill"] if kill else []), timeout=UP_TIMEOUT_S)
        if result.returncode != 0:
            raise RuntimeError(f"asterisk/sandbox restart failed ({result.returncode}):\n"
                               f"{result.stdout}{result.stderr}")


def _sandbox(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SANDBOX), *args], capture_output=True, text=True, timeout=timeout,
                          check=False)


def _unavailable(reason: str) -> None:
    if os.environ.get("DIALER_REQUIRE_ASTERISK") == "1":
        pytest.fail(f"{reason} (DIALER_REQUIRE_ASTERISK=1 requires the sandbox)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def asterisk() -> AsteriskSandbox:
    """The running sandbox (brought up when needed, reused when already running)."""
    up = _sandbox("up", timeout=UP_TIMEOUT_S)
    if up.returncode == EXIT_UNAVAILABLE:
        reason = (up.stderr.strip().splitlines() or ["asterisk/sandbox up gave no reason"])[-1]
        _unavailable(f"Asterisk sandbox unavailable: {reason}")
    if up.returncode != 0:
        pytest.fail(f"asterisk/sandbox up failed ({up.returncode}):\n{up.stdout}{up.stderr}", pytrace=False)
    status = _sandbox("status", "--json", timeout=60)
    info = json.loads(status.stdout)
    if not info["running"]:
        pytest.fail(f"asterisk/sandbox up succeeded but status says stopped:\n{status.stdout}",
                    pytrace=False)
    return AsteriskSandbox(host=info["host"], port=info["port"], username=info["username"],
                           secret=info["secret"], version=info["version"])
