"""Recovery benchmark (issue #26): how soon after NATS or PostgreSQL comes back every accepted
photo is processed.

What production does, on the embedded stack ``make up`` runs (gateway, ingest, metadata,
thumbnail; real NATS and PostgreSQL started and supervised by ``darkroom_stack``):

1. 4 clients upload 50 generated, distinct JPEGs over HTTP; once 10 are answered, ``kill -9`` of
   nats-server. The supervisor restarts it. Every answer must be 201/200 or 503 with
   Retry-After; the 503s are uploaded again afterwards, as a phone's backup does.
2. The same with PostgreSQL's postmaster killed.

For each fault the report has: accepted and refused uploads, ``return_s`` (from the kill until
the server runs again under a new pid, as the supervisor logs ``server.restarted``) and
``processed_after_return_s`` (from that return until the last photo accepted during the batch
has its thumbnail, polled over HTTP every 0.3 s). The target of #26 is
``processed_after_return_s`` <= 60. Results: bench/results/recovery.json.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pyvips
from darkroom_stack.procs import read_pid
from darkroom_stack.servers import free_port
from darkroom_stack.supervisor import Stack, StackConfig, server_alive

from bench.ingest import admin_client

RESULTS = Path(__file__).parent / "results"
SERVICES = ("ingest", "metadata", "thumbnail", "gateway")
BATCH = 50
TARGET_S = 60.0


def _upload(client: httpx.Client, n: int) -> httpx.Response:
    jpeg = bytes(pyvips.Image.xyz(120 + n, 80).extract_band(0).cast("uchar").jpegsave_buffer())
    return client.post(
        "/api/assets",
        files={"assetData": (f"r{n}.jpg", jpeg, "image/jpeg")},
        data={
            "deviceAssetId": f"recovery-{n}",
            "deviceId": "bench",
            "fileCreatedAt": "2024-05-01T10:00:00.000Z",
            "fileModifiedAt": "2024-05-01T10:00:00.000Z",
        },
    )


def _batch(client: httpx.Client, first: int, kill: Callable[[], None]) -> dict[int, int | str]:
    """Upload ``BATCH`` photos from 4 threads, ``kill`` once a fifth are answered; the asset id
    of each accepted photo, the status of each refused one."""
    answers: dict[int, int | str] = {}
    lock = threading.Lock()
    killed = threading.Event()

    def one(n: int) -> None:
        r = _upload(client, n)
        if r.status_code not in (200, 201, 503):
            raise RuntimeError(f"upload {n}: {r.status_code} {r.text[:200]}")
        with lock:
            answers[n] = r.json()["id"] if r.status_code in (200, 201) else r.status_code
            due = len(answers) >= BATCH // 5 and not killed.is_set()
            if due:
                killed.set()
        if due:
            kill()

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, range(first, first + BATCH)))
    return answers


def _back(stack: Stack, name: str, old_pid: int) -> float:
    while True:
        server = stack.nats if name == "nats" else stack.postgres
        assert server is not None
        pid = server.process.pid if server.process is not None else read_pid(server.pid_file)  # type: ignore[arg-type]
        if pid is not None and pid != old_pid and server_alive(server):
            return time.monotonic()
        time.sleep(0.1)


def _processed(client: httpx.Client, ids: list[str]) -> float:
    pending = set(ids)
    while pending:
        for asset_id in list(pending):
            if client.get(f"/api/assets/{asset_id}/thumbnail").status_code == 200:
                pending.discard(asset_id)
        time.sleep(0.3)
    return time.monotonic()


def _fault(stack: Stack, client: httpx.Client, name: str, first: int) -> dict[str, object]:
    assert stack.nats is not None and stack.postgres is not None
    if name == "nats":
        assert stack.nats.process is not None
        pid = stack.nats.process.pid
    else:
        found = read_pid(stack.postgres.pid_file)  # type: ignore[arg-type]
        assert found is not None
        pid = found
    killed_at: list[float] = []
    back_at: list[float] = []
    watcher = threading.Thread(target=lambda: back_at.append(_back(stack, name, pid)))

    def kill() -> None:
        killed_at.append(time.monotonic())
        os.kill(pid, signal.SIGKILL)
        watcher.start()  # the server's return is timed while the uploads go on

    answers = _batch(client, first, kill)
    watcher.join()
    back = back_at[0]
    accepted = [a for a in answers.values() if isinstance(a, str)]
    done = _processed(client, accepted)
    refused = [n for n, a in answers.items() if not isinstance(a, str)]
    for n in refused:  # as a phone's backup: again until accepted
        while (r := _upload(client, n)).status_code == 503:
            time.sleep(int(r.headers.get("retry-after", "1")))
        r.raise_for_status()
    return {
        "server": name,
        "accepted": len(accepted),
        "refused_503": len(refused),
        "return_s": round(back - killed_at[0], 2),
        "processed_after_return_s": round(max(0.0, done - back), 2),
        "target_s": TARGET_S,
    }


def main() -> None:
    """Run both faults on one stack and write bench/results/recovery.json."""
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(
            StackConfig(
                data_dir=Path(tmp),
                gateway_port=free_port(),
                services=SERVICES,
                log_to_files=True,
                env={"DARKROOM_LOG_LEVEL": "WARNING"},
            )
        )
        stack.start()
        try:
            client = admin_client(stack, timeout=300)  # as a phone's backup waits
            faults = [_fault(stack, client, "nats", 0), _fault(stack, client, "postgres", BATCH)]
        finally:
            stack.stop()
    report = {
        "benchmark": "recovery",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "batch": BATCH,
        "faults": faults,
        "met": all(f["processed_after_return_s"] <= TARGET_S for f in faults),  # type: ignore[operator]
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "recovery.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))  # noqa: T201 - a benchmark's report on the terminal
