"""The embedded stack keeps its own servers alive (issue #26).

``kill -9`` of nats-server in the middle of a 50-photo batch, then of PostgreSQL in the middle of
another: every upload is either accepted or answered 503 with Retry-After, the supervisor starts
the server again and says so in its log, and every accepted photo ends processed (it has its
thumbnail) with nobody acting. The seconds from each server's return until the last accepted
photo is processed are reported (``record_property`` and the test log); the wait itself goes by
progress, not by a clock, since a busy CI machine is slow at everything.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import pyvips
import structlog
from darkroom_stack import supervisor
from darkroom_stack.procs import read_pid
from darkroom_stack.supervisor import Stack, server_alive
from structlog.testing import capture_logs

from .conftest import User, first_admin, running_stack

BATCH = 50
#: A batch waits this long without any photo getting processed before it fails.
STALL_S = 180.0
#: Ceiling of each wait for a server to come back.
RETURN_CEILING_S = 300.0

log = structlog.get_logger()


def _photo(n: int) -> bytes:
    """A unique small JPEG (its width makes its checksum unique)."""
    image = pyvips.Image.xyz(120 + n, 80).extract_band(0).cast("uchar")
    return bytes(image.jpegsave_buffer())


def _upload(user: User, n: int) -> httpx.Response:
    return user.client.post(
        "/api/assets",
        files={"assetData": (f"batch{n}.jpg", _photo(n), "image/jpeg")},
        data={
            "deviceAssetId": f"restart-{n}",
            "deviceId": "pytest",
            "fileCreatedAt": "2024-05-01T10:00:00.000Z",
            "fileModifiedAt": "2024-05-01T10:00:00.000Z",
        },
        timeout=300,  # as a phone's backup: an upload in flight when NATS dies may wait for it
    )


def _batch(user: User, first: int, kill: Callable[[], None]) -> tuple[list[str], list[int]]:
    """Upload ``BATCH`` photos from 4 clients, running ``kill`` once a fifth are answered.

    Returns:
        The ids of the accepted photos, and the numbers of those answered 503.
    """
    answered: dict[int, httpx.Response] = {}
    killed = threading.Event()
    lock = threading.Lock()

    def one(n: int) -> None:
        response = _upload(user, n)
        with lock:
            answered[n] = response
            due = len(answered) >= BATCH // 5 and not killed.is_set()
            if due:
                killed.set()
        if due:
            kill()

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, range(first, first + BATCH)))
    assert killed.is_set()
    _check_answers(list(answered.values()))
    refused = [n for n, r in answered.items() if r.status_code == 503]
    log.info("batch.answered", accepted=BATCH - len(refused), refused=len(refused))
    return [r.json()["id"] for r in answered.values() if r.status_code in (200, 201)], refused


def _check_answers(answers: list[httpx.Response]) -> None:
    """Every answer is an acceptance (201 new, 200 duplicate) or a 503 with Retry-After."""
    odd = [(r.status_code, r.text[:200]) for r in answers if r.status_code not in (200, 201, 503)]
    assert not odd, odd
    for r in answers:
        if r.status_code == 503:
            assert int(r.headers["retry-after"]) > 0


def _retry_refused(user: User, refused: list[int]) -> list[str]:
    """Upload again what got 503, as a phone's backup does, until each is accepted (a photo
    the server stored before its answer failed comes back as a duplicate, with its id)."""
    ids = []
    for n in refused:
        while (response := _upload(user, n)).status_code == 503:
            _check_answers([response])
            time.sleep(int(response.headers["retry-after"]))
        _check_answers([response])
        ids.append(response.json()["id"])
    return ids


def _wait_back(stack: Stack, name: str, old_pid: int) -> float:
    """Wait for server ``name`` to run again under a new pid; when it did (monotonic)."""
    began = time.monotonic()
    while time.monotonic() - began < RETURN_CEILING_S:
        server = stack.nats if name == "nats" else stack.postgres
        assert server is not None
        pid = server.process.pid if server.process is not None else read_pid(server.pid_file)  # type: ignore[arg-type]
        if pid is not None and pid != old_pid and server_alive(server):
            return time.monotonic()
        time.sleep(0.2)
    pytest.fail(f"{name} did not come back within {RETURN_CEILING_S} s")


def _wait_processed(user: User, ids: list[str]) -> None:
    """Wait until every asset has its thumbnail, as long as some asset gets one every
    ``STALL_S`` seconds (a 503 while a server is still recovering counts as "not yet")."""
    pending = set(ids)
    progress = time.monotonic()
    while pending:
        for asset_id in list(pending):
            if user.client.get(f"/api/assets/{asset_id}/thumbnail").status_code == 200:
                pending.discard(asset_id)
                progress = time.monotonic()
        assert time.monotonic() - progress < STALL_S, f"stalled, not processed: {sorted(pending)}"
        time.sleep(0.3)


@pytest.mark.timeout(1800)
def test_nats_and_postgres_killed_mid_batch_are_restarted_and_nothing_accepted_is_lost(
    tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    services = ("ingest", "metadata", "thumbnail", "gateway")
    with capture_logs() as logs, running_stack(tmp_path, services=services) as stack:
        owner = first_admin(stack)
        assert stack.nats is not None and stack.nats.process is not None
        assert stack.postgres is not None and stack.postgres.pid_file is not None

        nats_pid = stack.nats.process.pid
        accepted, refused = _batch(owner, 0, lambda: os.kill(nats_pid, signal.SIGKILL))
        nats_back = _wait_back(stack, "nats", nats_pid)
        _wait_processed(owner, accepted)
        after_nats = time.monotonic() - nats_back
        assert accepted  # some were accepted before the kill
        accepted += _retry_refused(owner, refused)

        postmaster = read_pid(stack.postgres.pid_file)
        assert postmaster is not None
        accepted_pg, refused = _batch(owner, BATCH, lambda: os.kill(postmaster, signal.SIGKILL))
        postgres_back = _wait_back(stack, "postgres", postmaster)
        _wait_processed(owner, accepted_pg)
        after_postgres = time.monotonic() - postgres_back
        assert accepted_pg
        accepted_pg += _retry_refused(owner, refused)

        # nothing lost, duplicated or half-made: each of the 100 photos is one processed asset
        everything = accepted + accepted_pg
        _wait_processed(owner, everything)
        listed = owner.client.post("/api/search/metadata", json={"size": 1000}).json()
        ids = [a["id"] for a in listed["assets"]["items"]]
        assert len(set(everything)) == 2 * BATCH
        assert sorted(set(everything)) == sorted(ids)

    restarted = [e for e in logs if e["event"] == "server.restarted"]
    assert [e["server"] for e in restarted] == ["nats", "postgres"], restarted
    exited = [e for e in logs if e["event"] == "server.exited"]
    assert {e["server"] for e in exited} == {"nats", "postgres"}
    record_property("processed_s_after_nats_back", round(after_nats, 1))
    record_property("processed_s_after_postgres_back", round(after_postgres, 1))
    log.info(
        "servers.recovered",
        processed_s_after_nats_back=round(after_nats, 1),
        processed_s_after_postgres_back=round(after_postgres, 1),
    )


@pytest.mark.timeout(900)
def test_a_server_that_keeps_dying_is_left_down_with_the_reason_and_the_way_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two tries instead of five keep the test short; the back-off between them is the real one.
    monkeypatch.setattr(supervisor, "SERVER_MAX_RESTARTS", 2)
    with capture_logs() as logs, running_stack(tmp_path, services=("gateway",)) as stack:
        assert stack.nats is not None and stack.nats.process is not None
        port, process = stack.nats.port, stack.nats.process
        with socket.socket() as squatter:  # every restart finds its port taken: it dies again
            process.kill()
            process.wait(60)
            squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            squatter.bind(("127.0.0.1", port))
            squatter.listen()
            began = time.monotonic()
            while not any(e["event"] == "server.given_up" for e in logs):
                assert time.monotonic() - began < RETURN_CEILING_S, logs[-5:]
                time.sleep(0.2)
            time.sleep(3)  # past the next back-off: nothing is tried any more
        events = [e for e in logs if e["event"].startswith("server.")]
    assert [e["event"] for e in events] == [
        "server.exited",
        "server.restart_failed",
        "server.exited",
        "server.restart_failed",
        "server.given_up",
    ], events
    assert f"port {port} on 127.0.0.1, wanted by nats, is already in use" in events[1]["error"]
    given_up = events[-1]
    assert given_up["server"] == "nats" and given_up["restarts"] == 2
    assert given_up["log_file"].endswith("nats.log")
    assert "make up" in given_up["how_to_recover"]
