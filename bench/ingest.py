"""Ingest benchmark: the whole pipeline per photo against the raw renders it must do anyway.

For the sample photos that libvips reads (JPEG/PNG/WebP/TIFF), measured in one run:

- ``raw``: :func:`darkroom_thumbnail.render.render_pyvips_baseline` on the file in this process
  (the two pyvips renders, preview JPEG + thumbnail WebP, nothing else), best of 3;
- ``pipeline``: one photo at a time through the running embedded stack: multipart upload
  (streamed to storage while hashing) -> ingest (sniff, dedupe, place, row) -> NATS ->
  metadata (EXIF, geocode) -> NATS -> thumbnail (decode, two renders, thumbhash, store) -> its
  thumbnail answers over HTTP. Polled every 5 ms, so each figure is at most 5 ms late;
- ``batch``: all photos uploaded at once (as a phone backup does), wall time until the last
  thumbnail, divided by the count: throughput, with the services' own concurrency.

The target of issue 2 is pipeline <= 1.2 x raw. Peak resident memory (VmHWM) of each service
process is read from /proc at the end. Results: bench/results/ingest.json.
"""

from __future__ import annotations

import json
import platform
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from darkroom_stack.servers import free_port
from darkroom_stack.supervisor import Stack, StackConfig
from darkroom_stack.testing import samples_dir
from darkroom_thumbnail.render import RenderSettings, render_pyvips_baseline

RESULTS = Path(__file__).parent / "results"
VIPS_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff"}


def photos() -> list[Path]:
    """The sample photos libvips reads directly, sorted."""
    folder = samples_dir()
    if folder is None:
        raise SystemExit("sample media not found: set DARKROOM_SAMPLES or place ../shared/samples")
    return sorted(p for p in (folder / "photos").rglob("*") if p.suffix.lower() in VIPS_SUFFIXES)


def raw_seconds(path: Path, settings: RenderSettings) -> float | None:
    """Best of 3 of the two raw pyvips renders, seconds; None when libvips cannot read it."""
    best = None
    for _ in range(3):
        started = time.perf_counter()
        try:
            render_pyvips_baseline(path, settings)
        except Exception:  # noqa: BLE001 - a file libvips cannot decode is left out
            return None
        elapsed = time.perf_counter() - started
        best = elapsed if best is None else min(best, elapsed)
    return best


def _client(stack: Stack) -> httpx.Client:
    anon = httpx.Client(base_url=stack.url, timeout=120)
    email, password = f"bench-{uuid.uuid4().hex[:8]}@darkroom.test", "bench-password"
    anon.post(
        "/api/auth/admin-sign-up", json={"email": email, "password": password, "name": "Bench"}
    ).raise_for_status()
    token = anon.post("/api/auth/login", json={"email": email, "password": password}).json()
    key = anon.post(
        "/api/api-keys",
        json={"name": "bench", "permissions": ["all"]},
        headers={"Authorization": f"Bearer {token['accessToken']}"},
    ).json()
    return httpx.Client(base_url=stack.url, timeout=120, headers={"x-api-key": key["secret"]})


def _upload(client: httpx.Client, path: Path, tag: str) -> str:
    data = path.read_bytes() + tag.encode()  # a distinct checksum per run: never a duplicate
    r = client.post(
        "/api/assets",
        files={"assetData": (path.name, data)},
        data={
            "deviceAssetId": f"{tag}-{path.name}",
            "deviceId": "bench",
            "fileCreatedAt": "2020-01-01T00:00:00Z",
            "fileModifiedAt": "2020-01-01T00:00:00Z",
        },
    )
    r.raise_for_status()
    return str(r.json()["id"])


def _wait(client: httpx.Client, asset_id: str, timeout: float = 60) -> bool:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if client.get(f"/api/assets/{asset_id}/thumbnail").status_code == 200:
            return True
        time.sleep(0.005)
    return False


def _peak_rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def main() -> None:
    """Run the benchmark and write bench/results/ingest.json."""
    settings = RenderSettings()
    files = []
    raw: dict[str, float] = {}
    for path in photos():
        seconds = raw_seconds(path, settings)
        if seconds is not None:
            files.append(path)
            raw[str(path)] = seconds
    with tempfile.TemporaryDirectory(prefix="darkroom-bench-") as tmp:
        stack = Stack(
            StackConfig(
                data_dir=Path(tmp),
                gateway_port=free_port(),
                log_to_files=True,
                env={"DARKROOM_LOG_LEVEL": "WARNING"},
            )
        )
        stack.start(timeout=90)
        try:
            client = _client(stack)
            _wait(client, _upload(client, files[0], "warmup"))  # geocoder, caches, JIT paths
            pipeline: dict[str, float] = {}
            for path in files:
                started = time.perf_counter()
                asset_id = _upload(client, path, "seq")
                if _wait(client, asset_id):
                    pipeline[str(path)] = time.perf_counter() - started
            started = time.perf_counter()
            ids = [_upload(client, path, "batch") for path in files]
            batch_ok = all(_wait(client, i, timeout=300) for i in ids)
            batch_s = time.perf_counter() - started
            memory = {name: _peak_rss_mib(proc.pid) for name, proc in stack.processes.items()}
        finally:
            stack.stop()
    done = [p for p in pipeline if p in raw]
    raw_total = sum(raw[p] for p in done)
    pipe_total = sum(pipeline[p] for p in done)
    report = {
        "benchmark": "ingest",
        "machine": {"cpus": platform.os.cpu_count(), "python": platform.python_version()},
        "photos": len(files),
        "processed": len(done),
        "raw_ms_per_photo": round(raw_total / len(done) * 1000, 1),
        "pipeline_ms_per_photo": round(pipe_total / len(done) * 1000, 1),
        "pipeline_over_raw": round(pipe_total / raw_total, 3),
        "pipeline_over_raw_median": round(statistics.median(pipeline[p] / raw[p] for p in done), 3),
        "target_pipeline_over_raw": 1.2,
        "batch_ms_per_photo": round(batch_s / len(files) * 1000, 1),
        "batch_over_raw": round(batch_s / raw_total * len(done) / len(files), 3),
        "batch_all_processed": batch_ok,
        "peak_rss_mib": memory,
        "per_photo": [
            {
                "file": Path(p).name,
                "raw_ms": round(raw[p] * 1000, 1),
                "pipeline_ms": round(pipeline[p] * 1000, 1),
            }
            for p in done
        ],
    }
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "ingest.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    summary = {k: v for k, v in report.items() if k != "per_photo"}
    print(json.dumps(summary, indent=2))  # noqa: T201 - a benchmark's report on the terminal
    print(f"written to {out}")  # noqa: T201


if __name__ == "__main__":
    main()
