"""Fixtures for the bus tests: buses on the real nats-server, each test in its own namespace.

A namespace gives every test its own stream (``DARKROOM_<ns>``) and subjects (``<ns>.darkroom...``)
on the session's nats-server, so durables, redeliveries and dead letters of one test never reach
another.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from darkroom_bus import Bus
from darkroom_stack.servers import RunningServer

BusFactory = Callable[..., Awaitable[Bus]]


@pytest.fixture
async def make_bus(nats_server: RunningServer) -> AsyncIterator[BusFactory]:
    """Connect buses (replicas) in one namespace unique to the test; the stream is ensured."""
    namespace = f"t{uuid.uuid4().hex[:10]}"
    buses: list[Bus] = []

    async def make(name: str = "test", **kwargs: Any) -> Bus:
        bus = await Bus.connect(nats_server.url, name=name, namespace=namespace, **kwargs)
        buses.append(bus)
        await bus.ensure_stream()
        return bus

    yield make
    if buses:
        with contextlib.suppress(Exception):
            await buses[0].js.delete_stream(buses[0].stream_name)
    for bus in buses:
        await bus.close(drain_timeout=2)


@pytest.fixture
async def runners() -> AsyncIterator[Callable[..., tuple[asyncio.Task[None], asyncio.Event]]]:
    """Start ``bus.run(...)`` as a task; returns (task, stop). All are stopped at teardown."""
    started: list[tuple[asyncio.Task[None], asyncio.Event]] = []

    def start(bus: Bus, handlers: list[Any], ctx: Any = None, **kwargs: Any):
        stop = asyncio.Event()
        kwargs.setdefault("fetch_timeout", 0.25)
        kwargs.setdefault("drain_timeout", 2.0)
        task = asyncio.create_task(bus.run(handlers, ctx, stop=stop, **kwargs))
        started.append((task, stop))
        return task, stop

    yield start
    for _, stop in started:
        stop.set()
    errors = []
    for task, _ in started:
        try:
            await asyncio.wait_for(task, 10)
        except asyncio.CancelledError:
            pass
        except Exception as exc:  # a runner that died must fail the test
            errors.append(exc)
    assert not errors, f"a runner failed: {errors!r}"
