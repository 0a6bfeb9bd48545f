"""darkroom_storage.blocking.iterate_in_thread: a blocking generator stepped from async code."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Generator
from pathlib import Path

import pytest
from darkroom_storage import FilesystemStorage
from darkroom_storage.blocking import iterate_in_thread

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


async def test_items_in_order_with_the_callers_context_vars() -> None:
    def numbers() -> Generator[tuple[int, str], None, None]:
        for n in range(3):
            yield n, request_id.get()

    request_id.set("r1")
    assert [x async for x in iterate_in_thread(numbers())] == [(0, "r1"), (1, "r1"), (2, "r1")]


async def test_a_steps_error_reaches_the_caller() -> None:
    def failing() -> Generator[int, None, None]:
        yield 1
        raise OSError("disk gone")

    seen = []
    with pytest.raises(OSError, match="disk gone"):
        async for x in iterate_in_thread(failing()):
            seen.append(x)
    assert seen == [1]


async def test_cancelled_mid_step_raises_cancelled_and_closes_after_the_step() -> None:
    """The nightly integrity check cancelled at the gateway's shutdown while the walk's thread
    was inside a step: closing the generator from the event loop raised "generator already
    executing" instead of the cancellation."""
    in_step, release, closed = threading.Event(), threading.Event(), threading.Event()
    steps_done = []

    def walk() -> Generator[int, None, None]:
        try:
            yield 1
            in_step.set()
            release.wait()
            steps_done.append(2)
            yield 2
        finally:
            closed.set()

    async def consume() -> list[int]:
        return [x async for x in iterate_in_thread(walk())]

    task = asyncio.create_task(consume())
    try:
        # until the second step is running in the thread
        assert await asyncio.to_thread(in_step.wait, 120)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not closed.is_set()  # the close waits behind the running step...
    finally:
        release.set()
    assert await asyncio.to_thread(closed.wait, 120)  # ...and runs once it has finished
    assert steps_done == [2]


async def test_filesystem_listing_cancelled_mid_walk(tmp_path: Path) -> None:
    storage = FilesystemStorage(tmp_path)
    for n in range(5):
        await storage.put(f"upload/u/{n:02d}.jpg", b"x")
    task = asyncio.create_task(_keys(storage))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sorted(await _keys(storage)) == [f"upload/u/{n:02d}.jpg" for n in range(5)]


async def _keys(storage: FilesystemStorage) -> list[str]:
    return [info.key async for info in storage.list_objects("upload/")]
