"""asterisk/entrypoint.sh: the production image's AMI password comes from AMI_SECRET, or Asterisk does not start."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ENTRYPOINT = REPO / "asterisk" / "entrypoint.sh"


def run(tmp_path: Path, secret: str | None) -> tuple[subprocess.CompletedProcess[str], str]:
    conf = tmp_path / "manager.conf"
    shutil.copy(REPO / "asterisk" / "conf" / "manager.conf", conf)
    env = {"PATH": "/usr/bin:/bin", "MANAGER_CONF": str(conf)}
    if secret is not None:
        env["AMI_SECRET"] = secret
    result = subprocess.run(["sh", str(ENTRYPOINT), "echo", "asterisk started"], env=env, capture_output=True,
                            text=True, timeout=30)
    return result, conf.read_text()


def test_the_secret_replaces_the_sandbox_s_and_asterisk_starts(tmp_path: Path) -> None:
    result, conf = run(tmp_path, "a1b2c3d4e5f6-x.y~z")
    assert (result.returncode, result.stdout) == (0, "asterisk started\n"), result.stderr
    secrets = [line for line in conf.splitlines() if line.startswith("secret")]
    assert secrets == ["secret = a1b2c3d4e5f6-x.y~z"]


@pytest.mark.parametrize(("secret", "says"), [
    (None, "set AMI_SECRET"), ("", "set AMI_SECRET"), ("short1", "at least 12 characters"),
    ("with space 12345", "letters, digits"), ("a/b@c:d#e%f;12", "letters, digits"), ("x$(reboot)1234", "letters"),
])
def test_no_usable_secret_no_start(tmp_path: Path, secret: str | None, says: str) -> None:
    result, conf = run(tmp_path, secret)
    assert result.returncode == 1 and result.stdout == ""
    assert says in result.stderr
    assert "secret = dialer" in conf  # untouched
