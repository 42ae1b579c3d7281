"""A real Prometheus (Debian's package) for tests: temp storage, loopback port, our committed config and rules.

The committed config/prometheus/prometheus.yml is loaded and only adapted for a test: 1 s scrape and
evaluation intervals, absolute rule file paths, and a file_sd targets file listing the test's worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.ports import free_port
from tests.unit.cdr.tools import require_tool

REPO = Path(__file__).resolve().parents[3]
CONFIG_DIR = REPO / "config" / "prometheus"


def test_config(tmp: Path, targets: Sequence[str], *, interval: str = "1s") -> Path:
    config: dict[str, Any] = yaml.safe_load((CONFIG_DIR / "prometheus.yml").read_text())
    config["global"]["scrape_interval"] = interval
    config["global"]["evaluation_interval"] = interval
    config["rule_files"] = [str((CONFIG_DIR / f).resolve()) for f in config["rule_files"]]
    (tmp / "targets").mkdir(parents=True, exist_ok=True)
    (tmp / "targets" / "workers.yml").write_text(yaml.safe_dump([{"targets": list(targets)}]))
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "dialer")
    job["file_sd_configs"] = [{"files": [str(tmp / "targets" / "*.yml")], "refresh_interval": "1s"}]
    path = tmp / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


@dataclass
class Prometheus:
    url: str
    http: httpx.AsyncClient
    log_path: Path

    async def query(self, expr: str, at: datetime | None = None) -> list[dict[str, Any]]:
        """Result of an instant query (vector or matrix); AssertionError with Prometheus's error."""
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{at.timestamp():.3f}"
        response = await self.http.get("/api/v1/query", params=params)
        body = response.json()
        assert body.get("status") == "success", f"{expr}: {body}"
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    async def scalar(self, expr: str, at: datetime | None = None) -> float:
        result = await self.query(expr, at)
        assert len(result) == 1, f"{expr} at {at}: expected one series, got {result}"
        return float(result[0]["value"][1])

    async def rules(self) -> list[dict[str, Any]]:
        body = (await self.http.get("/api/v1/rules")).json()
        return [rule for group in body["data"]["groups"] for rule in group["rules"]]

    async def targets_up(self) -> bool:
        body = (await self.http.get("/api/v1/targets")).json()
        active = body["data"]["activeTargets"]
        return bool(active) and all(t["health"] == "up" for t in active)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@contextlib.asynccontextmanager
async def running_prometheus(tmp: Path, targets: Sequence[str]) -> AsyncIterator[Prometheus]:
    binary = require_tool("prometheus")
    port = free_port()
    config = test_config(tmp, targets)
    log_path = tmp / "prometheus.log"
    with log_path.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            binary, f"--config.file={config}", f"--storage.tsdb.path={tmp / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=1d", "--log.level=warn",
            stdout=log, stderr=subprocess.STDOUT, cwd=tmp,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            prometheus = Prometheus(url, http, log_path)
            async with asyncio.timeout(60):
                while True:  # Prometheus has no readiness event to await but its /-/ready endpoint
                    if proc.returncode is not None:
                        raise AssertionError(f"prometheus exited ({proc.returncode}):\n{prometheus.log()}")
                    with contextlib.suppress(httpx.TransportError):
                        if (await http.get("/-/ready")).status_code == 200:
                            break
                    await asyncio.sleep(0.2)
            yield prometheus
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                async with asyncio.timeout(30):
                    await proc.wait()
            except TimeoutError:
                proc.kill()
                await proc.wait()


def utc_now() -> datetime:
    return datetime.now(UTC)
