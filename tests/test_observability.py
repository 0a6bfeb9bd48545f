"""Every service exposes Prometheus metrics and health, and one trace id follows an upload
through gateway -> ingest -> metadata -> thumbnail in the structured JSON logs."""

from __future__ import annotations

import json
import time

import httpx
import pyvips
from darkroom_stack.supervisor import Stack

from .conftest import User, upload
from .test_pipeline import wait_for_thumbnails


def _log_lines(stack: Stack, service: str) -> list[dict[str, object]]:
    lines = []
    path = stack.config.data_dir / "logs" / f"{service}.log"
    for raw in path.read_text(errors="replace").splitlines():
        _, _, body = raw.partition("| ")
        if body.startswith("{"):
            lines.append(json.loads(body))
    return lines


def test_trace_id_follows_an_upload_through_every_service(stack: Stack, admin: User) -> None:
    image = pyvips.Image.xyz(97, 61).extract_band(0).cast("uchar")
    r = upload(admin, __import__("pathlib").Path("trace.jpg"), data=image.jpegsave_buffer())
    assert r.status_code == 201, r.text
    asset_id = r.json()["id"]
    assert wait_for_thumbnails(admin, [asset_id], timeout=30)
    time.sleep(0.5)  # the last log line is written after the thumbnail is stored
    trace_ids = {}
    for service, event in (
        ("ingest", "ingest.created"),
        ("metadata", "metadata.extracted"),
        ("thumbnail", "thumbnail.generated"),
    ):
        hits = [
            line
            for line in _log_lines(stack, service)
            if line.get("event") == event and line.get("asset_id") == asset_id
        ]
        assert hits, f"no {event} log line for the asset in {service}"
        assert hits[0]["level"] == "info" and hits[0]["service"] == service
        trace_ids[service] = hits[0].get("trace_id")
    assert len(set(trace_ids.values())) == 1 and None not in trace_ids.values(), trace_ids


def test_every_service_serves_metrics_and_health(stack: Stack, admin: User) -> None:
    assert set(stack.metrics_ports) == set(stack.config.services)
    for service, port in stack.metrics_ports.items():
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/healthz", timeout=5).text.strip() == "ok", service
        text = httpx.get(f"{base}/metrics", timeout=5).text
        assert f'service_info{{service="{service}"}}' in text, service
    thumbs = httpx.get(f"http://127.0.0.1:{stack.metrics_ports['thumbnail']}/metrics").text
    done = [
        line
        for line in thumbs.splitlines()
        if line.startswith('jobs_done_total{handler="generate_thumbnails"}')
    ]
    assert done and float(done[0].split()[-1]) >= 1
