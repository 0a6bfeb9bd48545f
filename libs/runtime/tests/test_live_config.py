"""Live config: every replica (its own NATS connection and pool) reloads on
``darkroom.config.updated`` — a per-process watch, not a durable consumer whose messages the
replicas would share (real NATS and PostgreSQL)."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

import msgspec
import pytest
from darkroom_bus import Bus
from darkroom_db import create_pool, migrate, system_config
from darkroom_db.system_config import ConfigSource, SystemConfigDto
from darkroom_events import ConfigUpdated
from darkroom_runtime import LiveConfig
from darkroom_stack.testing import fresh_database


@pytest.fixture(scope="module")
def db_url(postgres_server) -> str:
    url = fresh_database(postgres_server, "live")
    migrate(url)
    return url


async def _until(predicate, ceiling_s: float = 120.0) -> None:
    """Poll ``predicate`` until true (a generous ceiling for a busy machine)."""
    deadline = time.monotonic() + ceiling_s
    while not predicate():
        assert time.monotonic() < deadline, "not reached in time"
        await asyncio.sleep(0.05)


async def test_every_replica_reloads_on_the_event(db_url, nats_server) -> None:
    namespace = f"t{uuid.uuid4().hex[:10]}"
    source = ConfigSource()
    buses = [
        await Bus.connect(nats_server.url, name=f"thumbnail-{i}", namespace=namespace)
        for i in range(3)
    ]
    pools = [await create_pool(db_url) for _ in range(3)]
    try:
        await buses[0].ensure_stream()
        replicas = [LiveConfig(pools[i], source) for i in range(2)]
        for replica, bus in zip(replicas, buses[:2], strict=True):
            await replica.start(bus)
        assert [r.current.image.thumbnail.size for r in replicas] == [250, 250]

        tree = msgspec.to_builtins(system_config.defaults(source))
        tree["image"]["thumbnail"]["size"] = 123
        changed = await system_config.save(pools[2], msgspec.convert(tree, SystemConfigDto), source)
        assert changed == ["image"]
        # the gateway's publish, from a third connection
        await buses[2].publish(ConfigUpdated(sections=changed, at=datetime.now(UTC)))

        await _until(lambda: all(r.current.image.thumbnail.size == 123 for r in replicas))
        assert all(r.loads == 2 for r in replicas)
    finally:
        await buses[0].js.delete_stream(buses[0].stream_name)
        for bus in buses:
            await bus.close(drain_timeout=2)
        for pool in pools:
            await pool.close()
