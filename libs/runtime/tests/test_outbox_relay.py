"""The transactional outbox and its relay (issue #15 item 1) on real PostgreSQL and nats-server.

The module has its own nats-server (stopped, paused and restarted here) and its own database;
each test uses its own bus namespace, so its stream holds only what it published.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from darkroom_bus import Bus
from darkroom_db import create_pool, migrate
from darkroom_db import outbox as outbox_db
from darkroom_events import AssetCreated
from darkroom_runtime.outbox import CommitFault, Outbox
from darkroom_stack.servers import RunningServer, start_nats
from darkroom_stack.testing import fresh_database

#: Ceiling of every wait on progress (a loaded 2-core machine is slow at everything).
CEILING_S = 120.0


@pytest.fixture(scope="module")
def nats_own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[RunningServer]]:
    """A nats-server of this module only (a one-item list: a test may restart it)."""
    data = tmp_path_factory.mktemp("outbox-nats")
    holder = [start_nats(data)]
    yield holder
    holder[0].stop()


@pytest.fixture(scope="module")
def db_url(postgres_server: RunningServer) -> str:
    url = fresh_database(postgres_server, "outbox")
    migrate(url)
    return url


@pytest.fixture
async def pool(db_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(db_url)
    await p.execute("TRUNCATE outbox")
    yield p
    await p.close()


@pytest.fixture
def namespace() -> str:
    return f"ob{uuid.uuid4().hex[:10]}"


async def _bus(server: RunningServer, namespace: str, name: str = "relay") -> Bus:
    bus = await Bus.connect(server.url, name=name, namespace=namespace)
    await bus.ensure_stream()
    return bus


def _event(n: int) -> AssetCreated:
    return AssetCreated(
        asset_id=str(uuid.UUID(int=n + 1)),
        owner_id=str(uuid.UUID(int=999)),
        type="IMAGE",
        original_key=f"upload/x/{n}.jpg",
        original_file_name=f"{n}.jpg",
        mime_type="image/jpeg",
        checksum=f"{n:040x}",
        file_size=10,
        file_created_at=None,
        file_modified_at=None,
    )


async def _write_rows(pool: asyncpg.Pool, bus: Bus, count: int) -> None:
    """Committed outbox rows that nobody published (as a process killed after its commit)."""
    async with pool.acquire() as conn, conn.transaction():
        for n in range(count):
            envelope = bus.envelope(_event(n))
            await outbox_db.insert(
                conn,
                subject=envelope.subject,
                msg_id=envelope.msg_id,
                payload=envelope.payload,
                headers=envelope.headers,
            )


async def _stored(bus: Bus) -> int:
    return (await bus.js.stream_info(bus.stream_name)).state.messages


async def _unpublished(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL"))


async def test_commit_publishes_at_once_and_a_rollback_publishes_nothing(
    nats_own: list[RunningServer], pool: asyncpg.Pool, namespace: str
) -> None:
    bus = await _bus(nats_own[0], namespace)
    try:
        box = Outbox(pool, bus)
        with pytest.raises(RuntimeError):
            async with box.transaction() as tx:
                await tx.add(_event(1))
                raise RuntimeError("the change failed")
        assert await pool.fetchval("SELECT count(*) FROM outbox") == 0
        async with box.transaction() as tx:
            await tx.add(_event(2))
        assert await _stored(bus) == 1
        assert await _unpublished(pool) == 0  # marked after the ack, by the fast path
        row = await pool.fetchrow("SELECT msg_id, headers::text AS h FROM outbox")
        assert row["msg_id"] == f"darkroom.asset.created:{uuid.UUID(int=3)}"
    finally:
        await bus.close(drain_timeout=1)


async def test_two_relays_publish_each_row_once(
    nats_own: list[RunningServer], db_url: str, pool: asyncpg.Pool, namespace: str
) -> None:
    first, second = await _bus(nats_own[0], namespace), await _bus(nats_own[0], namespace)
    other_pool = await create_pool(db_url)
    try:
        await _write_rows(pool, first, 60)
        one, two = Outbox(pool, first), Outbox(other_pool, second)
        sent = [0, 0]

        async def drain(box: Outbox, slot: int) -> None:
            while n := await box.relay_once(grace_s=0, limit=7):
                sent[slot] += n

        await asyncio.gather(drain(one, 0), drain(two, 1))
        # claimed with SKIP LOCKED: no row was published by both (JetStream's de-duplication
        # would hide a second publish in the stream, so count what each relay sent)
        assert sum(sent) == 60, sent
        assert await _stored(first) == 60
        assert await _unpublished(pool) == 0
    finally:
        await other_pool.close()
        await first.close(drain_timeout=1)
        await second.close(drain_timeout=1)


async def test_the_relay_leaves_young_rows_to_their_writer(
    nats_own: list[RunningServer], pool: asyncpg.Pool, namespace: str
) -> None:
    bus = await _bus(nats_own[0], namespace)
    try:
        await _write_rows(pool, bus, 3)
        assert await Outbox(pool, bus).relay_once(grace_s=3600) == 0
        assert await _unpublished(pool) == 3
    finally:
        await bus.close(drain_timeout=1)


async def test_a_row_is_marked_published_only_after_the_ack(
    nats_own: list[RunningServer], pool: asyncpg.Pool, namespace: str
) -> None:
    bus = await _bus(nats_own[0], namespace)
    process = nats_own[0].process
    assert process is not None
    try:
        await _write_rows(pool, bus, 1)
        os.kill(process.pid, signal.SIGSTOP)  # the server holds its ack
        try:
            relay = asyncio.create_task(Outbox(pool, bus).relay_once(grace_s=0))
            began = time.monotonic()
            # the relay has claimed the row and waits for the ack in its open transaction
            while not await pool.fetchval(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND state = 'idle in transaction'"
            ):
                assert time.monotonic() - began < CEILING_S
                await asyncio.sleep(0.05)
            assert not relay.done()
            assert await _unpublished(pool) == 1
        finally:
            os.kill(process.pid, signal.SIGCONT)
        assert await relay == 1
        assert await _unpublished(pool) == 0
        assert await _stored(bus) == 1
    finally:
        await bus.close(drain_timeout=1)


async def test_the_relay_survives_nats_down_and_publishes_when_it_is_back(
    nats_own: list[RunningServer], pool: asyncpg.Pool, namespace: str
) -> None:
    server = nats_own[0]
    bus = await _bus(server, namespace)
    box = Outbox(pool, bus)
    stop = asyncio.Event()
    relay = asyncio.create_task(box.run_relay(stop, interval_s=0.2, grace_s=0))
    try:
        server.stop()
        began = time.monotonic()
        while bus.nc.is_connected:
            assert time.monotonic() - began < CEILING_S
            await asyncio.sleep(0.05)
        async with box.transaction() as tx:  # NATS is down: the fast path leaves it
            await tx.add(_event(7))
        assert await _unpublished(pool) == 2  # the event and its public twin
        assert not relay.done()
        nats_own[0] = start_nats(Path(server.data_dir), port=server.port)
        while await _unpublished(pool):
            assert not relay.done(), relay
            assert time.monotonic() - began < CEILING_S, "the relay did not publish"
            await asyncio.sleep(0.1)
        assert await _stored(bus) == 1
        public = await bus.js.stream_info(bus.public_stream_name)
        assert public.state.messages == 1  # darkroom.public.asset.uploaded.v1, same transaction
    finally:
        stop.set()
        await relay
        await bus.close(drain_timeout=1)


def test_the_fault_switch_names_services_and_is_off_by_default() -> None:
    assert CommitFault.parse("", "thumbnail") is None
    assert CommitFault.parse("metadata:3", "thumbnail") is None
    fault = CommitFault.parse("metadata:3, thumbnail:5", "thumbnail")
    assert fault is not None and fault.after == 5
    every = CommitFault.parse("*:2", "face")
    assert every is not None and every.after == 2
    for bad in ("thumbnail", "thumbnail:x", ":3", "thumbnail:0"):
        with pytest.raises(ValueError):
            CommitFault.parse(bad, "thumbnail")


async def test_a_connection_lost_at_commit_is_a_database_outage(
    pool: asyncpg.Pool, nats_own: list[RunningServer], namespace: str
) -> None:
    """PostgreSQL ending the connection while the transaction commits (a server shutting down)
    surfaces as a connection error the services' outage handling knows (retried in place, 503
    to an upload), not asyncpg's InterfaceError "the underlying connection is closed"."""
    from darkroom_db import CONNECTION_ERRORS

    bus = await _bus(nats_own[0], namespace)
    try:
        box = Outbox(pool, bus)
        with pytest.raises(CONNECTION_ERRORS):
            async with box.transaction() as tx:
                await tx.add(_event(7))
                pid = await tx.conn.fetchval("SELECT pg_backend_pid()")
                await pool.execute("SELECT pg_terminate_backend($1)", pid)
                await asyncio.sleep(0.2)
        assert await pool.fetchval("SELECT count(*) FROM outbox") == 0  # nothing committed
    finally:
        await bus.close()
