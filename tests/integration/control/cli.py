"""Run the real `dialer` console script against a test database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

DIALER = Path(sys.executable).parent / "dialer"


def dialer(database_url: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "COLUMNS": "250", "NO_COLOR": "1", "TERM": "dumb"}
    return subprocess.run(
        [str(DIALER), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
