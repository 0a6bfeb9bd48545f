"""Metrics in a registry of their own, served on /metrics with /healthz."""

from __future__ import annotations

import asyncio

import httpx
import prometheus_client
import pytest
from darkroom_observability import Metrics, serve_metrics
from prometheus_client.parser import text_string_to_metric_families


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_metrics_endpoint_serves_the_counters() -> None:
    metrics = Metrics("thumbnail")
    with metrics.job("generate_thumbnails"):
        await asyncio.sleep(0)
    with metrics.job("generate_thumbnails"):
        pass
    with pytest.raises(OSError), metrics.job("generate_thumbnails"):
        raise OSError("storage down")
    metrics.consumer_pending.labels("thumbnail").set(42)

    server = await serve_metrics(metrics, "127.0.0.1", 0)
    async with server, httpx.AsyncClient(base_url=server.url) as client:
        assert server.port > 0
        response = await client.get("/metrics")
        health = await client.get("/healthz")
        missing = await client.get("/nope")
        posted = await client.post("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = _samples(response.text)
    handler = (("handler", "generate_thumbnails"),)
    assert samples[("jobs_done_total", handler)] == 2
    assert samples[("jobs_failed_total", handler)] == 1
    assert samples[("handler_seconds_count", handler)] == 3
    assert samples[("handler_seconds_bucket", (*handler, ("le", "+Inf")))] == 3
    assert samples[("consumer_pending", (("consumer", "thumbnail"),))] == 42
    assert samples[("service_info", (("service", "thumbnail"),))] == 1
    assert (health.status_code, health.text) == (200, "ok")
    assert missing.status_code == 404
    assert posted.status_code == 405


async def test_server_stops() -> None:
    server = await serve_metrics(Metrics("search"), "127.0.0.1", 0)
    await server.stop()
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as client:
            await client.get(f"{server.url}/healthz")


async def test_openmetrics_when_asked() -> None:
    metrics = Metrics("ingest")
    metrics.jobs_done.labels("create_asset").inc()
    server = await serve_metrics(metrics, "127.0.0.1", 0)
    async with server, httpx.AsyncClient(base_url=server.url) as client:
        response = await client.get(
            "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
        )
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.rstrip().endswith("# EOF")
    assert 'jobs_done_total{handler="create_asset"} 1.0' in response.text


def test_each_service_has_its_own_registry() -> None:
    first, second = Metrics("face"), Metrics("embedding")
    first.jobs_done.labels("detect_faces").inc(3)
    assert first.registry.get_sample_value("jobs_done_total", {"handler": "detect_faces"}) == 3
    assert second.registry.get_sample_value("jobs_done_total", {"handler": "detect_faces"}) is None
    default = prometheus_client.REGISTRY
    assert default.get_sample_value("jobs_done_total", {"handler": "detect_faces"}) is None


async def test_scrape_hooks_run_before_each_scrape_and_never_break_it() -> None:
    metrics = Metrics("face")
    metrics.refresh_timeout_s = 0.5
    scrapes = []

    async def count() -> None:
        scrapes.append(1)
        metrics.consumer_pending.labels("face").set(len(scrapes) * 10)

    async def broken() -> None:
        raise ConnectionError("nats down")

    metrics.on_scrape(count)
    metrics.on_scrape(broken)
    server = await serve_metrics(metrics, "127.0.0.1", 0)
    async with server, httpx.AsyncClient(base_url=server.url) as client:
        first = _samples((await client.get("/metrics")).text)
        second = _samples((await client.get("/metrics")).text)
        await client.get("/healthz")  # no refresh for a health check

        async def hangs() -> None:
            await asyncio.sleep(60)

        metrics.on_scrape(hangs)  # past refresh_timeout_s: answered with the values set so far
        third = await client.get("/metrics")

    assert first[("consumer_pending", (("consumer", "face"),))] == 10
    assert second[("consumer_pending", (("consumer", "face"),))] == 20
    assert third.status_code == 200
    assert len(scrapes) == 3
