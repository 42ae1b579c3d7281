"""Locating the Prometheus binaries the cdr tests run (Debian package `prometheus`)."""

from __future__ import annotations

import os
import shutil

import pytest

INSTALL_HINT = "apt-get install -y prometheus (provides /usr/bin/prometheus and /usr/bin/promtool)"


def require_tool(name: str) -> str:
    """Path of `name`; skip with the reason when absent, fail when DIALER_REQUIRE_ASTERISK=1 (CI)."""
    path = shutil.which(name) or (f"/usr/bin/{name}" if os.access(f"/usr/bin/{name}", os.X_OK) else None)
    if path is not None:
        return path
    reason = f"{name} is not installed: {INSTALL_HINT}"
    if os.environ.get("DIALER_REQUIRE_ASTERISK") == "1":
        pytest.fail(f"{reason} (DIALER_REQUIRE_ASTERISK=1 requires the real peers)", pytrace=False)
    pytest.skip(reason)
