"""The bus against a real nats-server: stream, publish, consume, retries, dead letters, scaling."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec
import nats.errors
import pytest
from darkroom_bus import Bus, DeadLetter, PermanentError, PublishError, Unavailable, subscribe
from darkroom_events.catalogue import AssetCreated, AssetFailed
from darkroom_events.registry import (
    DUPLICATE_WINDOW_S,
    MAX_AGE_S,
    STREAM_NAME,
    STREAM_SUBJECTS,
)
from darkroom_stack.servers import RunningServer
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from structlog.testing import capture_logs


def new_asset(asset_id: str | None = None) -> AssetCreated:
    """An AssetCreated event with a fresh asset id."""
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    return AssetCreated(
        asset_id=asset_id or str(uuid.uuid4()),
        owner_id="owner-1",
        type="IMAGE",
        original_key="upload/owner-1/ab/cd/x.jpg",
        original_file_name="x.jpg",
        mime_type="image/jpeg",
        checksum="0" * 40,
        file_size=1234,
        file_created_at=now,
        file_modified_at=now,
    )


async def wait_until(cond: Any, within: float = 10.0) -> None:
    """Poll ``cond()`` every 20 ms until true; fail the test after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not cond():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {within} s")
        await asyncio.sleep(0.02)


async def wait_until_async(get: Any, expected: Any, within: float = 5.0) -> None:
    """Poll the coroutine function ``get`` until it returns ``expected``."""
    deadline = time.monotonic() + within
    value = await get()
    while value != expected:
        if time.monotonic() > deadline:
            pytest.fail(f"expected {expected!r}, still {value!r} after {within} s")
        await asyncio.sleep(0.05)
        value = await get()


@dataclass
class Seen:
    """What handlers and hooks observed (the ``ctx`` of test handlers)."""

    deliveries: list[tuple[str, float]] = field(default_factory=list)  # (asset id, monotonic)
    events: list[AssetCreated] = field(default_factory=list)
    letters: list[DeadLetter] = field(default_factory=list)
    observed: list[tuple[str, bool]] = field(default_factory=list)

    def count(self, asset_id: str) -> int:
        return sum(1 for a, _ in self.deliveries if a == asset_id)

    async def dead_letter(self, letter: DeadLetter) -> None:
        self.letters.append(letter)

    def observe(self, handler: str, seconds: float, ok: bool) -> None:
        assert seconds >= 0
        self.observed.append((handler, ok))


async def consumer_state(bus: Bus, durable: str, subject: str) -> tuple[int, int, int]:
    """(num_ack_pending, num_pending, num_redelivered) of a handler's consumer."""
    info = await bus.js.consumer_info(bus.stream_name, f"{durable}_{subject.replace('.', '_')}")
    return info.num_ack_pending, info.num_pending, info.num_redelivered


async def settled(bus: Bus, durable: str, subject: str) -> None:
    """Wait until a handler's consumer has nothing pending nor unacknowledged: the ack of the
    last message may reach the server just after the handler's hooks ran."""

    async def pending() -> tuple[int, int]:
        return (await consumer_state(bus, durable, subject))[:2]

    await wait_until_async(pending, (0, 0), within=30.0)


async def test_ensure_stream_creates_the_registry_stream_idempotently(
    nats_server: RunningServer,
) -> None:
    async with await Bus.connect(nats_server.url, name="stream-test") as bus:
        assert bus.stream_name == STREAM_NAME
        first = await bus.ensure_stream()
        again = await bus.ensure_stream()
    for info in (first, again):
        cfg = info.config
        assert cfg.name == "DARKROOM"
        assert sorted(cfg.subjects or []) == sorted(STREAM_SUBJECTS)
        assert cfg.storage == StorageType.FILE
        assert cfg.retention == RetentionPolicy.LIMITS
        assert cfg.max_age == pytest.approx(MAX_AGE_S)
        assert cfg.duplicate_window == pytest.approx(DUPLICATE_WINDOW_S)


async def test_ensure_stream_updates_a_stream_with_other_settings(
    nats_server: RunningServer,
) -> None:
    ns = f"t{uuid.uuid4().hex[:10]}"
    async with await Bus.connect(nats_server.url, name="stream-test", namespace=ns) as bus:
        await bus.js.add_stream(
            StreamConfig(name=bus.stream_name, subjects=[f"{ns}.darkroom.asset.>"], max_age=60)
        )
        info = await bus.ensure_stream()
        try:
            assert info.config.max_age == pytest.approx(MAX_AGE_S)
            assert sorted(info.config.subjects or []) == sorted(
                f"{ns}.{s}" for s in STREAM_SUBJECTS
            )
            assert info.config.duplicate_window == pytest.approx(DUPLICATE_WINDOW_S)
        finally:
            await bus.js.delete_stream(bus.stream_name)


async def test_publish_without_stream_raises_publish_error(nats_server: RunningServer) -> None:
    ns = f"t{uuid.uuid4().hex[:10]}"
    async with await Bus.connect(nats_server.url, name="nostream", namespace=ns) as bus:
        with pytest.raises(PublishError, match="ensure_stream"):
            await bus.publish(new_asset())


async def test_publish_handle_ack(make_bus: Any, runners: Any) -> None:
    bus = await make_bus()
    seen = Seen()

    @subscribe(AssetCreated, durable="meta")
    async def extract(event: AssetCreated, ctx: Seen) -> None:
        ctx.events.append(event)

    event = new_asset()
    with capture_logs() as logs:
        ack = await bus.publish(event)
        assert ack.stream == bus.stream_name and ack.seq >= 1 and not ack.duplicate
        runners(bus, [extract], seen, metrics=seen)
        await wait_until(lambda: len(seen.observed) == 1)
    assert seen.events == [event]  # decoded into the typed event, equal field by field
    assert seen.observed == [("extract", True)]
    assert seen.letters == []
    done = [e for e in logs if e["event"] == "job.done"]
    assert len(done) == 1
    assert done[0]["asset_id"] == event.asset_id and done[0]["ms"] >= 0
    await wait_until_async(lambda: consumer_state(bus, "meta", AssetCreated.subject), (0, 0, 0))


async def test_transient_failure_is_redelivered_until_it_succeeds(
    make_bus: Any, runners: Any
) -> None:
    bus = await make_bus()
    seen = Seen()

    @subscribe(AssetCreated, durable="flaky", max_deliver=5, backoff=(0.1, 0.2))
    async def flaky(event: AssetCreated, ctx: Seen) -> None:
        ctx.deliveries.append((event.asset_id, time.monotonic()))
        if ctx.count(event.asset_id) < 3:
            raise ConnectionError("storage not reachable")

    event = new_asset()
    await bus.publish(event)
    runners(bus, [flaky], seen, metrics=seen, on_dead_letter=seen.dead_letter)
    await wait_until(lambda: len(seen.observed) == 3)
    await asyncio.sleep(0.5)  # nothing more comes
    assert seen.count(event.asset_id) == 3
    assert seen.observed == [("flaky", False), ("flaky", False), ("flaky", True)]
    assert seen.letters == []
    await settled(bus, "flaky", AssetCreated.subject)


async def test_a_server_outage_is_waited_out_in_place_without_using_up_attempts(
    make_bus: Any, runners: Any
) -> None:
    bus = await make_bus()
    seen = Seen()

    @subscribe(AssetCreated, durable="outage", max_deliver=1, backoff=(0.1,))
    async def needs_the_database(event: AssetCreated, ctx: Seen) -> None:
        ctx.deliveries.append((event.asset_id, time.monotonic()))
        if ctx.count(event.asset_id) < 3:
            raise Unavailable("database restarting")

    event = new_asset()
    await bus.publish(event)
    with capture_logs() as logs:
        runners(bus, [needs_the_database], seen, metrics=seen, on_dead_letter=seen.dead_letter)
        await wait_until(lambda: len(seen.observed) == 1)
    # max_deliver=1, yet three runs and no dead letter: the outage did not count as attempts,
    # and the message was never handed back (one delivery, then one ack).
    assert seen.count(event.asset_id) == 3
    assert seen.observed == [("needs_the_database", True)]
    assert seen.letters == []
    waits = [e for e in logs if e["event"] == "job.waiting_for_server"]
    assert [w["retry_in_s"] for w in waits] == [1.0, 2.0]
    done = [e for e in logs if e["event"] == "job.done"]
    assert [d["deliveries"] for d in done] == [1]
    await settled(bus, "outage", AssetCreated.subject)


async def test_an_outage_longer_than_the_patience_takes_the_usual_path(
    make_bus: Any, runners: Any
) -> None:
    bus = await make_bus()
    seen = Seen()

    @subscribe(AssetCreated, durable="longoutage", max_deliver=1, backoff=(0.1,))
    async def never_reaches_it(event: AssetCreated, ctx: Seen) -> None:
        ctx.deliveries.append((event.asset_id, time.monotonic()))
        raise Unavailable("database gone for good")

    await bus.publish(new_asset())
    runners(bus, [never_reaches_it], seen, on_dead_letter=seen.dead_letter, outage_patience=0.5)
    await wait_until(lambda: len(seen.letters) == 1)
    assert len(seen.deliveries) == 2  # the first run, one retry in place, then the dead letter
    assert seen.letters[0].error == "Unavailable: database gone for good"


async def test_backoff_delay_is_honoured(make_bus: Any, runners: Any) -> None:
    bus = await make_bus()
    seen = Seen()

    @subscribe(AssetCreated, durable="slowretry", max_deliver=3, backoff=(0.7,), ack_wait=30)
    async def once_failing(event: AssetCreated, ctx: Seen) -> None:
        ctx.deliveries.append((event.asset_id, time.monotonic()))
        if ctx.count(event.asset_id) == 1:
            raise TimeoutError("db busy")

    await bus.publish(new_asset())
    runners(bus, [once_failing], seen)
    await wait_until(lambda: len(seen.deliveries) == 2)
    gap = seen.deliveries[1][1] - seen.deliveries[0][1]
    # No sooner than the backoff, and well before ack_wait (30 s) would have redelivered it.
    assert 0.7 <= gap < 5.0


async def test_retries_exhausted_go_to_dead_letter_once(make_bus: Any, runners: Any) -> None:
    bus = await make_bus()
    seen = Seen()

    @subscribe(AssetCreated, durable="doomed", max_deliver=3, backoff=(0.1,))
    async def always_failing(event: AssetCreated, ctx: Seen) -> None:
        ctx.deliveries.append((event.asset_id, time.monotonic()))
        raise RuntimeError("model server down")

    event = new_asset()
    ack = await bus.publish(event)
    runners(bus, [always_failing], seen, on_dead_letter=seen.dead_letter)
    await wait_until(lambda: len(seen.letters) == 1)
    await asyncio.sleep(0.8)  # several backoffs: it must not come back
    assert seen.count(event.asset_id) == 3
    assert len(seen.letters) == 1
    letter = seen.letters[0]
    assert letter.permanent is False
    assert letter.deliveries == 3
    assert letter.asset_id == event.asset_id and letter.owner_id == "owner-1"
    assert letter.durable == "doomed" and letter.subject == AssetCreated.subject
    assert letter.stream_seq == ack.seq
    assert letter.error == "RuntimeError: model server down"
    assert msgspec.json.decode(letter.payload, type=AssetCreated) == event
    await settled(bus, "doomed", AssetCreated.subject)
    # The bus also published the failure for the asset (ARCHITECTURE: AssetFailed).
    raw = await bus.js.get_last_msg(bus.stream_name, bus.subject(AssetFailed.subject))
    failed = msgspec.json.decode(raw.data, type=AssetFailed)
    assert (failed.asset_id, failed.step, failed.permanent) == (event.asset_id, "doomed", False)


async def test_permanent_error_dead_letters_on_first_delivery(make_bus: Any, runners: Any) -> None:
    bus = await make_bus()
    seen = Seen()

    @subscribe(AssetCreated, durable="strict", max_deliver=5, backoff=(0.1,))
    async def corrupt(event: AssetCreated, ctx: Seen) -> None:
        ctx.deliveries.append((event.asset_id, time.monotonic()))
        raise PermanentError("not a JPEG: truncated header")

    event = new_asset()
    runners(bus, [corrupt], seen, on_dead_letter=seen.dead_letter)
    await bus.publish(event)
    await wait_until(lambda: len(seen.letters) == 1)
    await asyncio.sleep(0.5)
    assert seen.count(event.asset_id) == 1
    assert seen.letters[0].permanent is True and seen.letters[0].deliveries == 1
    assert seen.letters[0].error == "PermanentError: not a JPEG: truncated header"
    await settled(bus, "strict", AssetCreated.subject)


async def test_undecodable_payload_is_dead_lettered_without_running_the_handler(
    make_bus: Any, runners: Any
) -> None:
    bus = await make_bus()
    seen = Seen()

    @subscribe(AssetCreated, durable="picky", backoff=(0.1,))
    async def handler(event: AssetCreated, ctx: Seen) -> None:
        ctx.deliveries.append((event.asset_id, time.monotonic()))

    bad = b'{"asset_id": "a-broken", "owner_id": "o-9"}'  # required fields missing
    await bus.js.publish(bus.subject(AssetCreated.subject), bad)
    runners(bus, [handler], seen, on_dead_letter=seen.dead_letter)
    await wait_until(lambda: len(seen.letters) == 1)
    letter = seen.letters[0]
    assert letter.permanent is True and letter.payload == bad
    assert letter.asset_id == "a-broken" and letter.owner_id == "o-9"
    assert "undecodable AssetCreated" in letter.error
    assert seen.deliveries == []


async def test_failing_dead_letter_hook_does_not_lose_the_message(
    make_bus: Any, runners: Any
) -> None:
    bus = await make_bus()
    seen = Seen()
    hook_calls: list[int] = []

    @subscribe(AssetCreated, durable="hookfail", max_deliver=2, backoff=(0.1,))
    async def failing(event: AssetCreated, ctx: Seen) -> None:
        ctx.deliveries.append((event.asset_id, time.monotonic()))
        raise OSError("disk full")

    async def flaky_hook(letter: DeadLetter) -> None:
        hook_calls.append(letter.deliveries)
        if len(hook_calls) == 1:
            raise ConnectionError("job_failures table unreachable")
        seen.letters.append(letter)

    event = new_asset()
    await bus.publish(event)
    runners(bus, [failing], seen, on_dead_letter=flaky_hook)
    await wait_until(lambda: len(seen.letters) == 1)
    await asyncio.sleep(0.5)
    # Attempt 2 exhausted the retries; the hook failed, so the message came back (delivery 3)
    # and was dead-lettered without running the handler a third time.
    assert hook_calls == [2, 3]
    assert seen.count(event.asset_id) == 2
    assert seen.letters[0].deliveries == 3 and seen.letters[0].permanent is False
    assert "without settling (max_deliver 2)" in seen.letters[0].error
    await settled(bus, "hookfail", AssetCreated.subject)


async def test_same_event_twice_in_window_is_stored_and_delivered_once(
    make_bus: Any, runners: Any
) -> None:
    bus = await make_bus()
    seen = Seen()

    @subscribe(AssetCreated, durable="dedupe")
    async def handler(event: AssetCreated, ctx: Seen) -> None:
        ctx.deliveries.append((event.asset_id, time.monotonic()))

    event = new_asset()
    first = await bus.publish(event)
    second = await bus.publish(event)
    assert not first.duplicate
    assert second.duplicate is True and second.seq == first.seq
    other = await bus.publish(new_asset())
    assert not other.duplicate and other.seq == first.seq + 1
    runners(bus, [handler], seen)
    await wait_until(lambda: len(seen.deliveries) == 2)
    await asyncio.sleep(0.3)
    assert seen.count(event.asset_id) == 1 and len(seen.deliveries) == 2


async def test_two_replicas_share_one_durable_and_handle_each_message_once(
    make_bus: Any, runners: Any
) -> None:
    replica_a, replica_b = await make_bus("replica-a"), await make_bus("replica-b")
    handled: list[tuple[str, str]] = []  # (replica, asset id)

    @subscribe(AssetCreated, durable="scaled", max_ack_pending=64, concurrency=4)
    async def work(event: AssetCreated, ctx: str) -> None:
        await asyncio.sleep(0.01)  # a job takes a moment, so both replicas pull
        handled.append((ctx, event.asset_id))

    ids = [str(uuid.uuid4()) for _ in range(200)]
    runners(replica_a, [work], "a")
    runners(replica_b, [work], "b")
    for asset_id in ids:
        await replica_a.publish(new_asset(asset_id))
    await wait_until(lambda: len(handled) >= 200, within=20)
    await asyncio.sleep(0.5)  # any duplicate delivery would show up now
    assert len(handled) == 200
    assert sorted(a for _, a in handled) == sorted(ids)  # each exactly once
    per_replica = Counter(r for r, _ in handled)
    assert per_replica["a"] > 0 and per_replica["b"] > 0
    assert await consumer_state(replica_a, "scaled", AssetCreated.subject) == (0, 0, 0)


async def test_message_in_flight_when_stopped_goes_to_the_next_replica(
    make_bus: Any, runners: Any
) -> None:
    first, second = await make_bus("first"), await make_bus("second")
    started = asyncio.Event()
    finished: list[tuple[str, int]] = []

    @subscribe(AssetCreated, durable="handover", ack_wait=30)
    async def job(event: AssetCreated, ctx: str) -> None:
        if ctx == "first":
            started.set()
            await asyncio.Event().wait()  # never finishes on its own
        finished.append((ctx, event.version))

    event = new_asset()
    await first.publish(event)
    task, stop = runners(first, [job], "first", drain_timeout=0.2)
    await asyncio.wait_for(started.wait(), 5)
    stop.set()
    await asyncio.wait_for(task, 5)  # the runner returns after the drain timeout
    t0 = time.monotonic()
    runners(second, [job], "second")
    await wait_until(lambda: len(finished) == 1)
    # nak-ed on stop, so it comes back at once rather than after ack_wait (30 s).
    assert time.monotonic() - t0 < 5
    assert finished == [("second", 1)]
    await settled(second, "handover", AssetCreated.subject)


async def test_cancelling_the_runner_hands_in_flight_messages_back(
    make_bus: Any, runners: Any
) -> None:
    first, second = await make_bus("first"), await make_bus("second")
    started = asyncio.Event()
    finished: list[str] = []

    @subscribe(AssetCreated, durable="cancelled", ack_wait=30)
    async def job(event: AssetCreated, ctx: str) -> None:
        if ctx == "first":
            started.set()
            await asyncio.Event().wait()
        finished.append(ctx)

    await first.publish(new_asset())
    task = asyncio.create_task(first.run([job], "first", fetch_timeout=0.25))
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    runners(second, [job], "second")
    await wait_until(lambda: finished == ["second"], within=5)  # long before ack_wait


async def test_stop_lets_running_handlers_finish_and_ack(make_bus: Any, runners: Any) -> None:
    bus = await make_bus()
    started = asyncio.Event()
    finished: list[str] = []

    @subscribe(AssetCreated, durable="graceful", ack_wait=30)
    async def job(event: AssetCreated, ctx: None) -> None:
        started.set()
        await asyncio.sleep(0.5)
        finished.append(event.asset_id)

    event = new_asset()
    await bus.publish(event)
    task, stop = runners(bus, [job], drain_timeout=5)
    await asyncio.wait_for(started.wait(), 5)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert finished == [event.asset_id]
    assert await consumer_state(bus, "graceful", AssetCreated.subject) == (0, 0, 0)


async def test_message_of_a_crashed_replica_is_redelivered_after_ack_wait(
    make_bus: Any, runners: Any
) -> None:
    first, second = await make_bus("crashing"), await make_bus("survivor")
    started = asyncio.Event()
    done: list[str] = []

    @subscribe(AssetCreated, durable="crash", ack_wait=1.0)
    async def job(event: AssetCreated, ctx: str) -> None:
        if ctx == "crashing":
            started.set()
            await asyncio.Event().wait()
        done.append(event.asset_id)

    event = new_asset()
    await first.publish(event)
    task = asyncio.create_task(first.run([job], "crashing", fetch_timeout=0.25))
    await asyncio.wait_for(started.wait(), 5)
    await first.nc.close()  # the process "dies": no ack, no nak, no heartbeat any more
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, nats.errors.ConnectionClosedError):
        await task
    runners(second, [job], "survivor")
    await wait_until(lambda: done == [event.asset_id], within=10)


async def test_heartbeats_keep_a_slow_job_from_being_redelivered(
    make_bus: Any, runners: Any
) -> None:
    bus = await make_bus()
    seen = Seen()

    @subscribe(AssetCreated, durable="slow", ack_wait=0.6)
    async def slow(event: AssetCreated, ctx: Seen) -> None:
        ctx.deliveries.append((event.asset_id, time.monotonic()))
        await asyncio.sleep(1.8)  # three times ack_wait
        ctx.observed.append(("slow", True))

    await bus.publish(new_asset())
    runners(bus, [slow], seen)
    await wait_until(lambda: len(seen.observed) == 1)
    await asyncio.sleep(0.3)
    assert len(seen.deliveries) == 1
    assert await consumer_state(bus, "slow", AssetCreated.subject) == (0, 0, 0)


async def test_trace_context_flows_from_publisher_to_handler(make_bus: Any, runners: Any) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    bus = await make_bus(tracer_provider=provider)
    inside: list[int] = []

    @subscribe(AssetCreated, durable="traced")
    async def traced_handler(event: AssetCreated, ctx: None) -> None:
        inside.append(trace.get_current_span().get_span_context().trace_id)

    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("upload") as span:
        trace_id = span.get_span_context().trace_id
        await bus.publish(new_asset())
    runners(bus, [traced_handler])
    await wait_until(lambda: len(inside) == 1)
    assert trace_id != 0 and inside == [trace_id]
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert spans["traced_handler"].context.trace_id == trace_id
    assert spans["traced_handler"].kind == trace.SpanKind.CONSUMER
    assert spans["traced_handler"].parent is not None
    assert (
        spans["traced_handler"].parent.span_id
        == spans[f"publish {AssetCreated.subject}"].context.span_id
    )


async def test_run_rejects_two_handlers_on_one_consumer(make_bus: Any) -> None:
    bus = await make_bus()

    @subscribe(AssetCreated, durable="same")
    async def one(event: AssetCreated, ctx: None) -> None: ...

    @subscribe(AssetCreated, durable="same")
    async def two(event: AssetCreated, ctx: None) -> None: ...

    with pytest.raises(ValueError, match="share a consumer"):
        await bus.run([one, two], None)
