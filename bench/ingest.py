"""Ingest benchmark: the whole pipeline per photo against the raw renders it must do anyway.

For the sample photos that libvips reads (JPEG/PNG/WebP/TIFF), measured in one run, photo by
photo and interleaved (so a change of machine load hits both figures alike):

- ``raw``: :func:`darkroom_thumbnail.render.render_pyvips_baseline` on the file in this process
  (the two pyvips renders, preview JPEG + thumbnail WebP, nothing else), median of 3 runs,
  measured just before the photo's pipeline run;
- ``pipeline``: one photo at a time through the running embedded stack, wall time from the
  start of the HTTP upload until ``darkroom.asset.thumbnail.generated`` for that asset reaches a
  plain NATS subscriber of this process: multipart upload (streamed to storage while hashing)
  -> ingest (sniff, dedupe, place, row) -> JetStream -> metadata (EXIF, geocode, rows) ->
  JetStream -> thumbnail (decode, two renders, thumbhash, both objects stored and fsynced, rows
  committed) -> the event. No polling (which would steal CPU from the services on a small
  machine); afterwards, outside the timing, the thumbnail is fetched once over HTTP to check it
  really is there;
- ``batch``: all photos uploaded back to back (as a phone backup does), wall time from the first
  upload until the last ``thumbnail.generated``, divided by the count: throughput, with the
  services' own concurrency.

Only the services of that path run (gateway, ingest, metadata, thumbnail): embedding and face
would otherwise start on every thumbnail and compete for the same cores. Durability is as in
production: PostgreSQL commits and filesystem writes are fsynced (several fsyncs per photo), so
on a slow disk they are a large part of the overhead. The target of issue 2 is pipeline <= 1.2 x
raw. Peak resident memory (VmHWM) of each service process is read from /proc at the end.
Results: bench/results/ingest.json.
"""

from __future__ import annotations

import asyncio
import json
import platform
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import msgspec
import nats
from darkroom_events import AssetThumbnailGenerated
from darkroom_stack.servers import free_port
from darkroom_stack.supervisor import Stack, StackConfig
from darkroom_stack.testing import samples_dir
from darkroom_thumbnail.render import RenderSettings, render_pyvips_baseline

RESULTS = Path(__file__).parent / "results"
VIPS_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff"}
#: The services between an upload and its thumbnails.
PIPELINE_SERVICES = ("ingest", "metadata", "thumbnail", "gateway")


def photos() -> list[Path]:
    """The sample photos libvips reads directly, sorted."""
    folder = samples_dir()
    if folder is None:
        raise SystemExit("sample media not found: set DARKROOM_SAMPLES or place ../shared/samples")
    return sorted(p for p in (folder / "photos").rglob("*") if p.suffix.lower() in VIPS_SUFFIXES)


def raw_seconds(path: Path, settings: RenderSettings, runs: int = 3) -> float | None:
    """Median of ``runs`` runs of the two raw pyvips renders, seconds; None if unreadable."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        try:
            render_pyvips_baseline(path, settings)
        except Exception:  # noqa: BLE001 - a file libvips cannot decode is left out
            return None
        times.append(time.perf_counter() - started)
    return statistics.median(times)


class Done:
    """When each asset's ``thumbnail.generated`` arrived (perf_counter), from a NATS thread.

    A plain (core NATS) subscription on the event's subject sees every message the stream
    stores, in order, at the moment JetStream accepts it; it creates no consumer.
    """

    def __init__(self, nats_url: str) -> None:
        self._url = nats_url
        self._seen: dict[str, float] = {}
        self._cond = threading.Condition()
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    def __enter__(self) -> Done:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("could not subscribe to NATS")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    async def _main(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        nc = await nats.connect(self._url)
        decoder = msgspec.json.Decoder(AssetThumbnailGenerated)

        async def seen(msg: nats.aio.msg.Msg) -> None:
            at = time.perf_counter()
            event = decoder.decode(msg.data)
            with self._cond:
                self._seen.setdefault(event.asset_id, at)
                self._cond.notify_all()

        await nc.subscribe(AssetThumbnailGenerated.subject, cb=seen)
        await nc.flush()
        self._ready.set()
        await self._stop.wait()
        await nc.close()

    def wait(self, asset_id: str, timeout: float = 60) -> float | None:
        """The perf_counter time the asset's thumbnails were done, or None after ``timeout`` s."""
        with self._cond:
            self._cond.wait_for(lambda: asset_id in self._seen, timeout)
            return self._seen.get(asset_id)


def admin_client(stack: Stack, timeout: float = 120) -> httpx.Client:
    """Sign up a fresh admin on ``stack`` over HTTP; a client sending its all-permission API
    key (``timeout`` seconds per request)."""
    anon = httpx.Client(base_url=stack.url, timeout=timeout)
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
    return httpx.Client(base_url=stack.url, timeout=timeout, headers={"x-api-key": key["secret"]})


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


def _has_thumbnail(client: httpx.Client, asset_id: str) -> bool:
    r = client.get(f"/api/assets/{asset_id}/thumbnail")
    return r.status_code == 200 and r.headers.get("content-type", "").startswith("image/")


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
    files = [p for p in photos() if raw_seconds(p, settings, runs=1) is not None]
    raw: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="darkroom-bench-") as tmp:
        stack = Stack(
            StackConfig(
                data_dir=Path(tmp),
                gateway_port=free_port(),
                services=PIPELINE_SERVICES,
                log_to_files=True,
                env={"DARKROOM_LOG_LEVEL": "WARNING"},
            )
        )
        stack.start()
        try:
            assert stack.nats is not None
            client = admin_client(stack)
            with Done(stack.nats.url) as done_at:
                for path in files[:3]:  # warm up: geocoder, caches, connections
                    done_at.wait(_upload(client, path, "warmup"))
                pipeline: dict[str, float] = {}
                thumbnails_ok = True
                for path in files:
                    seconds = raw_seconds(path, settings)
                    assert seconds is not None
                    raw[str(path)] = seconds
                    started = time.perf_counter()
                    asset_id = _upload(client, path, "seq")
                    finished = done_at.wait(asset_id)
                    if finished is not None:
                        pipeline[str(path)] = finished - started
                        thumbnails_ok &= _has_thumbnail(client, asset_id)
                started = time.perf_counter()
                ids = [_upload(client, path, "batch") for path in files]
                ends = [done_at.wait(i, timeout=300) for i in ids]
                batch_ok = all(end is not None for end in ends)
                batch_s = max(end or time.perf_counter() for end in ends) - started
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
        "thumbnails_downloadable": thumbnails_ok,
        "measured": "pipeline: HTTP upload start -> thumbnail.generated seen on NATS, one photo "
        "at a time; raw: median of 3 runs of the two pyvips renders, interleaved per photo",
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
