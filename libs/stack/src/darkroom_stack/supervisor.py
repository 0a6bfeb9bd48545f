"""Run the whole embedded stack: NATS, PostgreSQL, migrations and every service as its own process.

Used by ``make up`` (``darkroom up``), ``make demo`` and the end-to-end tests. Each service runs
with the same command its container image uses (``python -m darkroom_<service>``), configured
only through ``DARKROOM_*`` environment variables. A service that exits unexpectedly is started
again after a short pause (like a container restart policy), its output is interleaved on our
stdout with its name in front (or written to ``<data>/logs/<service>.log``).
"""

from __future__ import annotations

import contextlib
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
import structlog

from darkroom_stack.servers import RunningServer, free_port, start_nats, start_postgres

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
    "gateway",
)


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


class Stack:
    """The running embedded stack; use as a context manager or call start()/stop()."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.nats: RunningServer | None = None
        self.postgres: RunningServer | None = None
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.replicas: list[subprocess.Popen[bytes]] = []
        self.metrics_ports: dict[str, int] = {}
        self._expected_exit: set[str] = set()
        self._stopping = threading.Event()
        self._monitor: threading.Thread | None = None
        self._lock = threading.Lock()
        self._started_at: dict[str, float] = {}
        self._delay: dict[str, float] = {}

    @property
    def url(self) -> str:
        """The gateway's base URL."""
        host = "127.0.0.1" if self.config.host in ("0.0.0.0", "") else self.config.host
        return f"http://{host}:{self.config.gateway_port}"

    def env(self) -> dict[str, str]:
        """The ``DARKROOM_*`` environment every service gets."""
        assert self.nats is not None and self.postgres is not None
        data = self.config.data_dir.resolve()
        return {
            "DARKROOM_NATS_URL": self.nats.url,
            "DARKROOM_DATABASE_URL": self.postgres.url,
            "DARKROOM_STORAGE_BACKEND": "filesystem",
            "DARKROOM_STORAGE_ROOT": str(data / "storage"),
            "DARKROOM_ML_MODEL_DIR": str(data / "models"),
            "DARKROOM_HOST": self.config.host,
            "DARKROOM_PORT": str(self.config.gateway_port),
            **self.config.env,
        }

    def start(self, timeout: float = 60.0) -> None:
        """Start servers, migrate, start every service and wait for the gateway to answer.

        Raises:
            ServerStartError: NATS or PostgreSQL did not start.
            TimeoutError: The gateway did not answer /api/server/ping in ``timeout`` seconds.
        """
        try:
            self._start(timeout)
        except BaseException:
            self.stop()  # never leave half a stack running
            raise

    def _start(self, timeout: float) -> None:
        from darkroom_db import migrate

        data = self.config.data_dir
        data.mkdir(parents=True, exist_ok=True)
        (data / "storage").mkdir(exist_ok=True)
        self.nats = start_nats(data / "nats", port=self.config.nats_port or free_port())
        self.postgres = start_postgres(
            data / "postgres", port=self.config.postgres_port or free_port()
        )
        migrate(self.postgres.url)
        if self.config.metrics:
            self.metrics_ports = {name: free_port() for name in self.config.services}
            log.info("stack.metrics", ports=self.metrics_ports)
        for name in self.config.services:
            self.spawn(name)
        self._monitor = threading.Thread(target=self._watch, name="supervisor", daemon=True)
        self._monitor.start()
        if "gateway" in self.config.services:
            self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait until the gateway answers ``GET /api/server/ping``.

        Raises:
            TimeoutError: It did not in time.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/api/server/ping", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise TimeoutError(f"the gateway did not answer at {self.url} within {timeout} s")

    def spawn(self, name: str) -> subprocess.Popen[bytes]:
        """Start service ``name`` (``python -m darkroom_<name>``) and pipe its output; it is
        restarted when it exits unexpectedly."""
        proc = self._start_process(name, self.metrics_ports.get(name, 0))
        with self._lock:
            self.processes[name] = proc
            self._started_at[name] = time.monotonic()
            self._expected_exit.discard(name)
        return proc

    def spawn_replica(self, name: str) -> tuple[subprocess.Popen[bytes], int]:
        """Start one more process of service ``name`` (scale-out), with its own metrics port.

        Replicas share the service's durable consumers, so they split its work. They are not
        restarted, and are stopped with the stack.

        Returns:
            The process and its metrics port.
        """
        port = free_port()
        proc = self._start_process(name, port)
        with self._lock:
            self.replicas.append(proc)
        return proc, port

    def _start_process(self, name: str, metrics_port: int) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            **self.env(),
            "PYTHONUNBUFFERED": "1",
            "DARKROOM_METRICS_PORT": str(metrics_port),
            "DARKROOM_METRICS_HOST": "127.0.0.1",
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", f"darkroom_{name}"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        sink: IO[bytes]
        if self.config.log_to_files:
            logs = self.config.data_dir / "logs"
            logs.mkdir(exist_ok=True)
            sink = (logs / f"{name}.log").open("ab")
        else:
            sink = sys.stdout.buffer
        threading.Thread(target=_pump, args=(proc, name, sink), daemon=True).start()
        return proc

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

    def _watch(self) -> None:
        while not self._stopping.wait(0.5):
            with self._lock:
                dead = [
                    n
                    for n, p in self.processes.items()
                    if p.poll() is not None and n not in self._expected_exit
                ]
            for name in dead:
                if not self.config.restart or self._stopping.is_set():
                    continue
                code = self.processes[name].returncode
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
            procs = list(self.processes.items()) + [("replica", p) for p in self.replicas]
        for _, proc in procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.terminate()
        deadline = time.monotonic() + timeout
        for _, proc in procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for server in (self.nats, self.postgres):
            if server is not None:
                server.stop()

    def __enter__(self) -> Stack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the supervisor dies, even by SIGKILL
    (Linux prctl PR_SET_PDEATHSIG), so no service outlives its supervisor."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def _pump(proc: subprocess.Popen[bytes], name: str, sink: IO[bytes]) -> None:
    """Copy a service's output line by line to ``sink``, each line prefixed with its name."""
    assert proc.stdout is not None
    prefix = f"{name:<10}| ".encode()
    for line in proc.stdout:
        try:
            sink.write(prefix + line)
            sink.flush()
        except ValueError:  # sink closed at shutdown
            return
