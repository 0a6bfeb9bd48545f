"""Scale-out benchmark (issue #25): the distributed shape, proven on one machine.

What production does on a cluster, with real servers on loopback: a three-node NATS JetStream
cluster (stream DARKROOM with 3 replicas), PostgreSQL, S3 storage (nanio, SigV4-checked, as
MinIO on a cluster), and several replicas of every service (gateway x2 on two ports, ingest x2,
metadata x2, thumbnail x3, embedding x2, face x2, search x2, transcode x1), each a separate
process sharing its service's durable consumers and restarted by the supervisor when it dies.
The embedding service runs a tiny CLIP model built offline (no weights are reachable here); the
rest runs as in production (OCR, dlib face detection, pyvips rendering).

1. 8 clients upload ``uploads`` generated unique JPEGs (480x360, random colour fields) over
   HTTP, spread over the gateways; a 503 or a broken connection is retried (on the other
   gateway) as a phone's backup does.
2. During the uploads, by progress (answered uploads): at 15 % ``kill -9`` of the NATS node
   leading the stream (the supervisor restarts it), at 35 % ``kill -9`` of one replica of each
   worker service (ingest, metadata, thumbnail, embedding, face, search; restarted), at 60 %
   ``kill -9`` of PostgreSQL's postmaster (restarted, crash recovery).
3. Wait until every accepted photo is fully processed (EXIF, thumbnails, CLIP embedding, faces),
   as long as progress is being made.

Reported (bench/results/scale.json): accepted, fully processed, lost (accepted but not fully
processed, must be 0), duplicated assets and duplicated derived files (must be 0: two objects
in S3 for one rendering of one asset, or two face rows with the same box), objects in S3 that no
row names (renderings in ``asset_files``, person thumbnails in ``people``) and rows whose
object is missing, for
each fault the time until the component is back (``back_s``: a new stream leader and the node
restarted and current; the replacement processes answering ``/healthz``; PostgreSQL accepting
connections) and until the pipeline progressed again (``progress_s``), and the throughput
(accepted and fully processed per second) against the same run with one replica of each
service and no faults. ``python -m bench scale`` or ``make scale-test`` (``UPLOADS=...``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import platform
import signal
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import numpy as np
import pyvips
from darkroom_stack.procs import read_pid
from darkroom_stack.servers import free_port
from darkroom_stack.supervisor import SERVICES, Stack, StackConfig, server_alive

from bench.ingest import admin_client

RESULTS = Path(__file__).parent / "results"

#: Processes per service in the scaled-out run (issue #25 item 2).
SCALED: dict[str, int] = {
    "gateway": 2,
    "ingest": 2,
    "metadata": 2,
    "thumbnail": 3,
    "face": 2,
    "embedding": 2,
    "search": 2,
}
#: The worker services one replica of which is killed.
WORKERS = ("ingest", "metadata", "thumbnail", "embedding", "face", "search")
#: The steps a photo has when fully processed (asset_job_status columns).
STEPS = ("metadata_extracted_at", "thumbnail_at", "embedding_at", "faces_at")
CLIP_MODEL = "tiny-scale"


def photo(n: int) -> bytes:
    """A 480x360 JPEG of smooth random colour fields, distinct for each ``n`` (its seed)."""
    rng = np.random.default_rng(n)
    small = rng.integers(0, 255, size=(9, 12, 3), dtype=np.uint8)
    image = pyvips.Image.new_from_array(small, interpretation="srgb").resize(40, kernel="linear")
    return bytes(image.jpegsave_buffer(Q=85))


@dataclass
class Run:
    """State shared by the clients, the fault injector and the progress monitor."""

    stack: Stack
    uploads: int
    owner_id: str = ""
    ids: dict[int, str] = field(default_factory=dict)
    retries: int = 0
    answered: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    progress: list[tuple[float, int]] = field(default_factory=list)  # (time, fully processed)
    stop: threading.Event = field(default_factory=threading.Event)
    answered_cv: threading.Condition = field(default_factory=threading.Condition)


def _post(client: httpx.Client, n: int, data: bytes) -> httpx.Response:
    return client.post(
        "/api/assets",
        files={"assetData": (f"scale-{n}.jpg", data, "image/jpeg")},
        data={
            "deviceAssetId": f"scale-{n}",
            "deviceId": "bench-scale",
            "fileCreatedAt": "2024-05-01T10:00:00.000Z",
            "fileModifiedAt": "2024-05-01T10:00:00.000Z",
        },
    )


def _client_loop(run: Run, clients: list[httpx.Client], me: int, queue: list[int]) -> None:
    """Upload photos taken from ``queue`` until it is empty, retrying as a phone's backup."""
    turn = me
    while True:
        with run.lock:
            if not queue:
                return
            n = queue.pop()
        data = photo(n)
        while True:
            client = clients[turn % len(clients)]
            try:
                r = _post(client, n, data)
            except httpx.HTTPError:
                r = None
            if r is not None and r.status_code in (200, 201):
                break
            if r is not None and r.status_code != 503:
                raise RuntimeError(f"upload {n}: {r.status_code} {r.text[:300]}")
            with run.lock:
                run.retries += 1
            turn += 1  # the other gateway next
            time.sleep(int(r.headers.get("retry-after", "1")) if r is not None else 1.0)
        with run.lock:
            run.ids[n] = str(r.json()["id"])
        with run.answered_cv:
            run.answered += 1
            run.answered_cv.notify_all()


async def _processed_count(db: str, owner: str) -> int:
    conn = await asyncpg.connect(db, timeout=5)
    try:
        done = " AND ".join(f"s.{c} IS NOT NULL" for c in STEPS)
        return int(
            await conn.fetchval(
                f"SELECT count(*) FROM asset_job_status s WHERE s.owner_id = $1::uuid AND {done}",
                owner,
            )
        )
    finally:
        await conn.close()


def _monitor(run: Run, db: str) -> None:
    """Record the number of fully processed photos every 0.5 s (skipped while PG is down)."""
    while not run.stop.is_set():
        with contextlib.suppress(OSError, asyncpg.PostgresError, TimeoutError):
            n = asyncio.run(_processed_count(db, run.owner_id))
            run.progress.append((time.monotonic(), n))
        run.stop.wait(0.5)


def _wait_answered(run: Run, count: int) -> None:
    with run.answered_cv:
        run.answered_cv.wait_for(lambda: run.answered >= count)


def _progress_after(progress: list[tuple[float, int]], t: float) -> float | None:
    """Seconds from ``t`` until the processed count first exceeded its value at ``t`` (None:
    it never did, nothing was left to process)."""
    base = max((n for when, n in progress if when <= t), default=0)
    later = [when for when, n in progress if when > t and n > base]
    return round(later[0] - t, 2) if later else None


async def _stream_leader(url: str) -> tuple[str | None, Any, list[Any]]:
    import nats

    async def quiet(exc: Exception) -> None:  # a node down while it is killed: expected
        return None

    nc = await nats.connect(url.split(","), connect_timeout=5, error_cb=quiet)
    try:
        info = await nc.jetstream(timeout=3).stream_info("DARKROOM")
        cluster = info.cluster
        if cluster is None:
            return None, None, []
        return cluster.leader, cluster.leader_since, list(cluster.replicas or [])
    finally:
        await nc.close()


def _leader(url: str) -> tuple[str | None, Any, list[Any]]:
    """The stream's leader, since when it leads, and its replicas (None, None, [] while none
    answers)."""
    try:
        return asyncio.run(_stream_leader(url))
    except Exception:  # noqa: BLE001 - no leader reachable right now
        return None, None, []


def fault_nats_leader(stack: Stack) -> dict[str, Any]:
    """``kill -9`` of the NATS node leading the stream; back when a leader was elected after
    the kill (another node, or the killed one once restarted: ``leader_since`` after the kill)
    and the killed node runs again (new pid) and is current."""
    cluster = stack.nats_cluster
    assert cluster is not None
    leader, since, _ = _leader(cluster.url)
    assert leader is not None, "the stream has no leader"
    index = cluster.index_of(leader)
    t0 = time.monotonic()
    old_pid = cluster.kill(index)
    new_leader_s = None
    elected_by = None
    while True:
        now_leader, now_since, replicas = _leader(cluster.url)
        if new_leader_s is None and now_leader is not None and now_since != since:
            new_leader_s = round(time.monotonic() - t0, 2)
            elected_by = now_leader
        node = cluster.nodes[index]
        restarted = node.process is not None and node.process.pid != old_pid
        current = now_leader == leader or any(r.name == leader and r.current for r in replicas)
        if new_leader_s is not None and restarted and server_alive(node) and current:
            break
        time.sleep(0.2)
    return {
        "fault": "kill -9 of the NATS stream leader",
        "node": leader,
        "new_leader": elected_by,
        "at": t0,
        "new_leader_s": new_leader_s,
        "back_s": round(time.monotonic() - t0, 2),
    }


def fault_workers(stack: Stack) -> dict[str, Any]:
    """``kill -9`` of one replica of each worker service (the last one); back when every
    replacement process answers ``/healthz`` on its metrics port."""
    victims = {}
    for service in WORKERS:
        count = stack.config.replicas.get(service, 1)
        instance = service if count == 1 else f"{service}-{count}"
        victims[instance] = stack.processes[instance].pid
    t0 = time.monotonic()
    for pid in victims.values():
        os.kill(pid, signal.SIGKILL)
    back: dict[str, float] = {}
    while len(back) < len(victims):
        for instance, old in victims.items():
            if instance in back:
                continue
            proc = stack.processes[instance]
            if proc.pid == old or proc.poll() is not None:
                continue
            port = stack.metrics_ports[instance]
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    back[instance] = round(time.monotonic() - t0, 2)
        time.sleep(0.2)
    return {
        "fault": "kill -9 of one replica of each worker service",
        "killed": sorted(victims),
        "at": t0,
        "back_s": max(back.values()),
        "back_s_each": back,
    }


def fault_postgres(stack: Stack) -> dict[str, Any]:
    """``kill -9`` of PostgreSQL's postmaster; back when it accepts connections again."""
    assert stack.postgres is not None and stack.postgres.pid_file is not None
    pid = read_pid(stack.postgres.pid_file)
    assert pid is not None
    db = stack.env()["DARKROOM_DATABASE_URL"]
    t0 = time.monotonic()
    os.kill(pid, signal.SIGKILL)

    async def accepts() -> bool:
        try:
            conn = await asyncpg.connect(db, timeout=3)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return False
        await conn.close()
        return True

    while True:
        new = read_pid(stack.postgres.pid_file)
        if new is not None and new != pid and asyncio.run(accepts()):
            break
        time.sleep(0.2)
    return {"fault": "kill -9 of PostgreSQL", "at": t0, "back_s": round(time.monotonic() - t0, 2)}


FAULTS: tuple[tuple[float, Callable[[Stack], dict[str, Any]]], ...] = (
    (0.15, fault_nats_leader),
    (0.35, fault_workers),
    (0.60, fault_postgres),
)


def _inject(run: Run, results: list[dict[str, Any]], errors: list[BaseException]) -> None:
    try:
        for fraction, fault in FAULTS:
            _wait_answered(run, int(run.uploads * fraction))
            results.append(fault(run.stack))
    except BaseException as exc:  # noqa: BLE001 - reported by the caller
        errors.append(exc)


async def _audit(stack: Stack, owner: str, ids: list[str]) -> dict[str, Any]:
    """Lost and duplicated work, from PostgreSQL and the S3 bucket."""
    from darkroom_storage import StorageSettings, open_service_storage

    env = stack.env()
    conn = await asyncpg.connect(env["DARKROOM_DATABASE_URL"])
    try:
        done = " AND ".join(f"s.{c} IS NOT NULL" for c in STEPS)
        rows = await conn.fetch(
            f"SELECT a.id::text AS id, a.checksum, ({done}) AS done FROM assets a "
            "LEFT JOIN asset_job_status s ON s.asset_id = a.id WHERE a.owner_id = $1::uuid",
            owner,
        )
        files = await conn.fetch(
            "SELECT asset_id::text AS asset_id, type, path FROM asset_files "
            "WHERE owner_id = $1::uuid",
            owner,
        )
        people = await conn.fetch(
            "SELECT thumbnail_path FROM people WHERE owner_id = $1::uuid AND thumbnail_path <> ''",
            owner,
        )
        face_rows = await conn.fetchrow(
            "SELECT count(*) AS faces, count(*) - count(DISTINCT (asset_id, bounding_box_x1, "
            "bounding_box_y1, bounding_box_x2, bounding_box_y2)) AS duplicated "
            "FROM asset_faces WHERE owner_id = $1::uuid",
            owner,
        )
        failures = int(
            await conn.fetchval(
                "SELECT count(*) FROM job_failures WHERE owner_id = $1::uuid", owner
            )
        )
        embeddings = int(
            await conn.fetchval(
                "SELECT count(*) FROM smart_search s JOIN assets a ON a.id = s.asset_id "
                "WHERE a.owner_id = $1::uuid",
                owner,
            )
        )
    finally:
        await conn.close()
    storage = open_service_storage(
        StorageSettings(
            backend="s3",
            s3_endpoint=env["DARKROOM_STORAGE_S3_ENDPOINT"],
            s3_access_key=env["DARKROOM_STORAGE_S3_ACCESS_KEY"],
            s3_secret_key=env["DARKROOM_STORAGE_S3_SECRET_KEY"],
        )
    )
    derived: list[str] = []
    try:
        async for obj in storage.list_objects(f"thumbs/{owner}/"):
            derived.append(obj.key)
    finally:
        await storage.close()
    by_id = {r["id"]: r for r in rows}
    accepted = set(ids)
    per_kind: collections.Counter[tuple[str, str]] = collections.Counter()
    for key in derived:
        name = key.rsplit("/", 1)[-1]
        per_kind[(name[:36], name[37:].split(".", 1)[0])] += 1
    # asset renderings (asset_files) and person thumbnails (people.thumbnail_path)
    rows_paths = {f["path"] for f in files} | {p["thumbnail_path"] for p in people}
    return {
        "assets_in_db": len(rows),
        "missing_in_db": len(accepted - by_id.keys()),
        "fully_processed": sum(1 for i in accepted if i in by_id and by_id[i]["done"]),
        "duplicated_assets": len(rows) - len({r["checksum"] for r in rows}),
        "derived_objects": len(derived),
        "duplicated_derived_files": sum(n - 1 for n in per_kind.values() if n > 1)
        + int(face_rows["duplicated"]),
        "faces": int(face_rows["faces"]),
        "people": len(people),
        "derived_objects_without_row": len([k for k in derived if k not in rows_paths]),
        "derived_rows_without_object": len(rows_paths - set(derived)),
        "embeddings": embeddings,
        "job_failures": failures,
    }


def run(
    uploads: int = 1000,
    *,
    clients: int = 8,
    replicas: dict[str, int] | None = None,
    faults: bool = True,
    patience_s: float = 300.0,
    data_dir: Path | None = None,
) -> dict[str, Any]:
    """One run on a fresh stack (three NATS nodes, S3 storage); see the module docstring.

    Args:
        uploads: Photos to upload.
        clients: Concurrent uploaders.
        replicas: Processes per service (:data:`SCALED` when None; ``{}`` for one each).
        faults: Inject the faults of :data:`FAULTS` during the uploads.
        patience_s: How long the final wait goes on without any progress before it stops.
        data_dir: Where the stack keeps its state (a temporary directory when None).

    Returns:
        The run's report (see the module docstring).

    Raises:
        RuntimeError: An upload was refused with a status other than 503, or a fault could not
            be injected.
    """
    from darkroom_ml.testing import build_tiny_clip

    replicas = SCALED if replicas is None else replicas
    with contextlib.ExitStack() as cleanup:
        if data_dir is None:
            data_dir = Path(cleanup.enter_context(tempfile.TemporaryDirectory()))
        models = data_dir / "models"
        build_tiny_clip(models, CLIP_MODEL, dim=64, image_size=32, seed=7)
        stack = Stack(
            StackConfig(
                data_dir=data_dir / "stack",
                gateway_port=free_port(),
                services=SERVICES,
                log_to_files=True,
                nats_cluster=3,
                replicas=dict(replicas),
                storage="s3",
                env={
                    "DARKROOM_LOG_LEVEL": "WARNING",
                    "DARKROOM_NIGHTLY_ENABLED": "false",
                    "DARKROOM_ML_MODEL_DIR": str(models),
                    "DARKROOM_CLIP_MODEL": CLIP_MODEL,
                    "DARKROOM_ML_DOWNLOAD": "false",
                },
            )
        )
        began = time.monotonic()
        stack.start()
        cleanup.callback(stack.stop)
        started_s = round(time.monotonic() - began, 1)
        admin = admin_client(stack, timeout=300)
        key = admin.headers["x-api-key"]
        owner = admin.get("/api/users/me").json()["id"]
        gateways = [
            httpx.Client(base_url=url, timeout=300, headers={"x-api-key": key})
            for url in stack.gateway_urls
        ]
        state = Run(stack, uploads, owner_id=owner)
        monitor = threading.Thread(
            target=_monitor, args=(state, stack.env()["DARKROOM_DATABASE_URL"]), daemon=True
        )
        monitor.start()
        fault_results: list[dict[str, Any]] = []
        fault_errors: list[BaseException] = []
        injector = threading.Thread(
            target=_inject, args=(state, fault_results, fault_errors), daemon=True
        )
        queue = list(range(uploads))[::-1]
        t_first = time.monotonic()
        if faults:
            injector.start()
        workers = [
            threading.Thread(target=_client_loop, args=(state, gateways, i, queue))
            for i in range(clients)
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        t_uploaded = time.monotonic()
        if faults:
            injector.join()
            if fault_errors:
                raise RuntimeError(f"fault injection failed: {fault_errors[0]!r}")
        accepted = len(set(state.ids.values()))
        last, last_change = -1, time.monotonic()
        while time.monotonic() - last_change < patience_s:
            done = state.progress[-1][1] if state.progress else 0
            if done != last:
                last, last_change = done, time.monotonic()
            if done >= accepted:
                break
            time.sleep(0.5)
        t_done = next((t for t, n in state.progress if n >= accepted), time.monotonic())
        state.stop.set()
        monitor.join()
        audit = asyncio.run(_audit(stack, owner, list(state.ids.values())))
        instances = stack.config.instances()
    for f in fault_results:
        f["progress_s"] = _progress_after(state.progress, f.pop("at"))
    return {
        "uploads": uploads,
        "clients": clients,
        "processes": instances,
        "nats_nodes": 3,
        "stream_replicas": 3,
        "storage": "s3 (nanio)",
        "start_s": started_s,
        "accepted": accepted,
        "upload_retries": state.retries,
        "fully_processed": audit["fully_processed"],
        "lost": accepted - audit["fully_processed"],
        **{k: v for k, v in audit.items() if k != "fully_processed"},
        "faults": fault_results,
        "upload_s": round(t_uploaded - t_first, 2),
        "processed_s": round(t_done - t_first, 2),
        "accepted_per_s": round(accepted / (t_uploaded - t_first), 2),
        "processed_per_s": round(audit["fully_processed"] / (t_done - t_first), 2),
    }


def main(uploads: int | None = None) -> dict[str, Any]:
    """Run the scaled-out run with faults, then the same uploads with one replica each and no
    faults; write bench/results/scale.json. ``UPLOADS`` in the environment overrides 1000."""
    uploads = uploads or int(os.environ.get("UPLOADS", "1000"))
    scaled = run(uploads)
    single = run(uploads, replicas={}, faults=False)
    report = {
        "benchmark": "scale",
        "id": uuid.uuid4().hex[:8],
        "command": "make scale-test" + (f" UPLOADS={uploads}" if uploads != 1000 else ""),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "scaled_with_faults": scaled,
        "one_replica_each_no_faults": single,
        "throughput_ratio": {
            "accepted_per_s": round(scaled["accepted_per_s"] / single["accepted_per_s"], 2),
            "processed_per_s": round(scaled["processed_per_s"] / single["processed_per_s"], 2),
        },
        "ok": scaled["lost"] == 0
        and scaled["duplicated_assets"] == 0
        and scaled["duplicated_derived_files"] == 0
        and scaled["accepted"] == uploads,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "scale.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))  # noqa: T201 - a benchmark's report on the terminal
    return report
