"""A three-node NATS JetStream cluster on loopback (issue #25 item 1): the DARKROOM stream and
its durable consumers are replicated on three nodes, and survive ``kill -9`` of the stream's
leader: every acknowledged publish is still there, a consumer keeps delivering, and the killed
node catches up when it is started again."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from darkroom_bus import Bus
from darkroom_stack.nats_cluster import NatsCluster, node_config, plan_cluster, start_cluster
from nats.js.api import ConsumerConfig

N_BEFORE = 200
N_AFTER = 100


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsCluster]:
    running = start_cluster(tmp_path_factory.mktemp("natsc"), 3)
    yield running
    running.stop()


def test_every_node_config_has_routes_to_the_others_and_the_extra_text(tmp_path: Path) -> None:
    specs = plan_cluster(tmp_path, 3)
    extra = 'accounts { APP { users: [{user: a, password: "b"}] } }'
    for spec in specs:
        text = node_config(spec, specs, extra)
        others = [s for s in specs if s != spec]
        assert f"server_name: {spec.server_name}" in text
        assert text.count("nats-route://") == 2
        for other in others:
            assert f"nats-route://127.0.0.1:{other.cluster_port}" in text
        assert f"127.0.0.1:{spec.cluster_port}" in text
        assert text.rstrip().endswith(extra)
    assert "cluster {" not in node_config(specs[0], specs[:1])  # one node: standalone


async def _wait(predicate, what: str, patience: float = 120.0) -> None:  # type: ignore[no-untyped-def]
    """Poll ``predicate`` (async, -> bool) while the cluster changes; fail after ``patience`` s
    of no success (a ceiling on a loaded machine, not an expectation)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    while not await predicate():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)


def test_r3_stream_survives_kill_9_of_its_leader(cluster: NatsCluster) -> None:
    asyncio.run(_survive(cluster))


async def _survive(cluster: NatsCluster) -> None:
    namespace = f"c{uuid.uuid4().hex[:8]}"
    bus = await Bus.connect(cluster.url, name="test", namespace=namespace, stream_replicas=3)
    try:
        info = await bus.ensure_stream()
        assert info.config.num_replicas == 3
        js = bus.js
        consumer = await js.add_consumer(
            bus.stream_name, ConsumerConfig(durable_name="worker", ack_wait=10)
        )
        assert consumer.config.num_replicas in (0, 3)  # 0: inherits the stream's 3

        async def replicated() -> bool:
            s = await js.stream_info(bus.stream_name)
            c = await js.consumer_info(bus.stream_name, "worker")
            return bool(
                s.cluster
                and s.cluster.leader
                and len(s.cluster.replicas or []) == 2
                and all(r.current for r in s.cluster.replicas or [])
                and c.cluster
                and c.cluster.leader
                and len(c.cluster.replicas or []) == 2
            )

        await _wait(replicated, "stream and consumer on three nodes")
        subject = bus.subject("darkroom.asset.created")
        for i in range(N_BEFORE):
            ack = await js.publish(subject, f"{i}".encode(), headers={"Nats-Msg-Id": f"m{i}"})
            assert ack.seq == i + 1
        sub = await js.pull_subscribe_bind("worker", bus.stream_name)
        got = set()
        for msg in await sub.fetch(50, timeout=10):
            got.add(int(msg.data))
            await msg.ack_sync()

        leader = (await js.stream_info(bus.stream_name)).cluster.leader  # type: ignore[union-attr]
        assert leader is not None
        index = cluster.index_of(leader)
        cluster.kill(index)

        async def new_leader() -> bool:
            try:
                s = await js.stream_info(bus.stream_name)
            except (nats.errors.Error, TimeoutError):
                return False
            return bool(s.cluster and s.cluster.leader and s.cluster.leader != leader)

        await _wait(new_leader, "a new stream leader")
        info2 = await js.stream_info(bus.stream_name)
        assert info2.state.messages == N_BEFORE  # nothing acknowledged was lost
        for i in range(N_BEFORE, N_BEFORE + N_AFTER):  # publishing goes on with two nodes
            await js.publish(subject, f"{i}".encode(), headers={"Nats-Msg-Id": f"m{i}"})
        dup = await js.publish(subject, b"0", headers={"Nats-Msg-Id": "m0"})
        assert dup.duplicate  # the duplicate window survived the leader change

        async def drained() -> bool:
            try:
                msgs = await sub.fetch(100, timeout=2)
            except (nats.errors.Error, TimeoutError):
                msgs = []
            for msg in msgs:
                got.add(int(msg.data))
                await msg.ack_sync()
            return len(got) == N_BEFORE + N_AFTER

        await _wait(drained, "every message delivered after the leader's loss")
        assert got == set(range(N_BEFORE + N_AFTER))

        cluster.restart(index)

        async def caught_up() -> bool:
            s = await js.stream_info(bus.stream_name)
            peers = {r.name: r for r in (s.cluster.replicas or [])} if s.cluster else {}
            node = peers.get(leader)
            return node is not None and bool(node.current) and s.state.messages == 300

        await _wait(caught_up, "the restarted node catching up")
        c = await js.consumer_info(bus.stream_name, "worker")
        assert c.num_pending == 0 and c.num_ack_pending == 0
        assert c.delivered.stream_seq == N_BEFORE + N_AFTER
    finally:
        await bus.close()
