"""Request/reply over NATS core against a real nats-server: round trip, errors, queue groups."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import msgspec
import pytest
from darkroom_bus import (
    RPC_ERROR_HEADER,
    Bus,
    RpcError,
    RpcRetryLater,
    RpcTimeout,
    RpcTransient,
    RpcUnavailable,
    Unavailable,
)
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

SUBJECT = "darkroom.rpc.test.add"


class AddRequest(msgspec.Struct, frozen=True, kw_only=True):
    a: int
    b: int
    sleep_s: float = 0.0


class AddReply(msgspec.Struct, frozen=True, kw_only=True):
    total: int
    served_by: str
    trace_id: int = 0


def adder(name: str) -> Any:
    """A serving handler that adds, names its replica and reports the trace id it runs in."""

    async def add(req: AddRequest) -> AddReply:
        if req.a < 0:
            raise ValueError("negative numbers are not supported")
        await asyncio.sleep(req.sleep_s)
        trace_id = trace.get_current_span().get_span_context().trace_id
        return AddReply(total=req.a + req.b, served_by=name, trace_id=trace_id)

    return add


async def test_request_reply_round_trip_carries_the_trace(make_bus: Any) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    server = await make_bus("server", tracer_provider=provider)
    client = await make_bus("client", tracer_provider=provider)
    await server.serve(SUBJECT, adder("s1"), AddRequest, queue="adder")

    with provider.get_tracer("test").start_as_current_span("http request") as span:
        reply = await client.request(SUBJECT, AddRequest(a=2, b=40), AddReply, timeout=5)
        trace_id = span.get_span_context().trace_id
    assert (reply.total, reply.served_by) == (42, "s1")
    assert trace_id != 0 and reply.trace_id == trace_id
    names = {s.name for s in exporter.get_finished_spans()}
    assert {f"request {SUBJECT}", f"serve {SUBJECT}"} <= names


async def test_handler_error_is_raised_by_the_caller(make_bus: Any) -> None:
    server, client = await make_bus("server"), await make_bus("client")
    await server.serve(SUBJECT, adder("s1"), AddRequest, queue="adder")

    with pytest.raises(RpcError, match="negative numbers are not supported") as info:
        await client.request(SUBJECT, AddRequest(a=-1, b=1), AddReply, timeout=5)
    assert info.value.remote_type == "ValueError" and info.value.subject == SUBJECT

    # A raw request that is not an AddRequest is answered with an error reply, not dropped.
    raw = await client.nc.request(client.subject(SUBJECT), b'{"a": "x"}', timeout=5)
    assert raw.headers is not None and raw.headers[RPC_ERROR_HEADER] == "BadRequest"

    # The server keeps serving after errors.
    reply = await client.request(SUBJECT, AddRequest(a=1, b=1), AddReply, timeout=5)
    assert reply.total == 2


async def test_handler_unavailable_is_a_transient_error_for_the_caller(make_bus: Any) -> None:
    """A handler whose database is down raises Unavailable; the caller gets RpcRetryLater (a
    RpcTransient, like no responder and timeout), so it can answer "try again later"."""
    server, client = await make_bus("server"), await make_bus("client")

    async def database_down(req: AddRequest) -> AddReply:
        raise Unavailable("the database is unreachable")

    await server.serve(SUBJECT, database_down, AddRequest, queue="adder")
    with pytest.raises(RpcRetryLater, match="the database is unreachable") as info:
        await client.request(SUBJECT, AddRequest(a=1, b=2), AddReply, timeout=5)
    assert isinstance(info.value, RpcTransient) and info.value.remote_type == "Unavailable"
    assert issubclass(RpcTimeout, RpcTransient) and issubclass(RpcUnavailable, RpcTransient)


async def test_no_responder_and_timeout_are_distinct_errors(make_bus: Any) -> None:
    server, client = await make_bus("server"), await make_bus("client")
    with pytest.raises(RpcUnavailable, match="nobody serves"):
        await client.request(SUBJECT, AddRequest(a=1, b=2), AddReply, timeout=5)

    await server.serve(SUBJECT, adder("s1"), AddRequest, queue="adder")
    with pytest.raises(RpcTimeout):
        await client.request(SUBJECT, AddRequest(a=1, b=2, sleep_s=1.0), AddReply, timeout=0.3)
    assert issubclass(RpcTimeout, RpcError) and issubclass(RpcUnavailable, RpcError)


async def test_reply_of_the_wrong_type_is_an_rpc_error(make_bus: Any) -> None:
    server, client = await make_bus("server"), await make_bus("client")

    class Other(msgspec.Struct):
        unrelated: str

    async def wrong(req: AddRequest) -> Other:
        return Other(unrelated="x")

    await server.serve(SUBJECT, wrong, AddRequest, queue="adder")
    with pytest.raises(RpcError, match="reply is not a AddReply"):
        await client.request(SUBJECT, AddRequest(a=1, b=2), AddReply, timeout=5)


async def test_replicas_in_one_queue_group_share_requests(make_bus: Any) -> None:
    one, two, client = await make_bus("one"), await make_bus("two"), await make_bus("client")
    await one.serve(SUBJECT, adder("one"), AddRequest, queue="adder")
    await two.serve(SUBJECT, adder("two"), AddRequest, queue="adder")

    replies = await asyncio.gather(
        *(
            client.request(SUBJECT, AddRequest(a=i, b=1, sleep_s=0.01), AddReply, timeout=5)
            for i in range(60)
        )
    )
    assert [r.total for r in replies] == [i + 1 for i in range(60)]  # each answered once
    served = Counter(r.served_by for r in replies)
    assert served["one"] > 0 and served["two"] > 0 and sum(served.values()) == 60


async def test_requests_are_served_concurrently(make_bus: Any) -> None:
    server, client = await make_bus("server"), await make_bus("client")
    await server.serve(SUBJECT, adder("s"), AddRequest, queue="adder", concurrency=8)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    await asyncio.gather(
        *(
            client.request(SUBJECT, AddRequest(a=i, b=0, sleep_s=0.3), AddReply, timeout=5)
            for i in range(8)
        )
    )
    assert loop.time() - t0 < 1.2  # eight 0.3 s requests one after another would take 2.4 s


async def test_close_stops_serving(make_bus: Any) -> None:
    server, client = await make_bus("server"), await make_bus("client")
    await server.serve(SUBJECT, adder("s"), AddRequest, queue="adder")
    assert (await client.request(SUBJECT, AddRequest(a=1, b=1), AddReply, timeout=5)).total == 2
    await server.close()
    with pytest.raises(RpcUnavailable):
        await client.request(SUBJECT, AddRequest(a=1, b=1), AddReply, timeout=5)


def test_namespace_is_validated() -> None:
    with pytest.raises(ValueError, match="namespace"):
        Bus(object(), namespace="bad.name")  # type: ignore[arg-type]


@pytest.mark.timeout(300)
async def test_a_request_waiting_when_nats_dies_ends_at_once(tmp_path: Any) -> None:
    """The reply of a request in flight when the connection drops can never arrive: the caller
    gets RpcUnavailable (a 503 at the gateway) as soon as the connection is lost, not after its
    timeout (here 10 minutes, past the test's own limit)."""
    from darkroom_stack.servers import start_nats

    nats_server = start_nats(tmp_path / "nats")
    server = await Bus.connect(nats_server.url, name="server")
    client = await Bus.connect(nats_server.url, name="client")
    try:
        await server.serve(SUBJECT, adder("slow"), AddRequest, queue="adder")
        call = asyncio.create_task(
            client.request(SUBJECT, AddRequest(a=1, b=2, sleep_s=3600), AddReply, timeout=600)
        )
        await asyncio.sleep(0.5)  # the request is out, the server is sleeping on it
        assert nats_server.process is not None
        nats_server.process.kill()
        with pytest.raises(RpcUnavailable, match="connection was lost"):
            await call
        with pytest.raises(RpcUnavailable, match="reconnecting"):  # and no new one is sent
            await client.request(SUBJECT, AddRequest(a=1, b=2), AddReply, timeout=600)
    finally:
        nats_server.stop()
        for bus in (client, server):
            await bus.close(drain_timeout=1)


@pytest.mark.timeout(300)
async def test_closing_while_nats_is_down_with_unsent_data_ends_cleanly(tmp_path: Any) -> None:
    """A service stopping while NATS is down, with a message still buffered for the reconnect:
    the bus closes without raising (nats-py wrote the buffer to the lost connection's transport
    and raised, and the gateway's shutdown failed)."""
    from darkroom_stack.servers import start_nats

    nats_server = start_nats(tmp_path / "nats")
    bus = await Bus.connect(nats_server.url, name="closer")
    try:
        assert nats_server.process is not None
        nats_server.process.kill()
        while not bus.nc.is_reconnecting:  # noqa: ASYNC110 - the Bus owns nats-py's callbacks
            await asyncio.sleep(0.05)
        await bus.nc.publish("darkroom.test.unsent", b"x")
        assert bus.nc.pending_data_size > 0
    finally:
        nats_server.stop()
    await bus.close(drain_timeout=1)
    assert bus.nc.is_closed
