"""Run the whole embedded stack: NATS, PostgreSQL, migrations and every service as its own process.

Used by ``make up`` (``darkroom up``), ``make demo`` and the end-to-end tests. Each service runs
with the same command its container image uses (``python -m darkroom_<service>``), configured
only through ``DARKROOM_*`` environment variables. A service that exits unexpectedly is started
again after a short pause (like a container restart policy), its output is interleaved on our
stdout with its name in front (or written to ``<data>/logs/<service>.log``).

The servers the stack started itself are watched the same way: a NATS or PostgreSQL that dies is
started again on the same data directory and port (JetStream's file store and PostgreSQL's crash
recovery keep what was committed), after 1, 2, 4, 8, 16 s; the services reconnect by themselves
(nats-py reconnects forever, the asyncpg pools replace broken connections) and their jobs wait
the outage out (:mod:`darkroom_bus.runner`). A server that keeps dying
(:data:`SERVER_MAX_RESTARTS` times without staying up :data:`SERVER_STABLE_AFTER_S`) is left
down, with a log line saying why and how to recover, instead of being restarted forever.

Start-up waits by progress (:mod:`darkroom_stack.startup`): as long as the gateway is alive and
working, up to ``start_timeout``; it fails at once, with the service's name and last output, when
the gateway exits. One stack at a time per data directory (a lock in ``<data>/run``); what a
killed stack left running there (pid files) is stopped before anything starts.

Scale-out on one machine, as on a cluster (issue #25): ``nats_cluster`` = 3 starts a three-node
JetStream cluster (:mod:`darkroom_stack.nats_cluster`) whose stream has 3 replicas, each node
watched and restarted like a single server; ``replicas`` runs N processes of a service
(instances ``thumbnail``, ``thumbnail-2``, ...; workers share their durable consumers, each
extra gateway listens on its own port, :attr:`Stack.gateway_urls`), each restarted when it
dies; ``storage="s3"`` starts the S3-compatible test server (nanio) and puts every object there.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import functools
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
import psutil
import structlog

from darkroom_stack import nats_auth
from darkroom_stack.nats_cluster import NatsCluster, start_cluster
from darkroom_stack.procs import ensure_port_free, is_ours, read_pid, stop_if_ours, write_pid
from darkroom_stack.servers import (
    RunningServer,
    die_with_parent,
    free_port,
    start_nanio,
    start_nats,
    start_postgres,
)
from darkroom_stack.startup import Sample, StartError, wait_until_ready

log = structlog.get_logger()

#: Services that have a process today, in start order (ingest before the gateway takes uploads).
SERVICES: tuple[str, ...] = (
    "ingest",
    "metadata",
    "thumbnail",
    "transcode",
    "embedding",
    "search",
    "face",
    "webhook",
    "gateway",
)


#: Services doing background work (ML, video) that nothing interactive waits for: on one
#: machine they run at a lower CPU priority (:attr:`StackConfig.background_nice`), so an upload's
#: path to its thumbnail (gateway, ingest, metadata, thumbnail) is not starved by them.
BACKGROUND_SERVICES: frozenset[str] = frozenset({"embedding", "face", "transcode"})

#: Most replicas of one service (``DARKROOM_REPLICAS_<SERVICE>``).
MAX_REPLICAS = 16


def service_of(instance: str) -> str:
    """The service an instance runs: ``thumbnail-2`` -> ``thumbnail``."""
    return instance.partition("-")[0]


def replicas_from_environ(environ: dict[str, str] | None = None) -> dict[str, int]:
    """``DARKROOM_REPLICAS_<SERVICE>`` (e.g. ``DARKROOM_REPLICAS_THUMBNAIL=3``) as a mapping.

    Raises:
        ValueError: A value is not a whole number from 1 to :data:`MAX_REPLICAS`, or names no
            service of :data:`SERVICES`.
    """
    env = os.environ if environ is None else environ
    out: dict[str, int] = {}
    for key, value in env.items():
        if not key.startswith("DARKROOM_REPLICAS_"):
            continue
        service = key.removeprefix("DARKROOM_REPLICAS_").lower()
        if service not in SERVICES:
            raise ValueError(f"{key}: no service {service!r} (one of {', '.join(SERVICES)})")
        try:
            count = int(value)
        except ValueError:
            count = 0
        if not 1 <= count <= MAX_REPLICAS:
            raise ValueError(f"{key} must be a whole number from 1 to {MAX_REPLICAS}")
        out[service] = count
    return out


#: Restarts of a crashed server (NATS, PostgreSQL) in a row before the stack leaves it down.
SERVER_MAX_RESTARTS = 5
#: Seconds a restarted server must stay up for its restart count to start over.
SERVER_STABLE_AFTER_S = 300.0
#: The pause before restart number n (1-based) of a server is ``2 ** (n - 1)`` s, at most this.
SERVER_RESTART_MAX_DELAY_S = 30.0


@dataclass
class StackConfig:
    """How to run the stack.

    Attributes:
        data_dir: State of NATS, PostgreSQL and the filesystem storage (``./data``).
        host: Address the gateway listens on.
        gateway_port: The API port (2283 as Immich).
        nats_port: NATS port; a free one when None.
        postgres_port: PostgreSQL port; a free one when None.
        services: Which services to run.
        log_to_files: Service output to ``data_dir/logs/<name>.log`` instead of our stdout.
        restart: Start a service again when it exits unexpectedly.
        env: Extra environment for every service (e.g. ``DARKROOM_LOG_LEVEL``).
        metrics: Give every service a Prometheus ``/metrics`` + ``/healthz`` port (free ports,
            in :attr:`Stack.metrics_ports`).
        start_timeout: Ceiling in seconds of each wait of the start (servers, then the
            gateway), which otherwise waits as long as the processes are alive and progressing;
            ``DARKROOM_START_TIMEOUT`` for ``darkroom up``.
        nats_cluster: NATS nodes (``DARKROOM_NATS_CLUSTER``): 1 runs one server; more runs a
            JetStream cluster on loopback (the first node on ``nats_port``), and the services
            get every node's URL and ``DARKROOM_NATS_REPLICAS`` = min(3, nodes).
        nats_extra_config: Text added to every cluster node's config file (accounts, users).
        replicas: Processes per service (``DARKROOM_REPLICAS_<SERVICE>``); 1 when absent.
        storage: ``"filesystem"`` (``<data>/storage``) or ``"s3"``: nanio on a free port,
            data in ``<data>/s3``, as a cluster's MinIO.
        background_nice: Niceness added (``nice(2)``) to the processes of
            :data:`BACKGROUND_SERVICES`; 0 (the default) runs them at the same priority as the
            rest. 10 lets the CPU go to the upload -> thumbnail path first when both want it
            (issue #20), idle CPU still going to them; it is not the default because on a
            machine shared with other busy processes at priority 0 the ML work then nearly
            stops, and no gain was measurable here (docs/performance.md). On a cluster, CPU
            requests and limits do this job.
    """

    data_dir: Path
    host: str = "127.0.0.1"
    gateway_port: int = 2283
    nats_port: int | None = None
    postgres_port: int | None = None
    services: tuple[str, ...] = SERVICES
    log_to_files: bool = False
    restart: bool = True
    env: dict[str, str] = field(default_factory=dict)
    metrics: bool = True
    start_timeout: float = 600.0
    nats_cluster: int = 1
    nats_extra_config: str = ""
    replicas: dict[str, int] = field(default_factory=dict)
    storage: str = "filesystem"
    background_nice: int = 0

    def instances(self) -> list[str]:
        """Every service process to run, in start order: ``ingest``, ``ingest-2``, ..."""
        out = []
        for name in self.services:
            out.append(name)
            out += [f"{name}-{i}" for i in range(2, self.replicas.get(name, 1) + 1)]
        return out


#: Lines of each service's output kept for error messages.
TAIL_LINES = 40


class Stack:
    """The running embedded stack; use as a context manager or call start()/stop()."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.nats: RunningServer | None = None  # the first node of a cluster
        self.nats_cluster: NatsCluster | None = None
        self.nats_auth: nats_auth.NatsAuth | None = None
        self.postgres: RunningServer | None = None
        self.s3: RunningServer | None = None
        self.gateway_ports: dict[str, int] = {}  # gateway instance -> port
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.replicas: list[tuple[str, subprocess.Popen[bytes]]] = []  # (service, process)
        self.metrics_ports: dict[str, int] = {}
        self._expected_exit: set[str] = set()
        self._stopping = threading.Event()
        self._monitor: threading.Thread | None = None
        self._lock = threading.Lock()
        self._started_at: dict[str, float] = {}
        self._delay: dict[str, float] = {}
        self._output_bytes: dict[str, int] = collections.defaultdict(int)
        self._tail: dict[str, collections.deque[bytes]] = collections.defaultdict(
            lambda: collections.deque(maxlen=TAIL_LINES)
        )
        self._lock_file: IO[str] | None = None
        self._held_servers: set[str] = set()
        self._servers_stopped = threading.Event()
        self._server_restarts: dict[str, int] = collections.defaultdict(int)
        self._server_started_at: dict[str, float] = {}
        self._servers_given_up: set[str] = set()

    @property
    def url(self) -> str:
        """The gateway's base URL."""
        wildcard = self.config.host in ("0.0.0.0", "::", "")
        host = "127.0.0.1" if wildcard else self.config.host
        return f"http://{host}:{self.config.gateway_port}"

    @property
    def nats_url(self) -> str:
        """The services' NATS URL (every node of a cluster, comma-separated), with their
        credentials: a secret, never logged."""
        assert self.nats is not None
        return self.nats_cluster.url if self.nats_cluster is not None else self.nats.url

    @property
    def gateway_urls(self) -> list[str]:
        """Every gateway instance's base URL (one per gateway replica)."""
        base = self.url.rsplit(":", 1)[0]
        return [self.url] + [f"{base}:{p}" for n, p in self.gateway_ports.items() if n != "gateway"]

    @property
    def run_dir(self) -> Path:
        """``<data>/run``: the stack's lock and the pid files of its service processes."""
        return self.config.data_dir.resolve() / "run"

    @property
    def secrets_dir(self) -> Path:
        """``<data>/secrets`` (mode 700): ``postgres-password``, ``database-url``, the NATS
        passwords (:mod:`darkroom_stack.nats_auth`), ``nats-url`` (the services' credentials)
        and ``nats-integration-url`` (the integration credential, docs/integrations.md)."""
        return self.config.data_dir.resolve() / "secrets"

    def env(self) -> dict[str, str]:
        """The ``DARKROOM_*`` environment of the services.

        ``DARKROOM_DATABASE_URL`` carries PostgreSQL's password and ``DARKROOM_NATS_URL`` the
        NATS service user's (for tests and tools in this process; never log them). The service
        processes get them as ``DARKROOM_DATABASE_URL_FILE`` and ``DARKROOM_NATS_URL_FILE``
        (``<data>/secrets/database-url``, ``nats-url``, mode 600) instead, so they are in no
        environment.
        """
        assert self.nats is not None and self.postgres is not None
        data = self.config.data_dir.resolve()
        nats: dict[str, str] = {"DARKROOM_NATS_URL": self.nats_url}
        if self.nats_cluster is not None:
            nats = {
                "DARKROOM_NATS_URL": self.nats_url,
                "DARKROOM_NATS_REPLICAS": str(min(3, len(self.nats_cluster.nodes))),
            }
        storage = {
            "DARKROOM_STORAGE_BACKEND": "filesystem",
            "DARKROOM_STORAGE_ROOT": str(data / "storage"),
        }
        if self.s3 is not None:
            storage = {
                "DARKROOM_STORAGE_BACKEND": "s3",
                "DARKROOM_STORAGE_S3_ENDPOINT": self.s3.url,
                "DARKROOM_STORAGE_S3_ACCESS_KEY": self.s3.extra["access_key"],
                "DARKROOM_STORAGE_S3_SECRET_KEY": self.s3.extra["secret_key"],
                "DARKROOM_STORAGE_S3_BUCKET": "darkroom",
            }
        return {
            **nats,
            "DARKROOM_DATABASE_URL": self.postgres.url,
            **storage,
            "DARKROOM_ML_MODEL_DIR": str(data / "models"),
            "DARKROOM_HOST": self.config.host,
            "DARKROOM_PORT": str(self.config.gateway_port),
            **self.config.env,
        }

    def start(self, timeout: float | None = None) -> None:
        """Start servers, migrate, start every service and wait for the gateway to answer.

        Each wait lasts as long as the process waited for is alive and progressing, at most
        ``timeout`` seconds (``config.start_timeout`` when None).

        Raises:
            StartError: Another stack runs on this data directory, a port is taken
                (:class:`~darkroom_stack.procs.PortInUseError`), NATS or PostgreSQL did not start
                (:class:`~darkroom_stack.servers.ServerStartError`), or the gateway exited or
                stalled before answering (the message names it and has its last output).
            StartTimeoutError: The gateway did not answer within the timeout.
        """
        try:
            self._start(self.config.start_timeout if timeout is None else timeout)
        except BaseException:
            self.stop()  # never leave half a stack running
            raise

    def _start(self, timeout: float) -> None:
        from darkroom_db import migrate

        data = self.config.data_dir
        data.mkdir(parents=True, exist_ok=True)
        (data / "storage").mkdir(exist_ok=True)
        self._lock_data_dir()
        began = time.monotonic()
        self._stop_stale_services()
        if "gateway" in self.config.services:
            ensure_port_free(self.config.host, self.config.gateway_port, "gateway")
        log.info("stack.starting", step="nats", nodes=self.config.nats_cluster)
        self.nats_auth = nats_auth.load_or_create(self.secrets_dir)
        if self.config.nats_cluster > 1:
            ports = [self.config.nats_port or free_port()]
            ports += [free_port() for _ in range(self.config.nats_cluster - 1)]
            self.nats_cluster = start_cluster(
                data / "nats",
                self.config.nats_cluster,
                ports=ports,
                extra_config=self.config.nats_extra_config,
                auth=self.nats_auth,
                timeout=timeout,
            )
            self.nats = self.nats_cluster.nodes[0]
            for node in self.nats_cluster.nodes:
                self._server_started_at[f"nats-{node.extra['server_name']}"] = time.monotonic()
            self._write_secret("nats-url", self.nats_url)
            self._write_secret("nats-integration-url", self.nats_cluster.integration_url)
        else:
            self.nats = start_nats(
                data / "nats",
                port=self.config.nats_port or free_port(),
                timeout=timeout,
                auth=self.nats_auth,
            )
            self._write_secret("nats-url", self.nats.url)
            self._write_secret("nats-integration-url", self.nats.extra["integration_url"])
            self._server_started_at["nats"] = time.monotonic()
        if self.config.storage == "s3":
            self.s3 = start_nanio(data / "s3", timeout=timeout)
        log.info("stack.starting", step="postgres", elapsed_s=round(time.monotonic() - began, 1))
        postgres = self.start_postgres(self.config.postgres_port or free_port(), timeout)
        self._write_database_url()
        log.info("stack.starting", step="migrate", elapsed_s=round(time.monotonic() - began, 1))
        migrate(postgres.url)
        instances = self.config.instances()
        if self.config.metrics:
            self.metrics_ports = {name: free_port() for name in instances}
            log.info("stack.metrics", ports=self.metrics_ports)
        self.gateway_ports = {
            name: self.config.gateway_port if name == "gateway" else free_port(self.config.host)
            for name in instances
            if service_of(name) == "gateway"
        }
        if len(self.gateway_ports) > 1:
            log.info("stack.gateways", urls=self.gateway_urls)
        log.info("stack.starting", step="services", elapsed_s=round(time.monotonic() - began, 1))
        for name in instances:
            self.spawn(name)
        if "gateway" in self.config.services:
            self.wait_ready(timeout)
        self._monitor = threading.Thread(target=self._watch, name="supervisor", daemon=True)
        self._monitor.start()
        log.info("stack.started", elapsed_s=round(time.monotonic() - began, 1))

    def start_postgres(self, port: int, timeout: float | None = None) -> RunningServer:
        """Start the stack's PostgreSQL on ``data/postgres`` with its password file, on ``port``.

        Used at start-up and to start it again on the same data after it stopped (the same
        cluster, the same generated password).

        Args:
            port: TCP port on 127.0.0.1.
            timeout: Longest wait for it to accept connections, in seconds
                (``config.start_timeout`` when None).

        Returns:
            The running server, also kept as :attr:`postgres`.

        Raises:
            ServerStartError: It did not start (the message has its log tail).
        """
        self.postgres = start_postgres(
            self.config.data_dir / "postgres",
            port=port,
            timeout=self.config.start_timeout if timeout is None else timeout,
            password_file=self.secrets_dir / "postgres-password",
        )
        with self._lock:
            self._server_started_at["postgres"] = time.monotonic()
            self._held_servers.discard("postgres")
        return self.postgres

    def _lock_data_dir(self) -> None:
        """Hold ``<data>/run/stack.lock`` (flock, released even on SIGKILL) for the stack's life.

        Raises:
            StartError: Another live stack holds it.
        """
        self.run_dir.mkdir(parents=True, exist_ok=True)
        lock = (self.run_dir / "stack.lock").open("a+")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            other = lock.read().strip() or "?"
            lock.close()
            raise StartError(
                f"another darkroom stack (pid {other}) is running on {self.config.data_dir}; "
                "stop it first or use another DARKROOM_DATA_DIR"
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"{os.getpid()}\n")
        lock.flush()
        self._lock_file = lock

    def _stop_stale_services(self) -> None:
        """Stop service processes a killed stack left running; NATS and PostgreSQL stop theirs
        themselves when they start."""
        _stop_stale_services(self.run_dir)

    def _write_database_url(self) -> None:
        assert self.postgres is not None
        self._write_secret("database-url", self.postgres.url)

    def _write_secret(self, name: str, value: str) -> None:
        """Write ``value`` to ``<data>/secrets/<name>`` (mode 600)."""
        path = self.secrets_dir / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(value + "\n")

    def wait_ready(self, timeout: float | None = None) -> None:
        """Wait until the gateway answers ``GET /api/server/ping``, as long as it is alive and
        progressing (at most ``timeout`` s, ``config.start_timeout`` when None); every 10 s the
        wait is logged (``stack.waiting``) with its pid and CPU time.

        Raises:
            StartError: The gateway exited, or showed no progress for half of ``timeout``; the
                message has its last output.
            StartTimeoutError: It did not answer in time.
        """
        timeout = self.config.start_timeout if timeout is None else timeout
        try:
            wait_until_ready(
                lambda: [self._sample("gateway")], timeout_s=timeout, stall_s=timeout / 2
            )
        except StartError as exc:
            if exc.service is None:
                raise
            tail = b"".join(self._tail[exc.service]).decode(errors="replace")
            raise type(exc)(f"{exc}; its last output:\n{tail}", exc.service) from None

    def _sample(self, name: str) -> Sample:
        """How service ``name`` is doing: alive, CPU time, output so far, ready (gateway: ping)."""
        proc = self.processes[name]
        code = proc.poll()
        cpu = 0.0
        with contextlib.suppress(psutil.Error):
            times = psutil.Process(proc.pid).cpu_times()
            cpu = times.user + times.system
        ready = False
        if code is None and name == "gateway":
            with contextlib.suppress(httpx.HTTPError):
                ready = httpx.get(f"{self.url}/api/server/ping", timeout=5).status_code == 200
        return Sample(name, proc.pid, code is None, ready, cpu, self._output_bytes[name], code)

    def spawn(self, name: str) -> subprocess.Popen[bytes]:
        """Start service instance ``name`` (``python -m darkroom_<service>``; ``thumbnail-2``
        is the second replica of ``thumbnail``) and pipe its output; it is restarted when it
        exits unexpectedly."""
        env = None
        if name in self.gateway_ports and name != "gateway":
            env = {"DARKROOM_PORT": str(self.gateway_ports[name])}
        proc = self._start_process(name, self.metrics_ports.get(name, 0), env)
        with self._lock:
            self.processes[name] = proc
            self._started_at[name] = time.monotonic()
            self._expected_exit.discard(name)
        return proc

    def spawn_replica(
        self, name: str, env: dict[str, str] | None = None
    ) -> tuple[subprocess.Popen[bytes], int]:
        """Start one more process of service ``name`` (scale-out), with its own metrics port.

        Replicas share the service's durable consumers, so they split its work. They are not
        restarted, and are stopped with the stack.

        Args:
            name: The service.
            env: Overrides of its environment (a second gateway needs its own
                ``DARKROOM_PORT``).

        Returns:
            The process and its metrics port.
        """
        port = free_port()
        proc = self._start_process(name, port, env)
        with self._lock:
            self.replicas.append((name, proc))
        return proc, port

    def _start_process(
        self, name: str, metrics_port: int, extra_env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        assert self.postgres is not None
        env = {
            **os.environ,
            **self.env(),
            "PYTHONUNBUFFERED": "1",
            "DARKROOM_METRICS_PORT": str(metrics_port),
            "DARKROOM_METRICS_HOST": "127.0.0.1",
            **(extra_env or {}),
        }
        if env.get("DARKROOM_DATABASE_URL") == self.postgres.url:  # ours: as a file, not a value
            del env["DARKROOM_DATABASE_URL"]
            env["DARKROOM_DATABASE_URL_FILE"] = str(self.secrets_dir / "database-url")
        if self.nats is not None and env.get("DARKROOM_NATS_URL") == self.nats_url:  # the same
            del env["DARKROOM_NATS_URL"]
            env["DARKROOM_NATS_URL_FILE"] = str(self.secrets_dir / "nats-url")
        nice = self.config.background_nice if service_of(name) in BACKGROUND_SERVICES else 0
        proc = subprocess.Popen(
            [sys.executable, "-m", f"darkroom_{service_of(name)}"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=functools.partial(_child_setup, nice),
        )
        write_pid(self._pid_file(name, proc), proc.pid)
        sink: IO[bytes]
        if self.config.log_to_files:
            logs = self.config.data_dir / "logs"
            logs.mkdir(exist_ok=True)
            sink = (logs / f"{name}.log").open("ab")
        else:
            sink = sys.stdout.buffer
        threading.Thread(
            target=_pump,
            args=(proc, name, sink, self._tail[name], self._output_bytes),
            daemon=True,
        ).start()
        return proc

    def _pid_file(self, name: str, proc: subprocess.Popen[bytes]) -> Path:
        return self.run_dir / f"{name}.{proc.pid}.pid"

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to a service; with restart on, the supervisor starts it again."""
        proc = self.processes[name]
        os.kill(proc.pid, sig)
        proc.wait(30)

    def hold(self, name: str) -> None:
        """Stop a service and keep it stopped until :meth:`spawn` (tests of outages)."""
        with self._lock:
            self._expected_exit.add(name)
        proc = self.processes[name]
        if proc.poll() is None:
            proc.terminate()
            proc.wait(30)

    def hold_server(self, name: str) -> None:
        """Stop server ``name`` (``"nats"``, a cluster node ``"nats-n2"``, or ``"postgres"``)
        and keep it stopped: the supervisor does not restart it (tests of outages;
        :meth:`start_postgres` ends the hold).
        """
        with self._lock:
            self._held_servers.add(name)
        server = dict(self._servers()).get(name)
        if server is not None:
            server.stop()

    def release_server(self, name: str) -> None:
        """End :meth:`hold_server`: the supervisor starts server ``name`` again on its data and
        port, as after a crash (tests of outages; PostgreSQL also has :meth:`start_postgres`)."""
        with self._lock:
            self._held_servers.discard(name)

    def _servers(self) -> list[tuple[str, RunningServer]]:
        """The servers the stack watches, by name: ``nats`` (or ``nats-n1``, ``nats-n2``... of a
        cluster) and ``postgres``."""
        out: list[tuple[str, RunningServer]] = []
        if self.nats_cluster is not None:
            out += [(f"nats-{n.extra['server_name']}", n) for n in self.nats_cluster.nodes]
        elif self.nats is not None:
            out.append(("nats", self.nats))
        if self.postgres is not None:
            out.append(("postgres", self.postgres))
        return out

    def _watch_servers(self) -> None:
        """Start again, on the same data and port, a server of ours that died (see the module
        docstring for the back-off and the limit)."""
        with self._lock:
            servers = self._servers()
        for name, server in servers:
            with self._lock:
                if name in self._held_servers | self._servers_given_up:
                    continue
            if server_alive(server) or self._stopping.is_set():
                continue
            self._restart_server(name, server)

    def _restart_server(self, name: str, server: RunningServer) -> None:
        if time.monotonic() - self._server_started_at.get(name, 0.0) >= SERVER_STABLE_AFTER_S:
            self._server_restarts[name] = 0  # it had been up long enough: a fresh crash
        attempt = self._server_restarts[name] + 1
        log_file = server.data_dir / f"{service_of(name)}.log"
        if attempt > SERVER_MAX_RESTARTS:
            self._servers_given_up.add(name)
            log.error(
                "server.given_up",
                server=name,
                restarts=attempt - 1,
                log_file=str(log_file),
                log_tail=_tail(log_file),
                how_to_recover=(
                    f"{name} died {attempt - 1} times in a row and is left stopped; the reason "
                    f"is at the end of {log_file} (a full disk is the usual one). Fix it, then "
                    "stop this stack (Ctrl-C) and run `make up` again: nothing accepted is lost."
                ),
            )
            return
        self._server_restarts[name] = attempt
        delay = min(2.0 ** (attempt - 1), SERVER_RESTART_MAX_DELAY_S)
        log.warning(
            "server.exited", server=name, port=server.port, attempt=attempt, restart_in_s=delay
        )
        if self._stopping.wait(delay):
            return
        with self._lock:
            if name in self._held_servers:  # held (stopped on purpose) while we waited
                return
        began = time.monotonic()
        try:
            if name.startswith("nats-"):
                assert self.nats_cluster is not None
                index = self.nats_cluster.index_of(name.removeprefix("nats-"))
                restarted = self.nats_cluster.restart(index, self.config.start_timeout)
                if index == 0:
                    self.nats = restarted
                self._server_started_at[name] = time.monotonic()
            elif name == "nats":
                restarted = start_nats(
                    server.data_dir,
                    host=server.host,
                    port=server.port,
                    timeout=self.config.start_timeout,
                    auth=self.nats_auth,
                )
                self.nats = restarted
                self._server_started_at["nats"] = time.monotonic()
            else:
                restarted = self.start_postgres(server.port)
        except (StartError, OSError) as exc:  # tried again on the next round, with back-off
            self._server_started_at[name] = time.monotonic()
            log.warning("server.restart_failed", server=name, attempt=attempt, error=str(exc))
            return
        log.warning(
            "server.restarted",
            server=name,
            port=restarted.port,
            attempt=attempt,
            took_s=round(time.monotonic() - began, 1),
        )

    def _watch(self) -> None:
        while not self._stopping.wait(0.5):
            if self.config.restart:
                self._watch_servers()
                self._watch_services()
        # A NATS restarted here gets SIGTERM when this thread ends (die_with_parent): stay until
        # stop() has stopped the services, so they drain against a live NATS.
        self._servers_stopped.wait()

    def _watch_services(self) -> None:
        """Start again a service process that exited unexpectedly."""
        with self._lock:
            dead = [
                n
                for n, p in self.processes.items()
                if p.poll() is not None and n not in self._expected_exit
            ]
        for name in dead:
            if self._stopping.is_set():
                return
            code = self.processes[name].returncode
            self._pid_file(name, self.processes[name]).unlink(missing_ok=True)
            # a process that dies right after starting backs off (1 s doubling to 30 s)
            quick = time.monotonic() - self._started_at.get(name, 0.0) < 10.0
            delay = min(self._delay.get(name, 0.5) * 2, 30.0) if quick else 1.0
            self._delay[name] = delay
            log.warning("service.exited", service=name, code=code, restart_in_s=delay)
            if not self._stopping.wait(delay):
                self.spawn(name)

    def stop(self, timeout: float = 20.0) -> None:
        """Stop every service (SIGTERM, then SIGKILL after ``timeout``), then the servers."""
        self._stopping.set()
        with self._lock:
            procs = list(self.processes.items()) + self.replicas
        for _, proc in procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.terminate()
        deadline = time.monotonic() + timeout
        for name, proc in procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            self._pid_file(name, proc).unlink(missing_ok=True)
        for _, server in self._servers():
            server.stop()
        if self.s3 is not None:
            self.s3.stop()
        self._servers_stopped.set()
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def __enter__(self) -> Stack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _child_setup(nice: int) -> None:
    """In a service's child process before exec: die with the supervisor, and lower its CPU
    priority by ``nice`` (inherited by every thread it starts)."""
    die_with_parent()
    if nice:
        os.nice(nice)


def server_alive(server: RunningServer) -> bool:
    """Whether a server the stack started still runs: its process (NATS), or for a
    daemonised server (PostgreSQL) the live, non-zombie process its pid file names."""
    if server.process is not None:
        return server.process.poll() is None
    if server.pid_file is None:
        return True  # nothing to watch
    pid = read_pid(server.pid_file)
    if pid is None:
        return False
    try:
        proc = psutil.Process(pid)
    except psutil.Error:
        return False
    return is_ours(proc, server.name, [str(server.pid_file.parent)])


def _tail(path: Path, size: int = 2000) -> str:
    """The last ``size`` characters of a log file ("" when unreadable)."""
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - size))
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def stop_leftovers(data_dir: Path) -> list[int]:
    """Stop every process of ours that a killed stack left running on ``data_dir``: services
    (``run/<name>.<pid>.pid``), then NATS (``nats/nats.pid``), then PostgreSQL
    (``postgres/pgdata/postmaster.pid``, fast shutdown). ``Stack.start`` does the same.

    Returns:
        The pids stopped.
    """
    data = data_dir.resolve()
    stopped = _stop_stale_services(data / "run")
    nats = stop_if_ours(data / "nats" / "nats.pid", executable="nats-server", markers=[str(data)])
    for node_pid in sorted((data / "nats").glob("n*/nats.pid")):  # a cluster's nodes
        pid = stop_if_ours(node_pid, executable="nats-server", markers=[str(data)])
        if pid is not None:
            stopped.append(pid)
    pg = stop_if_ours(
        data / "postgres" / "pgdata" / "postmaster.pid",
        executable="postgres",
        markers=[str(data)],
        sig=signal.SIGINT,
    )
    return stopped + [p for p in (nats, pg) if p is not None]


def _stop_stale_services(run_dir: Path) -> list[int]:
    """Stop the service processes named by ``run_dir/<name>.<pid>.pid`` (SIGTERM, SIGKILL after
    30 s) that are still ours; remove those pid files."""
    stopped = []
    for pid_file in sorted(run_dir.glob("*.pid")):
        name = service_of(pid_file.name.split(".", 1)[0])
        pid = stop_if_ours(pid_file, executable=f"darkroom_{name}", grace_s=30.0)
        if pid is not None:
            stopped.append(pid)
    return stopped


def _pump(
    proc: subprocess.Popen[bytes],
    name: str,
    sink: IO[bytes],
    tail: collections.deque[bytes],
    counts: dict[str, int],
) -> None:
    """Copy a service's output line by line to ``sink``, each line prefixed with its name; keep
    the last lines in ``tail`` and count its bytes in ``counts[name]`` (start-up progress)."""
    assert proc.stdout is not None
    prefix = f"{name:<10}| ".encode()
    for line in proc.stdout:
        tail.append(line)
        counts[name] += len(line)
        try:
            sink.write(prefix + line)
            sink.flush()
        except ValueError:  # sink closed at shutdown
            return
