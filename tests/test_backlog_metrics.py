"""Queue-lag metrics for autoscaling (issue #25 item 4): each worker replica exports its durable
consumer's pending and ack-pending counts, and they are the JetStream server's own numbers, as
its consumer info and its monitoring endpoint (``/jsz``, what KEDA's NATS JetStream scaler
reads) give them, while a backlog builds up and drains.

The stack runs as on a cluster: three NATS nodes (stream R3) and two thumbnail replicas. The
thumbnail queue is paused while 60 photos are uploaded (its backlog grows), then resumed and
paused again part-way (the backlog frozen at an intermediate value, nothing in flight), then
drained; in each frozen state both replicas' metrics equal the server's figures exactly, and
every scrape taken while it drains lies between the server's figures read just before and just
after it.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import Iterator

import httpx
import pytest
from darkroom_bus import Bus, handler_spec, queues
from darkroom_stack import nats_auth
from darkroom_stack.servers import free_port
from darkroom_stack.supervisor import Stack, StackConfig
from darkroom_thumbnail.handlers import generate_thumbnails

from .conftest import first_admin, noise_jpeg, upload_jpeg

PHOTOS = 60
CONSUMER = handler_spec(generate_thumbnails).consumer_name


@pytest.fixture(scope="module")
def cluster_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = Stack(
        StackConfig(
            data_dir=tmp_path_factory.mktemp("backlog"),
            gateway_port=free_port(),
            services=("ingest", "metadata", "thumbnail", "gateway"),
            log_to_files=True,
            nats_cluster=3,
            replicas={"thumbnail": 2},
            env={"DARKROOM_LOG_LEVEL": "INFO", "DARKROOM_NIGHTLY_ENABLED": "false"},
        )
    )
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


def scrape(port: int) -> dict[str, float]:
    """``darkroom_consumer_*`` of the thumbnail consumer from one replica's ``/metrics``."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text
    out = {}
    for line in text.splitlines():
        if line.startswith("darkroom_consumer_") and f'consumer="{CONSUMER}"' in line:
            out[line.split("{", 1)[0]] = float(line.rsplit(" ", 1)[1])
    return out


def jsz(stack: Stack, leader: str) -> dict[str, int]:
    """The consumer's figures from the monitoring endpoint of its leader node, as KEDA's
    NATS JetStream scaler reads them (``/jsz?acc=DARKROOM&consumers=true&config=true``: the
    account of the stack's NATS users, as the chart's ``keda.account``)."""
    assert stack.nats_cluster is not None
    base = stack.nats_cluster.monitor_urls[stack.nats_cluster.index_of(leader)]
    with urllib.request.urlopen(
        f"{base}/jsz?acc={nats_auth.ACCOUNT}&consumers=true&config=true", timeout=10
    ) as r:
        body = json.load(r)
    for account in body.get("account_details", []):
        for stream in account.get("stream_detail", []):
            for consumer in stream.get("consumer_detail", []) or []:
                if consumer["name"] == CONSUMER:
                    return {
                        "pending": consumer["num_pending"],
                        "ack_pending": consumer["num_ack_pending"],
                    }
    raise AssertionError(f"{CONSUMER} not in {base}/jsz")


async def until(predicate, what: str, patience: float = 300.0) -> None:  # type: ignore[no-untyped-def]
    """Poll ``predicate`` (async -> bool); a ceiling for a loaded machine, not an expectation."""
    deadline = time.monotonic() + patience
    while not await predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.3)


def test_backlog_metrics_are_the_servers_numbers_while_it_drains(cluster_stack: Stack) -> None:
    ports = [cluster_stack.metrics_ports["thumbnail"], cluster_stack.metrics_ports["thumbnail-2"]]
    admin = first_admin(cluster_stack)
    assert cluster_stack.nats_cluster is not None
    asyncio.run(_drain(cluster_stack, admin, ports))


async def _drain(stack: Stack, admin, ports: list[int]) -> None:  # type: ignore[no-untyped-def]
    assert stack.nats_cluster is not None
    bus = await Bus.connect(stack.nats_cluster.url, name="test")
    js = bus.js
    try:

        async def provisioned() -> bool:
            try:
                await js.consumer_info(bus.stream_name, CONSUMER)
            except Exception:  # noqa: BLE001 - not created yet
                return False
            return True

        await until(provisioned, "the thumbnail consumer")
        stream = await js.stream_info(bus.stream_name)
        assert stream.config.num_replicas == 3  # DARKROOM_NATS_REPLICAS from the stack

        async def frozen_state_matches(want_pending: int | None) -> int:
            """Compare each replica's metrics with the consumer info and /jsz (nothing moves)."""
            info = await js.consumer_info(bus.stream_name, CONSUMER)
            if want_pending is not None:
                assert info.num_pending == want_pending
            assert info.num_ack_pending == 0
            assert info.cluster is not None and info.cluster.leader
            keda = await asyncio.to_thread(jsz, stack, info.cluster.leader)
            assert keda == {"pending": info.num_pending, "ack_pending": 0}
            for port in ports:
                got = await asyncio.to_thread(scrape, port)
                assert got["darkroom_consumer_pending"] == info.num_pending, port
                assert got["darkroom_consumer_ack_pending"] == 0, port
            return int(info.num_pending or 0)

        await queues.pause(bus, CONSUMER)
        before = await frozen_state_matches(None)
        ids = [
            await asyncio.to_thread(upload_jpeg, admin, noise_jpeg(25_000 + i))
            for i in range(PHOTOS)
        ]
        assert len(set(ids)) == PHOTOS

        async def backlog_built() -> bool:
            info = await js.consumer_info(bus.stream_name, CONSUMER)
            return info.num_pending == before + PHOTOS and info.num_ack_pending == 0

        await until(backlog_built, "metadata to queue every photo for the thumbnail")
        assert await frozen_state_matches(before + PHOTOS) == before + PHOTOS

        # part-way: resume, pause again once some are delivered, let those in flight finish
        await queues.resume(bus, CONSUMER)

        async def some_delivered() -> bool:
            info = await js.consumer_info(bus.stream_name, CONSUMER)
            return (info.num_pending or 0) < before + PHOTOS - 5

        await until(some_delivered, "delivery to start")
        await queues.pause(bus, CONSUMER)

        async def idle() -> bool:
            info = await js.consumer_info(bus.stream_name, CONSUMER)
            return info.num_ack_pending == 0

        await until(idle, "the jobs in flight to finish")
        middle = await frozen_state_matches(None)
        assert 0 < middle < before + PHOTOS

        # draining: each scrape lies between the server's figures just before and just after
        await queues.resume(bus, CONSUMER)
        samples = 0
        while True:
            first = await js.consumer_info(bus.stream_name, CONSUMER)
            got = await asyncio.to_thread(scrape, ports[samples % 2])
            last = await js.consumer_info(bus.stream_name, CONSUMER)
            assert last.num_pending <= got["darkroom_consumer_pending"] <= first.num_pending
            assert 0 <= got["darkroom_consumer_ack_pending"] <= first.config.max_ack_pending
            samples += 1
            if last.num_pending == 0 and last.num_ack_pending == 0:
                break
            await asyncio.sleep(0.1)
        assert await frozen_state_matches(0) == 0
    finally:
        await bus.close()
