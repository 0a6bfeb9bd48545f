"""The nightly tasks' scheduler (issue #15 item 4), against the running stack.

What this proves: Immich's nightly schedule (``nightlyTasks.startTime``) and cron expressions are
read in the server's zone; a PUT of ``startTime`` moves a running replica's next run (as it
records it) without a restart. Two gateway replicas (two app instances against one database,
with the test-only period of 2 s) run every nightly task once per due time: trash past
``trash.days`` is purged with its files, a user deleted past ``user.deleteDelay`` is removed with
their files, and each "cluster new faces" request reaches the face service once (one delivery
per request on its durable consumer) and clusters faces no one had placed. Two schedulers
counting their runs of one task never both run a due time. A run missed while the server was
down runs at the next start (and only once), and a run whose replica died is taken over after
the lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import asyncpg
import msgspec
import nats
import numpy as np
from darkroom_config import load_settings
from darkroom_db import people, system_metadata
from darkroom_db.system_config import ConfigSource, defaults
from darkroom_gateway.app import close_deps, create_app, open_deps
from darkroom_gateway.deps import Deps
from darkroom_gateway.nightly import TASKS
from darkroom_gateway.scheduler import (
    NEXT_RUNS_KEY,
    Scheduler,
    Task,
    Timing,
    nightly,
    server_zone,
)
from darkroom_gateway.settings import GatewaySettings
from darkroom_stack.supervisor import Stack
from litestar.testing import AsyncTestClient

from .conftest import (
    User,
    db_rows,
    make_user,
    noise_jpeg,
    stored_files,
    stream_events,
    upload_jpeg,
    wait_processed,
)
from .faces import wait_faces_detected

T = TypeVar("T")

#: Generous ceiling for anything the loaded 2-core machine makes slow (polled, never slept).
CEILING_S = 300.0
#: The test-only period of the replicas (DARKROOM_NIGHTLY_PERIOD_S).
PERIOD_S = 2.0
#: The face service's consumer of the clustering requests.
FACE_CONSUMER = "face_darkroom_face_clustering_requested"


def _settings(stack: Stack, **env: str) -> GatewaySettings:
    return load_settings(GatewaySettings, environ={**stack.env(), **env})


@contextlib.asynccontextmanager
async def _deps(stack: Stack) -> AsyncIterator[Deps]:
    """A replica's own connections (pool, bus) to ``stack``."""
    deps = await open_deps(_settings(stack))
    try:
        yield deps
    finally:
        await close_deps(deps)


async def _until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + CEILING_S
    while not await check():
        assert time.monotonic() < deadline, f"not within {CEILING_S} s: {what}"
        await asyncio.sleep(0.3)


def test_schedules_are_read_in_the_server_zone() -> None:
    schedule = nightly("database_cleanup")
    base = defaults(ConfigSource.from_environ(environ={}))
    at = msgspec.structs.replace(
        base, nightly_tasks=msgspec.structs.replace(base.nightly_tasks, start_time="02:30")
    )
    expression = schedule(at)
    assert expression == "30 2 * * *"
    now = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    utc, paris = Timing(UTC), Timing(ZoneInfo("Europe/Paris"))
    assert utc.previous(expression, now) == datetime(2026, 7, 1, 2, 30, tzinfo=UTC)
    assert utc.next(expression, now) == datetime(2026, 7, 2, 2, 30, tzinfo=UTC)
    assert paris.previous(expression, now) == datetime(2026, 7, 1, 0, 30, tzinfo=UTC)  # CEST
    exactly = datetime(2026, 7, 2, 2, 30, tzinfo=UTC)
    assert utc.previous(expression, exactly) == exactly  # due at that very second
    off = msgspec.structs.replace(
        at, nightly_tasks=msgspec.structs.replace(at.nightly_tasks, database_cleanup=False)
    )
    assert schedule(off) is None
    every = Timing(UTC, timedelta(seconds=10))
    assert every.previous(expression, datetime(2026, 7, 1, 12, 0, 7, tzinfo=UTC)) == datetime(
        2026, 7, 1, 12, 0, 0, tzinfo=UTC
    )
    assert every.next(expression, datetime(2026, 7, 1, 12, 0, 7, tzinfo=UTC)) == datetime(
        2026, 7, 1, 12, 0, 10, tzinfo=UTC
    )


def test_a_put_start_time_moves_the_next_run_without_a_restart(stack: Stack, admin: User) -> None:
    name = f"test-next-{uuid.uuid4().hex[:8]}"
    saved = admin.client.get("/api/system-config").json()
    zone = server_zone(os.environ)
    start = (datetime.now(zone) + timedelta(hours=3)).replace(second=0, microsecond=0)
    wanted = {**saved, "nightlyTasks": {**saved["nightlyTasks"], "startTime": f"{start:%H:%M}"}}

    async def next_run(deps: Deps) -> datetime | None:
        value = await system_metadata.get(deps.pool, NEXT_RUNS_KEY)
        due = (value or {}).get(name)
        return None if due is None else datetime.fromisoformat(due)

    async def scenario() -> None:
        async with _deps(stack) as deps:
            await deps.config.start(deps.bus)  # a replica's live config, as the gateway's
            noop = Task(name, lambda _d: asyncio.sleep(0), nightly("database_cleanup"))
            scheduler = Scheduler(deps, [noop], Timing(zone))
            stop = asyncio.Event()
            job = asyncio.create_task(scheduler.run(stop))
            try:
                await _until(
                    lambda: _is_not_none(next_run(deps)), "the first next run to be recorded"
                )
                assert await next_run(deps) != start
                r = await asyncio.to_thread(admin.client.put, "/api/system-config", json=wanted)
                assert r.status_code == 200, r.text

                async def moved() -> bool:
                    return await next_run(deps) == start

                await _until(moved, "the replica to move the next run to the saved start time")
            finally:
                stop.set()
                await job

    try:
        asyncio.run(scenario())
    finally:
        r = admin.client.put("/api/system-config", json=saved)
        assert r.status_code == 200, r.text


async def _is_not_none(value: Awaitable[object]) -> bool:
    return await value is not None


def _count_task(name: str, runs: list[tuple[str, datetime]], replica: str) -> Task:
    """A task that records each of its runs (by ``replica``) as it happens."""

    async def count(_: Deps) -> None:
        runs.append((replica, datetime.now(UTC)))

    return Task(name, count, lambda _c: "* * * * *")


def test_two_schedulers_never_both_run_a_due_time(stack: Stack) -> None:
    name = f"test-count-{uuid.uuid4().hex[:8]}"
    runs: list[tuple[str, datetime]] = []

    async def race() -> None:
        async with _deps(stack) as one, _deps(stack) as two:
            period = Timing(UTC, timedelta(seconds=1))
            schedulers = [
                Scheduler(deps, [_count_task(name, runs, replica)], period, replica=replica)
                for deps, replica in ((one, "replica-a"), (two, "replica-b"))
            ]
            stop = asyncio.Event()
            jobs = [asyncio.create_task(s.run(stop)) for s in schedulers]

            async def enough() -> bool:
                return len(await _finished(one.pool, name)) >= 5

            try:
                await _until(enough, "five runs")
            finally:
                stop.set()
                await asyncio.gather(*jobs)

    asyncio.run(race())
    rows = db_rows(stack, "SELECT * FROM scheduled_runs WHERE task = $1 ORDER BY due_at", name)
    # every run started is one claimed row, every row was run once and by its claimer
    assert len(runs) == len(rows) >= 5, (runs, rows)
    assert all(r["attempts"] == 1 and r["finished_at"] and r["error"] is None for r in rows)
    assert Counter(r["claimed_by"] for r in rows) == Counter(replica for replica, _ in runs)
    dues = [r["due_at"] for r in rows]
    assert len(set(dues)) == len(dues)


async def _finished(pool: asyncpg.Pool, task: str, since: datetime | None = None) -> list[Any]:
    return list(
        await pool.fetch(
            "SELECT * FROM scheduled_runs WHERE task = $1 AND finished_at IS NOT NULL "
            "AND ($2::timestamptz IS NULL OR due_at >= $2) ORDER BY due_at",
            task,
            since,
        )
    )


def test_a_missed_run_happens_at_the_next_start_once(stack: Stack) -> None:
    name = f"test-missed-{uuid.uuid4().hex[:8]}"
    runs: list[tuple[str, datetime]] = []
    daily = Task(name, _count_task(name, runs, "x").run, lambda _c: "0 3 * * *")
    timing = Timing(UTC)
    now = datetime.now(UTC)
    due = timing.previous("0 3 * * *", now)

    async def scenario() -> tuple[int, int, int]:
        async with _deps(stack) as deps:
            # the run before the downtime happened; the one due at ``due`` was missed
            await deps.pool.execute(
                "INSERT INTO scheduled_runs (task, due_at, claimed_by, finished_at) "
                "VALUES ($1, $2, 'before', now())",
                name,
                due - timedelta(days=1),
            )
            first = Scheduler(deps, [daily], timing, replica="first-start")
            await first.look(datetime.now(UTC), since=None)  # start-up
            await first.drain()
            after_start = len(runs)
            await first.look(datetime.now(UTC), since=now)  # a later look: nothing new
            await first.drain()
            after_look = len(runs)
            again = Scheduler(deps, [daily], timing, replica="second-start")
            await again.look(datetime.now(UTC), since=None)  # a restart: it ran already
            await again.drain()
            return after_start, after_look, len(runs)

    assert asyncio.run(scenario()) == (1, 1, 1)
    rows = db_rows(stack, "SELECT * FROM scheduled_runs WHERE task = $1 ORDER BY due_at", name)
    assert [(r["due_at"], r["claimed_by"]) for r in rows] == [
        (due - timedelta(days=1), "before"),
        (due, "first-start"),
    ]


def test_a_run_whose_replica_died_is_taken_over_after_the_lease(stack: Stack) -> None:
    name = f"test-lease-{uuid.uuid4().hex[:8]}"
    runs: list[tuple[str, datetime]] = []
    task = Task(name, _count_task(name, runs, "x").run, lambda _c: "0 3 * * *")
    timing = Timing(UTC)
    due = timing.previous("0 3 * * *", datetime.now(UTC))

    async def scenario() -> tuple[int, int]:
        async with _deps(stack) as deps:
            await deps.pool.execute(
                "INSERT INTO scheduled_runs (task, due_at, claimed_by, heartbeat_at) "
                "VALUES ($1, $2, 'dead', now() - interval '2 minutes')",
                name,
                due,
            )
            scheduler = Scheduler(deps, [task], timing, replica="heir", lease=timedelta(minutes=5))
            await scheduler.look(datetime.now(UTC), since=None)  # heartbeat 2 min old: alive
            await scheduler.drain()
            within_lease = len(runs)
            await deps.pool.execute(
                "UPDATE scheduled_runs SET heartbeat_at = now() - interval '6 minutes' "
                "WHERE task = $1",
                name,
            )
            await scheduler.look(datetime.now(UTC), since=datetime.now(UTC))
            await scheduler.drain()
            return within_lease, len(runs)

    assert asyncio.run(scenario()) == (0, 1)
    (row,) = db_rows(stack, "SELECT * FROM scheduled_runs WHERE task = $1", name)
    assert row["claimed_by"] == "heir" and row["attempts"] == 2 and row["finished_at"]


async def _face_consumer_delivered(nats_url: str) -> int:
    nc = await nats.connect(nats_url)
    try:
        info = await nc.jetstream().consumer_info("DARKROOM", FACE_CONSUMER)
        assert info.num_pending == 0 and info.num_ack_pending == 0, info
        return int(info.delivered.consumer_seq or 0)
    finally:
        await nc.close()


async def _unclustered_faces(pool: asyncpg.Pool, owner: str, assets: list[str]) -> None:
    """Give each of ``assets`` one face, near-identical descriptors, that no one placed (as
    faces left unmatched until the nightly pass)."""
    base = np.random.default_rng(5).normal(size=128)
    base /= np.linalg.norm(base)
    async with pool.acquire() as conn, conn.transaction():
        for i, asset in enumerate(assets):
            descriptor = base + np.random.default_rng(i).normal(scale=0.001, size=128)
            await people.replace_faces(
                conn,
                asset_id=uuid.UUID(asset),
                owner_id=uuid.UUID(owner),
                faces=[
                    people.NewFace(
                        image_width=64,
                        image_height=48,
                        x1=8,
                        y1=8,
                        x2=40,
                        y2=40,
                        score=1.0,
                        embedding=descriptor.astype(np.float32),
                    )
                ],
            )
        await conn.execute(
            "UPDATE asset_faces SET recognition = 'unmatched' WHERE owner_id = $1", uuid.UUID(owner)
        )


def test_two_gateway_replicas_run_each_nightly_task_once(stack: Stack, admin: User) -> None:
    owner, doomed = make_user(stack, admin), make_user(stack, admin)
    old, recent = upload_jpeg(owner, noise_jpeg(1)), upload_jpeg(owner, noise_jpeg(2))
    faced = [upload_jpeg(owner, noise_jpeg(10 + i)) for i in range(3)]
    doomed_asset = upload_jpeg(doomed, noise_jpeg(3))
    wait_processed(owner, [old, recent, *faced])
    wait_processed(doomed, [doomed_asset])
    db_url = stack.env()["DARKROOM_DATABASE_URL"]
    assert wait_faces_detected(db_url, faced, CEILING_S) == len(faced)
    r = owner.client.request("DELETE", "/api/assets", json={"ids": [old, recent]})
    assert r.status_code == 204, r.text
    r = admin.client.request("DELETE", f"/api/admin/users/{doomed.id}", json={})
    assert r.status_code == 200 and r.json()["status"] == "deleted", r.text
    db_rows(
        stack,
        "UPDATE assets SET deleted_at = now() - interval '31 days' WHERE id = $1",
        uuid.UUID(old),
    )
    db_rows(
        stack,
        "UPDATE users SET deleted_at = now() - interval '8 days' WHERE id = $1",
        uuid.UUID(doomed.id),
    )
    assert stored_files(stack, old) and stored_files(stack, doomed_asset)
    nats_url = stack.env()["DARKROOM_NATS_URL"]
    delivered_before = asyncio.run(_face_consumer_delivered(nats_url))
    since = datetime.now(UTC)

    async def replicas() -> None:
        settings = _settings(
            stack, DARKROOM_NIGHTLY_ENABLED="true", DARKROOM_NIGHTLY_PERIOD_S=str(PERIOD_S)
        )
        async with _deps(stack) as check:
            await _unclustered_faces(check.pool, owner.id, faced)
            one, two = create_app(settings), create_app(settings)
            async with AsyncTestClient(app=one), AsyncTestClient(app=two):

                async def done() -> bool:
                    gone = await check.pool.fetchval(
                        "SELECT NOT EXISTS (SELECT 1 FROM assets WHERE id = $1) "
                        "AND NOT EXISTS (SELECT 1 FROM users WHERE id = $2)",
                        uuid.UUID(old),
                        uuid.UUID(doomed.id),
                    )
                    placed = await check.pool.fetchval(
                        "SELECT count(*) = 0 FROM asset_faces WHERE owner_id = $1 "
                        "AND person_id IS NULL",
                        uuid.UUID(owner.id),
                    )
                    runs = [len(await _finished(check.pool, t.name, since)) for t in TASKS]
                    return bool(gone and placed and min(runs) >= 2)

                await _until(done, "the purges, the clustering and two runs of every task")

    asyncio.run(replicas())

    # the trash past its age and the user past the delay are gone, with their files
    assert owner.client.get(f"/api/assets/{old}").status_code == 400
    assert stored_files(stack, old) == [] and stored_files(stack, doomed_asset, doomed.id) == []
    assert owner.client.get(f"/api/assets/{recent}").json()["isTrashed"] is True
    assert stored_files(stack, recent)
    # each due time of each task ran once: one claim, never taken over, finished without error
    # (by claim time: the catch-up run a replica claims at start is due before ``since`` but
    # runs, and publishes its clustering request, after it)
    rows = db_rows(stack, "SELECT * FROM scheduled_runs WHERE claimed_at >= $1", since)
    by_task = Counter(r["task"] for r in rows)
    assert set(by_task) >= {t.name for t in TASKS}, by_task
    for row in rows:
        assert row["attempts"] == 1 and row["error"] is None, dict(row)
    # the faces no one had placed are on one person now
    persons = db_rows(
        stack, "SELECT DISTINCT person_id FROM asset_faces WHERE owner_id = $1", uuid.UUID(owner.id)
    )
    assert len(persons) == 1 and persons[0]["person_id"] is not None
    # one request per run of cluster-new-faces, each delivered once to the face service
    clustering_runs = [r for r in rows if r["task"] == "cluster-new-faces"]

    def requested() -> list[bytes]:
        return [
            e
            for e in asyncio.run(stream_events(nats_url, "darkroom.face.clustering.requested"))
            if datetime.fromisoformat(json.loads(e)["requested_at"]) >= since
        ]

    # a run's request is committed to the outbox by then, but a replica stopped between the
    # commit and the publish leaves it to the stack's other processes' relay (after its grace)
    deadline = time.monotonic() + CEILING_S
    while len(requests := requested()) < len(clustering_runs) and time.monotonic() < deadline:
        time.sleep(1)

    async def delivered() -> int:
        deadline = time.monotonic() + CEILING_S
        while True:
            try:
                return await _face_consumer_delivered(nats_url) - delivered_before
            except AssertionError:  # still being handled
                assert time.monotonic() < deadline
                await asyncio.sleep(0.3)

    assert len(requests) == len(clustering_runs) >= 2
    assert asyncio.run(delivered()) == len(requests)
