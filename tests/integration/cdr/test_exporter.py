"""The /metrics and /healthz endpoint over real HTTP on loopback."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from cdr import CdrError, DialerMetrics
from cdr.exporter import MetricsServer


async def test_metrics_and_health(unused_tcp_port: int) -> None:
    metrics = DialerMetrics(CollectorRegistry())
    metrics.call_started(campaign="spring", trunk="sbx")
    metrics.call_ended(campaign="spring", trunk="sbx", outcome="answered", answered=True, billsec=42,
                       ring_seconds=3.5)
    async with MetricsServer(metrics.registry, host="127.0.0.1", port=unused_tcp_port) as server, \
            httpx.AsyncClient(base_url=server.url) as http:
        assert server.port == unused_tcp_port
        response = await http.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        families = {f.name: f for f in text_string_to_metric_families(response.text)}
        originations = families["dialer_originations"].samples
        assert [(s.labels, s.value) for s in originations if s.name == "dialer_originations_total"] == [
            ({"campaign": "spring", "trunk": "sbx"}, 1.0)
        ]
        billsec = {s.name: s.value for s in families["dialer_call_billsec_seconds"].samples}
        assert billsec["dialer_call_billsec_seconds_sum"] == 42
        assert (await http.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
                ).headers["content-type"].startswith("application/openmetrics-text")
        assert (await http.head("/metrics")).content == b""
        health = await http.get("/healthz")
        assert (health.status_code, health.text) == (200, "ok\n")
        assert (await http.get("/nope")).status_code == 404
        assert (await http.post("/metrics")).status_code == 405
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as http:
            await http.get(f"http://127.0.0.1:{unused_tcp_port}/metrics")


async def test_health_check_reports_the_reason() -> None:
    problems: list[str | None] = [None, "AMI 127.0.0.1:5038 disconnected"]

    async def health() -> str | None:
        return problems[0]

    async with MetricsServer(CollectorRegistry(), host="127.0.0.1", port=0, health=health) as server, \
            httpx.AsyncClient(base_url=server.url) as http:
        assert (await http.get("/healthz")).status_code == 200
        problems.pop(0)
        response = await http.get("/healthz")
        assert response.status_code == 503
        assert "AMI 127.0.0.1:5038 disconnected" in response.text


async def test_a_silent_client_does_not_block_the_others() -> None:
    async with MetricsServer(CollectorRegistry(), host="127.0.0.1", port=0) as server:
        _, stuck = await asyncio.open_connection("127.0.0.1", server.port)
        stuck.write(b"GET /metr")  # and never finishes
        async with httpx.AsyncClient(base_url=server.url, timeout=5) as http:
            assert (await http.get("/healthz")).status_code == 200
        stuck.close()


async def test_port_in_use_is_an_error_naming_it() -> None:
    async with MetricsServer(CollectorRegistry(), host="127.0.0.1", port=0) as first:
        with pytest.raises(CdrError, match=f"--metrics-port {first.port}: cannot listen"):
            await MetricsServer(CollectorRegistry(), host="127.0.0.1", port=first.port).start()


async def test_serve_is_owned_by_a_task_group() -> None:
    server = MetricsServer(CollectorRegistry(), host="127.0.0.1", port=0)
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(server.serve())
        await server.wait_listening()
        async with httpx.AsyncClient(base_url=server.url) as http:
            assert (await http.get("/healthz")).status_code == 200
        task.cancel()
    with pytest.raises(CdrError):
        _ = server.port
