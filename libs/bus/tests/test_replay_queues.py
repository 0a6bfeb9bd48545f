"""Re-runs and queue control on a real nats-server (docs/events.md "Re-runs").

A re-run published on one consumer's re-run subject reaches that consumer only; a new run id
gets past the duplicate window; pause holds delivery (the lag grows) and survives the consumer
being provisioned again; resume drains; empty skips what waits without touching another
consumer; the concurrency hook changes a running consumer's in-flight limit.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from darkroom_bus import Bus, subscribe
from darkroom_bus import queues as bus_queues
from darkroom_bus.handlers import HandlerSpec, handler_spec
from darkroom_events import AssetCreated
from nats.js.api import AckPolicy, ConsumerConfig


def _created(asset_id: str) -> AssetCreated:
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    return AssetCreated(
        asset_id=asset_id,
        owner_id="owner-1",
        type="IMAGE",
        original_key="upload/owner-1/x.jpg",
        original_file_name="x.jpg",
        mime_type="image/jpeg",
        checksum="0" * 40,
        file_size=1,
        file_created_at=now,
        file_modified_at=now,
    )


async def _until(check, what: str, ceiling_s: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + ceiling_s
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def _handlers(seen: Counter[str]) -> tuple[Any, Any]:
    @subscribe(AssetCreated, durable="alpha", backoff=())
    async def alpha(event: AssetCreated, ctx: object) -> None:
        seen[f"alpha:{event.asset_id}"] += 1

    @subscribe(AssetCreated, durable="beta", backoff=())
    async def beta(event: AssetCreated, ctx: object) -> None:
        seen[f"beta:{event.asset_id}"] += 1

    return alpha, beta


async def test_a_rerun_reaches_only_the_asked_consumer(make_bus, runners) -> None:  # type: ignore[no-untyped-def]
    bus: Bus = await make_bus()
    seen: Counter[str] = Counter()
    alpha, beta = _handlers(seen)
    runners(bus, [alpha, beta])
    event = _created("a1")
    await bus.publish(event)

    async def both() -> bool:
        return seen["alpha:a1"] == 1 and seen["beta:a1"] == 1

    await _until(both, "the original at both consumers")
    target = handler_spec(alpha).replay_subject
    assert target.startswith("darkroom.job.") and target.endswith(".run")
    for run in ("r1", "r1", "r2"):  # r1 twice: de-duplicated; r2: a second run
        await bus.publish(event, subject=target, msg_id=f"{target}:a1:{run}")

    async def rerun_twice() -> bool:
        return seen["alpha:a1"] == 3

    await _until(rerun_twice, "two re-runs at alpha")
    await asyncio.sleep(0.5)  # beta would have had them by now
    assert seen == Counter({"alpha:a1": 3, "beta:a1": 1})


async def test_pause_resume_and_empty(make_bus, runners) -> None:  # type: ignore[no-untyped-def]
    bus: Bus = await make_bus()
    seen: Counter[str] = Counter()
    alpha, beta = _handlers(seen)
    task, stop = runners(bus, [alpha, beta])
    name = handler_spec(alpha).consumer_name

    async def provisioned() -> bool:
        return (await bus_queues.state(bus, name)).exists

    await _until(provisioned, "the consumer")
    await bus_queues.pause(bus, name)
    for i in range(3):
        await bus.publish(_created(f"p{i}"))

    async def lag() -> bool:
        state = await bus_queues.state(bus, name)
        return state.paused and state.waiting == 3

    await _until(lag, "the paused consumer's lag")
    assert not any(k.startswith("alpha:") for k in seen)

    # a service restarting (provisioning its consumer again) keeps the pause
    stop.set()
    await task
    runners(bus, [alpha, beta])
    await asyncio.sleep(0.5)
    assert (await bus_queues.state(bus, name)).paused
    assert not any(k.startswith("alpha:") for k in seen)

    await bus_queues.resume(bus, name)

    async def drained() -> bool:
        return sum(v for k, v in seen.items() if k.startswith("alpha:")) == 3

    await _until(drained, "the resumed consumer to drain")

    await bus_queues.pause(bus, name)
    await bus.publish(_created("e1"))
    await _until(lambda: _waiting(bus, name, 1), "a waiting message")
    assert await bus_queues.empty(bus, name) == 1
    state = await bus_queues.state(bus, name)
    assert state.paused and state.waiting == 0
    await bus_queues.resume(bus, name)
    await bus.publish(_created("e2"))

    async def after_empty() -> bool:
        return seen["alpha:e2"] == 1 and seen["beta:e1"] == 1 and seen["beta:e2"] == 1

    await _until(after_empty, "new messages after empty; beta untouched")
    assert seen["alpha:e1"] == 0


async def _waiting(bus: Bus, name: str, count: int) -> bool:
    return (await bus_queues.state(bus, name)).waiting == count


async def test_the_concurrency_hook_applies_while_running(make_bus, runners) -> None:  # type: ignore[no-untyped-def]
    bus: Bus = await make_bus()
    limit = {"value": 1}
    running = {"now": 0, "max": 0}
    release = asyncio.Event()

    @subscribe(AssetCreated, durable="slow", backoff=(), concurrency=8, max_ack_pending=2)
    async def slow(event: AssetCreated, ctx: object) -> None:
        running["now"] += 1
        running["max"] = max(running["max"], running["now"])
        try:
            await release.wait()
        finally:
            running["now"] -= 1

    def hook(spec: HandlerSpec[Any, Any]) -> int | None:
        return limit["value"]

    runners(bus, [slow], concurrency=hook)
    for i in range(6):
        await bus.publish(_created(f"c{i}"))

    async def one() -> bool:
        return running["now"] == 1

    await _until(one, "one job in flight")
    await asyncio.sleep(0.5)
    assert running["max"] == 1
    limit["value"] = 4  # above max_ack_pending: the consumer's limit is raised too

    async def four() -> bool:
        return running["now"] == 4

    await _until(four, "four jobs in flight")
    info = await bus.js.consumer_info(bus.stream_name, handler_spec(slow).consumer_name)
    assert info.config.max_ack_pending == 4
    release.set()


async def test_a_consumer_made_before_re_runs_is_updated_in_place(make_bus, runners) -> None:  # type: ignore[no-untyped-def]
    bus: Bus = await make_bus()
    seen: Counter[str] = Counter()
    alpha, _ = _handlers(seen)
    spec = handler_spec(alpha)
    old = ConsumerConfig(  # as Darkroom created it before: one filter subject
        name=spec.consumer_name,
        durable_name=spec.consumer_name,
        filter_subject=bus.subject(spec.subject),
        ack_policy=AckPolicy.EXPLICIT,
        max_deliver=-1,
    )
    await bus.js.add_consumer(bus.stream_name, config=old)
    await bus.publish(_created("u1"))  # waiting in the old consumer: kept
    runners(bus, [alpha])
    await bus.publish(_created("u1"), subject=spec.replay_subject, msg_id="rerun:u1:1")

    async def both() -> bool:
        return seen["alpha:u1"] == 2

    await _until(both, "the kept message and the re-run")
    info = await bus.js.consumer_info(bus.stream_name, spec.consumer_name)
    assert sorted(info.config.filter_subjects or []) == sorted(
        [bus.subject(spec.subject), bus.subject(spec.replay_subject)]
    )
