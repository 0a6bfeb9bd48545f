"""A NATS JetStream cluster of several ``nats-server`` processes on loopback, as on Kubernetes.

nats-server's own clustering: every node listens for clients and for routes, and names the
others in ``cluster.routes``; JetStream elects a meta leader by Raft and places an R3 stream's
replicas on three nodes (NATS documentation, "JetStream Clustering"). Each node has its own
store directory, pid file and log, and a monitoring port (``/jsz``, which KEDA's NATS JetStream
scaler reads). Nodes keep their ports and store across a restart, so a node killed with
``kill -9`` and started again catches up from its peers.

Each node is configured by a config file written by :func:`node_config` (the one place that
builds it); ``extra_config`` is text added to every node's file (accounts, users and
authorization go there, identical on every node).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from darkroom_stack.nats_auth import NatsAuth, server_config
from darkroom_stack.procs import ensure_port_free, stop_if_ours
from darkroom_stack.servers import (
    RunningServer,
    ServerStartError,
    _bin,
    _wait_for_port,
    die_with_parent,
    free_port,
)

log = structlog.get_logger()

#: The cluster's name (``cluster.name`` of every node).
CLUSTER_NAME = "darkroom"


@dataclass(frozen=True)
class NodeSpec:
    """Where one node listens and keeps its state.

    Attributes:
        index: 0-based position in the cluster; the server name is ``n<index+1>``.
        host: Listen address of every port.
        port: Client port.
        cluster_port: Route port (other nodes connect here).
        monitor_port: HTTP monitoring port (``/varz``, ``/jsz``).
        data_dir: The node's directory: ``jetstream/`` store, ``nats.conf``, ``nats.pid``,
            ``nats.log``.
    """

    index: int
    host: str
    port: int
    cluster_port: int
    monitor_port: int
    data_dir: Path

    @property
    def server_name(self) -> str:
        """``n1``, ``n2``, ... (JetStream's ``cluster.leader`` names nodes by this)."""
        return f"n{self.index + 1}"

    @property
    def url(self) -> str:
        """``nats://host:port``."""
        return f"nats://{self.host}:{self.port}"


def _quote(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid quoted string in the NATS config format


def node_config(node: NodeSpec, peers: list[NodeSpec], extra_config: str = "") -> str:
    """The nats-server config file of one node.

    Args:
        node: The node.
        peers: Every node of the cluster, ``node`` included (its own route is left out). A
            single node (``[node]``) gets no ``cluster`` block: a standalone JetStream server.
        extra_config: Text appended to the file (e.g. ``accounts { ... }`` or an ``include``),
            the same for every node.

    Returns:
        The config text (NATS configuration format).
    """
    lines = [
        f"server_name: {node.server_name}",
        f"listen: {_quote(f'{node.host}:{node.port}')}",
        f"http: {_quote(f'{node.host}:{node.monitor_port}')}",
        f"pid_file: {_quote(str(node.data_dir / 'nats.pid'))}",
        f"log_file: {_quote(str(node.data_dir / 'nats.log'))}",
        "jetstream {",
        f"  store_dir: {_quote(str(node.data_dir))}",
        "}",
    ]
    if len(peers) > 1:
        routes = ", ".join(
            _quote(f"nats-route://{p.host}:{p.cluster_port}") for p in peers if p != node
        )
        lines += [
            "cluster {",
            f"  name: {CLUSTER_NAME}",
            f"  listen: {_quote(f'{node.host}:{node.cluster_port}')}",
            f"  routes: [{routes}]",
            "}",
        ]
    text = "\n".join(lines) + "\n"
    if extra_config:
        text += "\n" + extra_config.rstrip("\n") + "\n"
    return text


def start_node(
    node: NodeSpec,
    peers: list[NodeSpec],
    *,
    extra_config: str = "",
    auth: NatsAuth | None = None,
    timeout: float = 60.0,
) -> RunningServer:
    """Write the node's config file and start its ``nats-server``; waits for its client port.

    A server of ours still running from the node's pid file is stopped first. With ``auth``,
    the node requires the users of :func:`darkroom_stack.nats_auth.server_config` (the same
    accounts as the single embedded server), written before ``extra_config``.

    Returns:
        The running node (``name`` ``"nats"``, ``extra`` has ``server_name``,
        ``cluster_port`` and ``monitor_port``, and with ``auth`` ``integration_url``; ``url``
        carries the services' credentials then: never log it).

    Raises:
        PortInUseError: One of its ports is held by another process.
        ServerStartError: It exited or did not listen in time (the message has its log tail).
    """
    node.data_dir.mkdir(parents=True, exist_ok=True)
    binary = _bin("nats-server")
    pid_file = node.data_dir / "nats.pid"
    stop_if_ours(pid_file, executable=Path(binary).name, markers=[str(node.data_dir)])
    for port in (node.port, node.cluster_port, node.monitor_port):
        ensure_port_free(node.host, port, f"nats {node.server_name}")
    conf = node.data_dir / "nats.conf"
    accounts = server_config(auth) + "\n" if auth is not None else ""
    conf.write_text(node_config(node, peers, accounts + extra_config))
    conf.chmod(0o600)  # extra_config may hold credentials
    proc = subprocess.Popen(
        [binary, "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=die_with_parent,
    )
    _wait_for_port(node.host, node.port, timeout, proc, node.data_dir / "nats.log")
    extra = {
        "server_name": node.server_name,
        "cluster_port": str(node.cluster_port),
        "monitor_port": str(node.monitor_port),
    }
    url = node.url
    if auth is not None:
        url = auth.service_url(node.host, node.port)
        extra["integration_url"] = auth.integration_url(node.host, node.port)
    return RunningServer("nats", node.host, node.port, url, node.data_dir, proc, extra=extra)


@dataclass
class NatsCluster:
    """A running cluster (from :func:`start_cluster`).

    Attributes:
        specs: Each node's ports and directory (fixed for the cluster's life).
        nodes: Each node's running server, in the order of ``specs``.
        extra_config: The text added to every node's config.
        auth: The users every node requires, or None.
    """

    specs: list[NodeSpec]
    nodes: list[RunningServer]
    extra_config: str = field(default="", repr=False)
    auth: NatsAuth | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """Every node's client URL, comma-separated (what ``DARKROOM_NATS_URL`` takes), with
        the services' credentials when the cluster has users (a secret: never log it)."""
        if self.auth is not None:
            return ",".join(self.auth.service_url(s.host, s.port) for s in self.specs)
        return self.plain_url

    @property
    def plain_url(self) -> str:
        """Every node's client URL without credentials (for logs)."""
        return ",".join(s.url for s in self.specs)

    @property
    def integration_url(self) -> str:
        """The integration credential's URL of every node, comma-separated ("" without auth)."""
        if self.auth is None:
            return ""
        return ",".join(self.auth.integration_url(s.host, s.port) for s in self.specs)

    @property
    def monitor_urls(self) -> list[str]:
        """Each node's monitoring base URL (``http://host:port``)."""
        return [f"http://{s.host}:{s.monitor_port}" for s in self.specs]

    def kill(self, index: int) -> int:
        """``kill -9`` node ``index`` (a node lost); returns its pid."""
        proc = self.nodes[index].process
        assert proc is not None
        proc.kill()
        proc.wait()
        return proc.pid

    def restart(self, index: int, timeout: float = 60.0) -> RunningServer:
        """Start node ``index`` again on its ports and store (after :meth:`kill` or a crash).

        Raises:
            ServerStartError: It did not start.
        """
        self.nodes[index] = start_node(
            self.specs[index],
            self.specs,
            extra_config=self.extra_config,
            auth=self.auth,
            timeout=timeout,
        )
        return self.nodes[index]

    def index_of(self, server_name: str) -> int:
        """The index of the node called ``server_name`` (``n2`` -> 1).

        Raises:
            KeyError: No such node.
        """
        for spec in self.specs:
            if spec.server_name == server_name:
                return spec.index
        raise KeyError(server_name)

    def stop(self, timeout: float = 60.0) -> None:
        """Stop every node (SIGTERM, then SIGKILL after ``timeout``)."""
        for node in self.nodes:
            node.stop(timeout)


def plan_cluster(
    data_dir: Path, size: int, *, host: str = "127.0.0.1", ports: list[int] | None = None
) -> list[NodeSpec]:
    """Choose the ports and directories of ``size`` nodes under ``data_dir/n1``, ``n2``, ...

    Args:
        data_dir: Parent of the nodes' directories.
        size: Number of nodes (3 tolerates the loss of one for R3 streams).
        host: Listen address.
        ports: Client ports, one per node (the first node's may be fixed, e.g. 4222); free
            ports when None. Route and monitoring ports are always free ones.
    """
    data_dir = data_dir.resolve()  # servers change directory: relative paths would break
    client = ports or [free_port(host) for _ in range(size)]
    if len(client) != size:
        raise ValueError(f"{size} nodes need {size} client ports, got {len(client)}")
    return [
        NodeSpec(i, host, client[i], free_port(host), free_port(host), data_dir / f"n{i + 1}")
        for i in range(size)
    ]


def start_cluster(
    data_dir: Path,
    size: int = 3,
    *,
    host: str = "127.0.0.1",
    ports: list[int] | None = None,
    extra_config: str = "",
    auth: NatsAuth | None = None,
    timeout: float = 60.0,
) -> NatsCluster:
    """Start a ``size``-node JetStream cluster and wait until JetStream answers on every node.

    Args:
        data_dir: The nodes' directories are ``data_dir/n1``, ``n2``, ...
        size: Number of nodes (1 starts one standalone server configured the same way).
        host: Listen address (loopback).
        ports: Client ports, one per node; free ones when None.
        extra_config: Text added to every node's config (see :func:`node_config`).
        auth: The users every node requires (:func:`darkroom_stack.nats_auth.load_or_create`),
            or None for none.
        timeout: Seconds each wait may take at most.

    Returns:
        The running cluster; ``url`` lists every node.

    Raises:
        ServerStartError: A node did not start, or JetStream was not ready in time (the nodes
            are stopped).
    """
    specs = plan_cluster(data_dir, size, host=host, ports=ports)
    cluster = NatsCluster(specs, [], extra_config, auth)
    try:
        for spec in specs:
            cluster.nodes.append(
                start_node(spec, specs, extra_config=extra_config, auth=auth, timeout=timeout)
            )
        wait_jetstream_ready(cluster, timeout)
    except BaseException:
        cluster.stop()
        raise
    log.info("nats.cluster_started", nodes=size, url=cluster.plain_url)
    return cluster


def wait_jetstream_ready(cluster: NatsCluster, timeout: float = 60.0) -> None:
    """Wait until every node's ``/healthz?js-enabled-only=true`` is ok and the JetStream API
    answers (a meta leader is elected), at most ``timeout`` s.

    Raises:
        ServerStartError: Not ready in time, or a node exited.
    """
    deadline = time.monotonic() + timeout
    pending = list(cluster.monitor_urls)
    while pending:
        for base in list(pending):
            try:
                with urllib.request.urlopen(f"{base}/healthz?js-enabled-only=true", timeout=2) as r:
                    if r.status == 200:
                        pending.remove(base)
            except OSError:
                pass
        for node in cluster.nodes:
            if node.process is not None and node.process.poll() is not None:
                raise ServerStartError(f"nats node {node.extra['server_name']} exited")
        if pending and time.monotonic() > deadline:
            raise ServerStartError(f"nats cluster not healthy in {timeout} s: {pending}")
        if pending:
            time.sleep(0.2)
    asyncio.run(_wait_meta_leader(cluster.url, deadline))


async def _wait_meta_leader(url: str, deadline: float) -> None:
    import nats
    from nats.js.errors import APIError, ServiceUnavailableError

    nc = await nats.connect(url.split(","), connect_timeout=5, max_reconnect_attempts=-1)
    try:
        js = nc.jetstream(timeout=2)
        while True:
            try:
                await js.account_info()
                return
            except (APIError, ServiceUnavailableError, TimeoutError, nats.errors.TimeoutError):
                if time.monotonic() > deadline:
                    raise ServerStartError("JetStream has no meta leader yet") from None
                await asyncio.sleep(0.2)
    finally:
        await nc.close()


async def stream_leader(js: object, stream: str) -> str | None:
    """The server name of ``stream``'s leader (``n1``...), or None while it has none.

    Args:
        js: A nats-py JetStream context.
        stream: The stream's name.
    """
    info = await js.stream_info(stream)  # type: ignore[attr-defined]
    return info.cluster.leader if info.cluster is not None else None
