"""Nothing is lost between a commit and its event (issue #15 item 1, "Fault injection").

One embedded stack (ingest, metadata, thumbnail, embedding with a tiny CLIP model, face,
gateway) serves the module. For each pipeline service in turn, the test-only switch
``DARKROOM_FAULT_AFTER_COMMIT=<service>:<n>`` makes that service kill itself (``os._exit``) right
after every ``n``-th commit that carries events, before it publishes them; the supervisor starts
it again. A batch of photos is uploaded meanwhile (an upload refused with 503 while ingest is
down is sent again, as a phone's backup does) and every asset must end fully processed
(``asset_job_status`` has every step of an image) with nobody acting: the events a killed
process committed reach the next step through the outbox relay. Then 200 photos with every
service faulting and NATS stopped for 30 s in the middle of the batch.

Batches: :data:`SMALL_BATCH` photos per service, :data:`LARGE_BATCH` for the last test.
No video is in the batches, so transcode does not run here (its step is converted the same
way, through ``Context.commit_derived``). Waits go by progress, not by a clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import asyncpg
import pytest
import pyvips
import structlog
from darkroom_runtime.outbox import FAULT_EXIT_CODE
from darkroom_stack.supervisor import Stack
from structlog.testing import capture_logs

from .conftest import User, first_admin, running_stack

#: Photos per single-service fault run.
SMALL_BATCH = 12
#: Commits a faulted process makes before it is killed, in the single-service runs.
SMALL_EVERY = 3
#: Kills of the faulted service per single-service run (see :class:`_Faults`).
SMALL_KILLS = 2
#: Photos of the run with every service faulting and NATS stopped (the issue's number).
LARGE_BATCH = 200
#: Commits a faulted process makes before it is killed there.
LARGE_EVERY = 40
#: Kills of each service during the large run.
LARGE_KILLS = 2
#: Seconds NATS stays stopped in the middle of the large batch (the issue's number).
NATS_DOWN_S = 30.0
#: A wait fails when nothing progressed for this long (a loaded 2-core machine is slow).
STALL_S = 300.0
SERVICES = ("ingest", "metadata", "thumbnail", "embedding", "face", "gateway")
FAULTED = ("ingest", "metadata", "thumbnail", "embedding", "face")
#: The steps an image goes through on this stack.
STEPS = ("metadata_extracted_at", "thumbnail_at", "embedding_at", "faces_at")
FAULT_VAR = "DARKROOM_FAULT_AFTER_COMMIT"

log = structlog.get_logger()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    from darkroom_ml.testing import build_tiny_clip

    models = tmp_path_factory.mktemp("outbox-models")
    build_tiny_clip(models, "Tiny-CLIP__outbox", dim=64, image_size=32, seed=7)
    env = {
        "DARKROOM_ML_MODEL_DIR": str(models),
        "DARKROOM_CLIP_MODEL": "Tiny-CLIP__outbox",
        "DARKROOM_ML_DOWNLOAD": "false",
        # an upload in flight when ingest is killed is answered 503 after this, not 120 s
        "DARKROOM_RPC_TIMEOUT_S": "15",
    }
    with running_stack(tmp_path_factory.mktemp("outbox"), services=SERVICES, env=env) as s:
        yield s


@pytest.fixture(scope="module")
def owner(stack: Stack) -> User:
    return first_admin(stack)


def _photo(n: int) -> bytes:
    """A unique small JPEG (its size makes its checksum unique)."""
    image = pyvips.Image.xyz(64 + n % 150, 48 + n // 150).extract_band(0).cast("uchar")
    return bytes(image.jpegsave_buffer())


def _upload(user: User, n: int, db_url: str) -> tuple[str, bool]:
    """Upload photo ``n`` until the server has it: a 503 (ingest or NATS down) is sent again
    after Retry-After, as a phone's backup does, unless the server stored the photo anyway
    (ingest was killed after its commit, so its answer was lost): then nobody sends it again.

    Returns:
        The asset id, and whether the upload was answered (False: stored, answer lost).
    """
    while True:
        response = user.client.post(
            "/api/assets",
            files={"assetData": (f"outbox{n}.jpg", _photo(n), "image/jpeg")},
            data={
                "deviceAssetId": f"outbox-{n}",
                "deviceId": "pytest",
                "fileCreatedAt": "2024-05-01T10:00:00.000Z",
                "fileModifiedAt": "2024-05-01T10:00:00.000Z",
            },
            timeout=300,
        )
        if response.status_code in (200, 201):
            return str(response.json()["id"]), True
        assert response.status_code == 503, (response.status_code, response.text[:300])
        stored = asyncio.run(_stored_ids(db_url, range(n, n + 1)))
        if stored:
            return stored[0], False
        time.sleep(int(response.headers.get("retry-after", "1")))


def _upload_batch(
    stack: Stack, user: User, numbers: range, midway: Callable[[], None] | None = None
) -> tuple[list[str], int]:
    """Upload ``numbers`` from 4 clients; ``midway`` runs once when half are stored.

    Returns:
        The ids of the stored photos, and how many of them were never answered.
    """
    assert stack.postgres is not None
    db_url = stack.postgres.url
    ids: list[str] = []
    lost = [0]
    lock = threading.Lock()
    fired = threading.Event()

    def one(n: int) -> None:
        asset_id, answered = _upload(user, n, db_url)
        with lock:
            ids.append(asset_id)
            lost[0] += not answered
            due = midway is not None and len(ids) >= len(numbers) // 2 and not fired.is_set()
            if due:
                fired.set()
        if due:
            assert midway is not None
            midway()

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, numbers))
    assert midway is None or fired.is_set()
    return ids, lost[0]


async def _stored_ids(db_url: str, numbers: range) -> list[str]:
    """The assets the server stored for uploads ``numbers`` (by their device asset id)."""
    conn = await asyncpg.connect(db_url)
    try:
        rows = await conn.fetch(
            "SELECT id FROM assets WHERE device_asset_id = ANY($1::text[])",
            [f"outbox-{n}" for n in numbers],
        )
        return [str(r["id"]) for r in rows]
    finally:
        await conn.close()


async def _pending(db_url: str, ids: list[str]) -> tuple[int, int]:
    """(assets of ``ids`` missing a step or failed, outbox rows not published)."""
    conn = await asyncpg.connect(db_url)
    try:
        missing = " OR ".join(f"s.{step} IS NULL" for step in STEPS)
        left = await conn.fetchval(
            "SELECT count(*) FROM unnest($1::uuid[]) AS i(id)"
            " LEFT JOIN asset_job_status s ON s.asset_id = i.id"
            f" WHERE s.asset_id IS NULL OR {missing} OR s.failed_at IS NOT NULL",
            [uuid.UUID(i) for i in ids],
        )
        unpublished = await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        return int(left), int(unpublished)
    except (OSError, asyncpg.PostgresError):
        return len(ids), -1
    finally:
        await conn.close()


def _wait_complete(stack: Stack, ids: list[str]) -> None:
    """Wait until every asset of ``ids`` has every step, as long as some progress is made
    every :data:`STALL_S` seconds; then the outbox holds nothing unpublished."""
    assert stack.postgres is not None
    best = (len(ids) + 1, 0)
    progress = time.monotonic()
    while True:
        left, unpublished = asyncio.run(_pending(stack.postgres.url, ids))
        if left == 0 and unpublished == 0:
            return
        if (left, unpublished) < best:
            best, progress = (left, unpublished), time.monotonic()
        assert time.monotonic() - progress < STALL_S, (
            f"stalled: {left} assets not fully processed, {unpublished} events unpublished"
        )
        time.sleep(0.5)


class _Faults:
    """Arm the fault switch for ``services`` (each killed after every ``every``-th commit with
    events), and disarm each service once it was killed ``kills`` times: the supervisor starts
    the next process without the switch (it reads the stack's environment at each start).

    A bounded number of kills keeps every message below its delivery limit: each kill counts
    one delivery of every message the process had in flight (the embedding service takes a
    whole batch at once), and a message delivered more than ``max_deliver`` times is
    dead-lettered, which is the bus's contract and not what is tested here.
    """

    def __init__(
        self,
        stack: Stack,
        logs: list[dict[str, object]],
        services: tuple[str, ...],
        *,
        every: int,
        kills: int,
    ) -> None:
        self.stack, self.logs, self.services = stack, logs, services
        self.every, self.kills = every, kills
        self.armed = set(services)
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def _spec(self) -> str:
        return ",".join(f"{name}:{self.every}" for name in sorted(self.armed))

    def _set(self) -> None:
        if self.armed:
            self.stack.config.env[FAULT_VAR] = self._spec()
        else:
            self.stack.config.env.pop(FAULT_VAR, None)

    def _watch(self) -> None:
        while not self.done.wait(0.05):  # the supervisor waits >= 1 s before a restart
            for name in list(self.armed):
                if _kills(self.logs, name) >= self.kills:
                    self.armed.discard(name)
                    self._set()

    def __enter__(self) -> _Faults:
        self._set()
        for name in self.services:
            self.stack.kill(name)  # started again with the switch
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join()
        still = set(self.armed)
        self.armed.clear()
        self._set()
        for name in still:  # a process still armed: start it again without the switch
            with contextlib.suppress(ProcessLookupError):  # killed by the fault just now
                self.stack.kill(name)


def _kills(logs: list[dict[str, object]], service: str) -> int:
    return sum(
        1
        for e in list(logs)
        if e.get("event") == "service.exited"
        and e.get("service") == service
        and e.get("code") == FAULT_EXIT_CODE
    )


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("service", FAULTED)
def test_a_service_killed_after_its_commits_loses_no_event(
    stack: Stack, owner: User, service: str
) -> None:
    first = 1000 * (FAULTED.index(service) + 1)
    with (
        capture_logs() as logs,
        _Faults(stack, logs, (service,), every=SMALL_EVERY, kills=SMALL_KILLS),
    ):
        ids, lost = _upload_batch(stack, owner, range(first, first + SMALL_BATCH))
        _wait_complete(stack, ids)
    assert len(set(ids)) == SMALL_BATCH
    if service == "ingest":  # the upload of each killed commit was stored, never answered
        assert lost >= 1
    kills = _kills(logs, service)
    assert 1 <= kills <= SMALL_KILLS, f"{service} was killed {kills} times"
    log.info("outbox.fault_run", service=service, photos=SMALL_BATCH, kills=kills)


@pytest.mark.timeout(2400)
def test_every_service_faulting_and_nats_stopped_30_s_mid_batch_lose_nothing(
    stack: Stack, owner: User, record_property: Callable[[str, object], None]
) -> None:
    def stop_nats_for_a_while() -> None:
        stack.hold_server("nats")
        time.sleep(NATS_DOWN_S)  # the outage itself is what is tested: its length is fixed
        stack.release_server("nats")

    began = time.monotonic()
    with (
        capture_logs() as logs,
        _Faults(stack, logs, FAULTED, every=LARGE_EVERY, kills=LARGE_KILLS),
    ):
        ids, _ = _upload_batch(
            stack, owner, range(10_000, 10_000 + LARGE_BATCH), stop_nats_for_a_while
        )
        _wait_complete(stack, ids)
    assert len(set(ids)) == LARGE_BATCH
    kills = {name: _kills(logs, name) for name in FAULTED}
    assert all(n >= 1 for n in kills.values()), kills
    assert any(e["event"] == "server.restarted" and e["server"] == "nats" for e in logs)
    record_property("kills", kills)
    record_property("seconds", round(time.monotonic() - began))
    log.info("outbox.large_run", photos=LARGE_BATCH, kills=kills)
