"""Ingest benchmark (issue #20 item 3): a phone backup into the whole running stack.

The embedded stack runs every service (ingest, metadata, thumbnail, transcode, embedding with
OCR, search, face, gateway), as ``make up`` does, with filesystem storage (fsynced, as in
production), dlib face detection and recognition, rapidocr OCR and the tiny generated CLIP
model of :mod:`bench.scale` (no real CLIP weights are reachable here; a real ViT-B/32 costs more
per photo, so the embedding figure here is a lower bound). The photos are the sample photos that
libvips reads (JPEG/PNG/WebP/TIFF) from ``DARKROOM_SAMPLES``; ``INGEST_PHOTOS=N`` takes the first
N for a quick run.

Uploads are made as the Immich mobile app backs up: ``POST /api/assets`` multipart
(``assetData`` + ``deviceAssetId``, ``deviceId``, ``fileCreatedAt``, ``fileModifiedAt``,
``isFavorite``, ``duration``) with a real login session (``x-immich-user-token``, the header the
app sends), by 4 concurrent uploaders (``INGEST_UPLOADERS``), each photo made unique by a few
bytes appended after its end (so it is never a duplicate).

Per photo, ``latency`` = from the moment the uploader starts sending the request (first byte of
the upload) until ``GET /api/assets/{id}/thumbnail`` answered 200 with image bytes. The GET is
sent when ``darkroom.asset.thumbnail.generated`` for the asset reaches a plain NATS subscriber of
this process: the same event the gateway turns into the app's ``on_upload_success`` websocket
message, without polling the gateway (polling steals CPU from the services on 2 cores); the GET
is retried every 50 ms if it is not served yet (``get_retries``). Where the time went is read
from the asset's rows: HTTP upload answered (ingest committed), ``metadata_extracted_at``,
``thumbnail_at`` (the thumbnail service committed), event seen, served.

``raw`` = :func:`darkroom_thumbnail.render.render_pyvips_baseline` on the same file in this
process (the two pyvips renders, preview JPEG + thumbnail WebP, nothing else), best of 3 runs,
libvips' operation cache off.

Two phases, on one stack:

1. ``rounds`` (the latency ratio): the photos in rounds of 4; before each round, with the stack
   idle (every earlier photo finished every step), the raw best-of-3 of the round's 4 photos is
   measured, then the 4 are uploaded at once by the 4 uploaders. So raw and pipeline are
   interleaved photo by photo and a change of load from other users of the machine hits both;
   inside a round, the ML work of the round's first photos competes with the later photos'
   thumbnails, as in a backup. Ratio = latency / raw per photo, p50 and p95 (target <= 1.2).
2. ``backup`` (throughput): every photo again (new bytes), the 4 uploaders back to back without
   pauses, as a phone's backup of its camera roll. ``photos_per_min`` = photos / (first upload
   started -> last photo finished every step: EXIF row, preview + thumbnail, CLIP embedding,
   faces, OCR), read from PostgreSQL every 0.5 s. The per-photo latency of this phase is given
   too (against the same raw figures), with the ML backlog it builds.

Also: peak resident memory (VmHWM, /proc) of each service process at the end, and the load
average (``os.getloadavg``) at start and end: the machine is shared and the figures were taken
under that load. Results: bench/results/ingest.json (``python -m bench ingest``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import msgspec
import nats
import pyvips
from darkroom_events import AssetThumbnailGenerated
from darkroom_stack.servers import free_port
from darkroom_stack.supervisor import SERVICES, Stack, StackConfig
from darkroom_stack.testing import samples_dir
from darkroom_thumbnail.render import RenderSettings, render_pyvips_baseline

RESULTS = Path(__file__).parent / "results"
VIPS_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff"}
CLIP_MODEL = "tiny-scale"
#: A photo is finished when all of these are set (asset_job_status) and OCR stored its status.
STEPS = ("metadata_extracted_at", "thumbnail_at", "embedding_at", "faces_at")
#: Seconds without any photo finishing after which a wait gives up (a stuck pipeline).
PATIENCE_S = 300.0


def photos() -> list[Path]:
    """The sample photos libvips reads directly, sorted."""
    folder = samples_dir()
    if folder is None:
        raise SystemExit("sample media not found: set DARKROOM_SAMPLES or place ../shared/samples")
    return sorted(p for p in (folder / "photos").rglob("*") if p.suffix.lower() in VIPS_SUFFIXES)


def raw_seconds(path: Path, settings: RenderSettings, runs: int = 3) -> float | None:
    """Best of ``runs`` runs of the two raw pyvips renders, seconds; None if unreadable."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        try:
            render_pyvips_baseline(path, settings)
        except Exception:  # noqa: BLE001 - a file libvips cannot decode is left out
            return None
        times.append(time.perf_counter() - started)
    return min(times)


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

    def wait(self, asset_id: str, timeout: float = PATIENCE_S) -> float | None:
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


def session_client(stack: Stack, timeout: float = 300) -> tuple[httpx.Client, str]:
    """Sign up a fresh admin and log in as the mobile app does; a client sending the session's
    token in ``x-immich-user-token``, and the user's id."""
    anon = httpx.Client(base_url=stack.url, timeout=timeout)
    email, password = f"phone-{uuid.uuid4().hex[:8]}@darkroom.test", "bench-password"
    anon.post(
        "/api/auth/admin-sign-up", json={"email": email, "password": password, "name": "Phone"}
    ).raise_for_status()
    login = anon.post("/api/auth/login", json={"email": email, "password": password})
    login.raise_for_status()
    body = login.json()
    client = httpx.Client(
        base_url=stack.url, timeout=timeout, headers={"x-immich-user-token": body["accessToken"]}
    )
    return client, str(body["userId"])


def upload(client: httpx.Client, path: Path, tag: str) -> str:
    """``POST /api/assets`` as the mobile app's backup; the new asset's id.

    The bytes are the file's plus ``tag`` after its end (a distinct checksum per upload).

    Raises:
        httpx.HTTPStatusError: The upload was refused.
    """
    data = path.read_bytes() + tag.encode()
    stat = path.stat()
    modified = datetime.fromtimestamp(stat.st_mtime).astimezone().isoformat()
    r = client.post(
        "/api/assets",
        files={"assetData": (path.name, data, "application/octet-stream")},
        data={
            "deviceAssetId": f"{tag}-{path.name}",
            "deviceId": "bench-phone",
            "fileCreatedAt": modified,
            "fileModifiedAt": modified,
            "isFavorite": "false",
            "duration": "0:00:00.000000",
        },
    )
    r.raise_for_status()
    return str(r.json()["id"])


def served(client: httpx.Client, asset_id: str) -> tuple[bool, int]:
    """GET the thumbnail until it is served (200, image bytes); (served, retries).

    Retried every 50 ms for at most 10 s: the event comes after the commit, so a retry means a
    real gap between the event and what the API serves.
    """
    retries = 0
    deadline = time.monotonic() + 10
    while True:
        r = client.get(f"/api/assets/{asset_id}/thumbnail")
        if (
            r.status_code == 200
            and r.headers.get("content-type", "").startswith("image/")
            and r.content
        ):
            return True, retries
        if time.monotonic() > deadline:
            return False, retries
        retries += 1
        time.sleep(0.05)


def _peak_rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


class Progress:
    """Which photos finished every step, read from PostgreSQL every 0.5 s in a thread.

    One indexed query per 0.5 s (cheap next to the work it watches). ``finished`` maps asset id
    to the wall-clock time (``time.time()``) the poll first saw it finished; ``failed`` holds
    assets marked failed (they never finish).
    """

    def __init__(self, db: str, owner: str) -> None:
        self._db, self._owner = db, owner
        self.finished: dict[str, float] = {}
        self.failed: set[str] = set()
        self.steps: dict[str, dict[str, float | None]] = {}
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Progress:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    async def _poll(self) -> None:
        conn = await asyncpg.connect(self._db, timeout=10)
        try:
            done = " AND ".join(f"s.{c} IS NOT NULL" for c in STEPS)
            while not self._stop.is_set():
                rows = await conn.fetch(
                    "SELECT s.asset_id::text AS id, s.failed_at IS NOT NULL AS failed, "
                    f"({done} AND o.asset_id IS NOT NULL) AS done, "
                    "extract(epoch FROM a.created_at) AS created, "
                    "extract(epoch FROM s.metadata_extracted_at) AS metadata, "
                    "extract(epoch FROM s.thumbnail_at) AS thumbnail "
                    "FROM asset_job_status s JOIN assets a ON a.id = s.asset_id "
                    "LEFT JOIN asset_ocr_status o ON o.asset_id = s.asset_id "
                    "WHERE s.owner_id = $1::uuid",
                    self._owner,
                )
                now = time.time()
                with self._cond:
                    for r in rows:
                        self.steps[r["id"]] = {
                            k: None if r[k] is None else float(r[k])
                            for k in ("created", "metadata", "thumbnail")
                        }
                        if r["done"]:
                            self.finished.setdefault(r["id"], now)
                        elif r["failed"]:
                            self.failed.add(r["id"])
                    self._cond.notify_all()
                await asyncio.sleep(0.5)
        finally:
            await conn.close()

    def _run(self) -> None:
        asyncio.run(self._poll())

    def wait_all(self, ids: list[str]) -> bool:
        """Wait until every asset of ``ids`` finished or failed, as long as some photo finishes
        within :data:`PATIENCE_S`; whether they all did."""

        def count() -> int:
            return sum(1 for i in ids if i in self.finished or i in self.failed)

        with self._cond:
            last = -1
            while True:
                n = count()
                if n == len(ids):
                    return True
                if n == last:
                    return False  # no progress for PATIENCE_S
                last = n
                self._cond.wait_for(lambda seen=n: count() > seen, PATIENCE_S)


class Measured(msgspec.Struct, kw_only=True):
    """One photo's upload in one phase (perf_counter and wall-clock seconds)."""

    path: str
    asset_id: str = ""
    start: float = 0.0  # perf_counter, request sent
    start_wall: float = 0.0  # time.time(), the same moment
    answered: float = 0.0  # HTTP 201 received
    event: float | None = None  # thumbnail.generated seen
    end: float | None = None  # thumbnail served
    get_retries: int = 0


def measure_one(client: httpx.Client, done: Done, path: Path, tag: str) -> Measured:
    """Upload one photo and wait until its thumbnail is served (see the module docstring)."""
    m = Measured(path=str(path), start_wall=time.time(), start=time.perf_counter())
    m.asset_id = upload(client, path, tag)
    m.answered = time.perf_counter()
    m.event = done.wait(m.asset_id)
    if m.event is not None:
        ok, m.get_retries = served(client, m.asset_id)
        m.end = time.perf_counter() if ok else None
    return m


def _pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile ``q`` (0-100) of ``values``."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))]


def _summary(
    runs: list[Measured], raw: dict[str, float], steps: dict[str, dict[str, float | None]]
) -> dict[str, Any]:
    """Latency and ratio percentiles of ``runs`` and the median time of each stage."""
    ok = [m for m in runs if m.end is not None and m.path in raw]
    if not ok:
        return {"served": 0}
    lat = [m.end - m.start for m in ok if m.end is not None]
    ratio = [(m.end - m.start) / raw[m.path] for m in ok if m.end is not None]

    def stage(get: Callable[[Measured], float | None]) -> float | None:
        values = [v for m in ok if (v := get(m)) is not None]
        return round(statistics.median(values) * 1000, 1) if values else None

    def wall(m: Measured, key: str) -> float | None:
        at = steps.get(m.asset_id, {}).get(key)
        return None if at is None else at - m.start_wall

    return {
        "served": len(ok),
        "not_served": len(runs) - len(ok),
        "latency_ms_p50": round(_pct(lat, 50) * 1000, 1),
        "latency_ms_p95": round(_pct(lat, 95) * 1000, 1),
        "raw_ms_p50": round(_pct([raw[m.path] for m in ok], 50) * 1000, 1),
        "ratio_p50": round(_pct(ratio, 50), 2),
        "ratio_p95": round(_pct(ratio, 95), 2),
        "get_retries": sum(m.get_retries for m in ok),
        "median_ms_from_first_byte": {
            "upload_answered": stage(lambda m: m.answered - m.start),
            "asset_row_created": stage(lambda m: wall(m, "created")),
            "metadata_committed": stage(lambda m: wall(m, "metadata")),
            "thumbnail_committed": stage(lambda m: wall(m, "thumbnail")),
            "event_seen": stage(lambda m: None if m.event is None else m.event - m.start),
            "thumbnail_served": stage(lambda m: None if m.end is None else m.end - m.start),
        },
    }


def main() -> dict[str, Any]:
    """Run the benchmark and write bench/results/ingest.json; return the report."""
    from darkroom_ml.testing import build_tiny_clip

    load_start = os.getloadavg()
    pyvips.cache_set_max(0)  # every raw run decodes the file again
    settings = RenderSettings()
    limit = int(os.environ.get("INGEST_PHOTOS", "0")) or None
    uploaders = int(os.environ.get("INGEST_UPLOADERS", "4"))
    files = [p for p in photos() if raw_seconds(p, settings, runs=1) is not None][:limit]
    raw: dict[str, float] = {}
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="darkroom-bench-") as tmp:
        models = Path(tmp) / "models"
        build_tiny_clip(models, CLIP_MODEL, dim=64, image_size=32, seed=7)
        stack = Stack(
            StackConfig(
                data_dir=Path(tmp) / "stack",
                gateway_port=free_port(),
                services=SERVICES,
                log_to_files=True,
                env={
                    "DARKROOM_LOG_LEVEL": "WARNING",
                    "DARKROOM_NIGHTLY_ENABLED": "false",
                    "DARKROOM_ML_MODEL_DIR": str(models),
                    "DARKROOM_CLIP_MODEL": CLIP_MODEL,
                    "DARKROOM_ML_DOWNLOAD": "false",
                },
            )
        )
        stack.start()
        nice = stack.config.background_nice
        try:
            client, owner = session_client(stack)
            clients = [client] + [
                httpx.Client(base_url=stack.url, timeout=300, headers=client.headers)
                for _ in range(uploaders - 1)
            ]
            db = stack.env()["DARKROOM_DATABASE_URL"]
            with (
                Done(stack.nats_url) as done,
                Progress(db, owner) as progress,
                ThreadPoolExecutor(uploaders) as pool,
            ):
                warm = [measure_one(client, done, p, "warmup") for p in files[:2]]
                progress.wait_all([m.asset_id for m in warm])  # models loaded, caches warm
                rounds: list[Measured] = []
                for i in range(0, len(files), uploaders):
                    batch = files[i : i + uploaders]
                    progress.wait_all([m.asset_id for m in rounds])
                    for path in batch:
                        seconds = raw_seconds(path, settings)
                        assert seconds is not None
                        raw[str(path)] = seconds
                    rounds += pool.map(
                        lambda job: measure_one(clients[job[0]], done, job[1], "round"),
                        enumerate(batch),
                    )
                rounds_all = progress.wait_all([m.asset_id for m in rounds])
                # phase 2: the backup, uploaders back to back
                queue = list(reversed(files))
                lock = threading.Lock()

                def uploader(n: int) -> list[Measured]:
                    out = []
                    while True:
                        with lock:
                            if not queue:
                                return out
                            path = queue.pop()
                        out.append(measure_one(clients[n], done, path, "backup"))

                first = time.time()
                backup = [m for part in pool.map(uploader, range(uploaders)) for m in part]
                backup_all = progress.wait_all([m.asset_id for m in backup])
                backup_ids = [m.asset_id for m in backup]
                ends = [progress.finished[i] for i in backup_ids if i in progress.finished]
                steps = dict(progress.steps)
                failed = sorted(progress.failed)
            memory = {name: _peak_rss_mib(proc.pid) for name, proc in stack.processes.items()}
        finally:
            stack.stop()
    backup_s = (max(ends) - first) if ends else None
    by_path = {m.path: m for m in backup}
    report = {
        "benchmark": "ingest",
        "id": uuid.uuid4().hex[:8],
        "command": "make bench (python -m bench ingest)"
        + (f", INGEST_PHOTOS={limit}" if limit else ""),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "load_average_start": [round(x, 2) for x in load_start],
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "services": list(SERVICES),
        "background_nice": nice,
        "clip_model": f"{CLIP_MODEL} (generated: 64-d, 32 px; no real weights here)",
        "uploaders": uploaders,
        "photos": len(files),
        "measured": "latency: first byte of POST /api/assets (session, multipart) -> GET "
        "/api/assets/{id}/thumbnail 200 image (sent on thumbnail.generated); raw: best of 3 "
        "of the two pyvips renders of the same file in this process",
        "target_ratio": 1.2,
        "rounds": {
            **_summary(rounds, raw, steps),
            "all_finished": rounds_all,
        },
        "backup": {
            **_summary(backup, raw, steps),
            "all_finished": backup_all,
            "finished": len(ends),
            "photos_per_min": round(len(ends) / backup_s * 60, 1) if backup_s else None,
            "seconds": round(backup_s, 1) if backup_s else None,
            "immich_reference_thumbnails_per_min": 275,
        },
        "failed_assets": len(failed),
        "peak_rss_mib": memory,
        "wall_s": round(time.perf_counter() - began, 1),
        "per_photo": [
            {
                "file": Path(m.path).name,
                "raw_ms": round(raw[m.path] * 1000, 1),
                "round_ms": round((m.end - m.start) * 1000, 1) if m.end else None,
                "backup_ms": round((b.end - b.start) * 1000, 1)
                if (b := by_path.get(m.path)) and b.end
                else None,
            }
            for m in rounds
            if m.path in raw
        ],
    }
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "ingest.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    summary = {k: v for k, v in report.items() if k != "per_photo"}
    print(json.dumps(summary, indent=2))  # noqa: T201 - a benchmark's report on the terminal
    print(f"written to {out}")  # noqa: T201
    return report


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
