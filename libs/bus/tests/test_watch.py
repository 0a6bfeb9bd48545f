"""Bus.watch against a real nats-server: every replica sees every new event (fan-out)."""

from __future__ import annotations

import asyncio
import time
import uuid

from darkroom_events.catalogue import AssetDeleted, AssetFailed, Event

from .conftest import BusFactory


async def _until(predicate: object, ceiling: float = 60.0) -> None:
    """Poll ``predicate()`` until true, up to a generous ceiling (a loaded CI machine)."""
    deadline = time.monotonic() + ceiling
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_every_watcher_gets_every_new_event_and_nothing_older(make_bus: BusFactory) -> None:
    publisher = await make_bus("publisher")
    old = AssetDeleted(asset_id=str(uuid.uuid4()), owner_id="u1")
    await publisher.publish(old)

    seen: dict[str, list[Event]] = {"a": [], "b": []}
    for name in seen:
        replica = await make_bus(f"gateway-{name}")

        async def record(event: Event, name: str = name) -> None:
            seen[name].append(event)

        await replica.watch([AssetDeleted, AssetFailed], record)

    new = [AssetDeleted(asset_id=str(uuid.uuid4()), owner_id="u1") for _ in range(3)]
    failed = AssetFailed(asset_id=str(uuid.uuid4()), step="thumbnail", reason="corrupt")
    for event in new:
        await publisher.publish(event)
    await publisher.publish(failed)

    await _until(lambda: all(len(events) == 4 for events in seen.values()))
    for events in seen.values():
        deleted = [e for e in events if isinstance(e, AssetDeleted)]
        assert deleted == new  # in stream order, the one published before watching left out
        assert [e for e in events if isinstance(e, AssetFailed)] == [failed]


async def test_a_failing_handler_does_not_end_the_watch(make_bus: BusFactory) -> None:
    bus = await make_bus()
    got: list[str] = []

    async def flaky(event: Event) -> None:
        assert isinstance(event, AssetDeleted)
        if not got:
            got.append("boom")
            raise RuntimeError("first one fails")
        got.append(event.asset_id)

    await bus.watch([AssetDeleted], flaky)
    first, second = (AssetDeleted(asset_id=str(uuid.uuid4()), owner_id="u") for _ in range(2))
    await bus.publish(first)
    await bus.publish(second)
    await _until(lambda: len(got) == 2)
    assert got == ["boom", second.asset_id]
