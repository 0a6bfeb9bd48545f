"""`darkroom up` as a user runs it (a subprocess on a fresh data dir and free ports): it starts on a
machine whose cores are both busy, listens on loopback only, recovers from a `kill -9`, names a
port someone else holds, and waits for a slow gateway as long as it makes progress."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest
from darkroom_stack.servers import free_port
from darkroom_stack.supervisor import BACKGROUND_SERVICES, SERVICES, stop_leftovers

DARKROOM = str(Path(sys.executable).parent / "darkroom")

#: Generous ceilings for a busy 2-core machine; the waits end as soon as the state is reached.
START_CEILING_S = 600.0
STOP_CEILING_S = 120.0


@dataclass
class Up:
    """A `darkroom up` process and where it writes."""

    proc: subprocess.Popen[bytes]
    log: Path
    env: dict[str, str]

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.env['DARKROOM_PORT']}"


def _env(data_dir: Path, **over: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DARKROOM_")}
    env.update(
        DARKROOM_DATA_DIR=str(data_dir),
        DARKROOM_PORT=str(free_port()),
        DARKROOM_NATS_PORT=str(free_port()),
        DARKROOM_POSTGRES_PORT=str(free_port()),
        DARKROOM_LOG_LEVEL="INFO",
    )
    env.update(over)
    return env


def _start(env: dict[str, str], log: Path) -> Up:
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [DARKROOM, "up"], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=log.parent
        )
    return Up(proc, log, env)


def _wait_served(up: Up) -> float:
    """Seconds until `darkroom up` says it is up and its gateway answers /api/server/ping,
    failing if it exits. (Its own line, since a killed run's gateway may still answer a moment.)"""
    began = time.monotonic()
    while time.monotonic() - began < START_CEILING_S:
        if up.proc.poll() is not None:
            pytest.fail(f"darkroom up exited {up.proc.returncode}:\n{up.output[-4000:]}")
        if '"event": "darkroom.up"' in up.output:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{up.url}/api/server/ping", timeout=5).json() == {"res": "pong"}:
                    return time.monotonic() - began
        time.sleep(0.5)
    pytest.fail(f"not served after {START_CEILING_S} s:\n{up.output[-4000:]}")


def _stop(up: Up) -> int:
    if up.proc.poll() is None:
        up.proc.send_signal(signal.SIGINT)
    try:
        return up.proc.wait(STOP_CEILING_S)
    except subprocess.TimeoutExpired:
        up.proc.kill()
        return up.proc.wait()


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """A fresh data dir; whatever a failed test left running on it is stopped afterwards."""
    data = tmp_path / "data"
    yield data
    stop_leftovers(data)


def _listeners(port: int) -> set[str]:
    return {
        c.laddr.ip
        for c in psutil.net_connections(kind="tcp")
        if c.status == psutil.CONN_LISTEN and c.laddr.port == port
    }


BURN = "import time\nend = time.monotonic() + 600\nwhile time.monotonic() < end:\n    pass\n"


@contextlib.contextmanager
def _every_core_busy() -> Iterator[None]:
    """Two busy-looping processes per core for as long as the block runs."""
    burners = [
        subprocess.Popen([sys.executable, "-c", BURN]) for _ in range(2 * (os.cpu_count() or 2))
    ]
    try:
        yield
    finally:
        for b in burners:
            b.kill()
            b.wait()


@pytest.mark.timeout(1200)
def test_up_on_busy_cores_on_loopback_once_per_data_dir_and_again_after_kill_9(
    data_dir: Path,
) -> None:
    """One life of a stack, as a user's machine sees it (two starts instead of four: each whole
    start is tens of seconds of the suite):

    - the first start, on a fresh data dir, while every core is busy, with the default start
      timeout;
    - it listens on loopback only, and a second stack on the same data dir is refused;
    - after ``kill -9`` the next start stops the orphaned PostgreSQL and serves again; SIGINT
      then leaves nothing running.
    """
    env = _env(data_dir, DARKROOM_BACKGROUND_NICE="10")
    with _every_core_busy():
        first = _start(env, data_dir.parent / "first.log")  # default start timeout
        try:
            seconds = _wait_served(first)
        except BaseException:
            _stop(first)
            raise
    assert "start_failed" not in first.output
    if seconds > 60:  # the old fixed limit: the wait must have said what it waited for
        assert "waiting for gateway (pid " in first.output
    for var in ("DARKROOM_PORT", "DARKROOM_NATS_PORT", "DARKROOM_POSTGRES_PORT"):
        assert _listeners(int(env[var])) == {"127.0.0.1"}, var
    # DARKROOM_BACKGROUND_NICE=10: the background services run 10 nicer than the rest
    mine = os.nice(0)
    niceness = {}
    for f in (data_dir / "run").glob("*.*.pid"):
        name, pid = f.name.split(".")[:2]
        with contextlib.suppress(psutil.NoSuchProcess):  # one restarting under this load
            niceness[name] = psutil.Process(int(pid)).nice()
    assert {"gateway", "thumbnail", *BACKGROUND_SERVICES} <= set(niceness) <= set(SERVICES)
    assert niceness == {
        name: mine + (10 if name in BACKGROUND_SERVICES else 0) for name in niceness
    }, niceness
    second = _start(_env(data_dir), data_dir.parent / "second.log")
    assert second.proc.wait(STOP_CEILING_S) == 1
    assert f"another darkroom stack (pid {first.proc.pid})" in second.output
    assert httpx.get(f"{first.url}/api/server/ping", timeout=30).status_code == 200

    postmaster = int((data_dir / "postgres/pgdata/postmaster.pid").read_text().split()[0])
    first.proc.kill()  # kill -9: nothing of ours runs its clean-up
    first.proc.wait()
    assert psutil.pid_exists(postmaster)  # pg_ctl daemonised it: it outlives `darkroom up`
    again = _start(env, data_dir.parent / "again.log")
    try:
        _wait_served(again)
        assert not psutil.pid_exists(postmaster)  # stopped, not left to hold the data dir
        assert "start_failed" not in again.output
    finally:
        assert _stop(again) == 0
    assert not (data_dir / "postgres/pgdata/postmaster.pid").exists()  # stopped with the stack
    assert not list((data_dir / "run").glob("*.pid"))


@pytest.mark.timeout(600)
@pytest.mark.parametrize(
    ("variable", "wanted_by"),
    [("DARKROOM_PORT", "gateway"), ("DARKROOM_NATS_PORT", "nats")],
)
def test_a_port_held_by_someone_else_is_named(
    data_dir: Path, variable: str, wanted_by: str
) -> None:
    with socket.socket() as foreign:
        foreign.bind(("127.0.0.1", 0))
        foreign.listen()
        port = foreign.getsockname()[1]
        up = _start(_env(data_dir, **{variable: str(port)}), data_dir.parent / "up.log")
        try:
            code = up.proc.wait(STOP_CEILING_S)
        finally:
            _stop(up)
    assert code == 1
    assert f"port {port} on 127.0.0.1, wanted by {wanted_by}, is already in use" in up.output
    assert f"pid {os.getpid()}" in up.output  # names the holder: this test process


def _gateway_of(up: Up) -> psutil.Process:
    """The gateway process `darkroom up` started, as soon as it exists (before it is ready)."""
    began = time.monotonic()
    while time.monotonic() - began < START_CEILING_S:
        assert up.proc.poll() is None, up.output[-4000:]
        with contextlib.suppress(psutil.NoSuchProcess):
            for child in psutil.Process(up.proc.pid).children():
                with contextlib.suppress(psutil.Error):
                    if "darkroom_gateway" in child.cmdline():
                        return child
        time.sleep(0.02)
    pytest.fail("no gateway process")


@pytest.mark.timeout(900)
def test_a_gateway_held_up_past_a_minute_is_still_waited_for(data_dir: Path) -> None:
    # SIGSTOP is what a starved process looks like from outside: alive, not answering
    up = _start(_env(data_dir), data_dir.parent / "up.log")  # default start timeout
    try:
        gateway = _gateway_of(up)
        gateway.suspend()
        time.sleep(75)  # past the old fixed 60 s
        gateway.resume()
        _wait_served(up)
        assert "start_failed" not in up.output
        assert f"waiting for gateway (pid {gateway.pid}, alive" in up.output
    finally:
        assert _stop(up) == 0


@pytest.mark.timeout(900)
def test_a_gateway_without_progress_fails_the_start_naming_it(data_dir: Path) -> None:
    up = _start(_env(data_dir, DARKROOM_START_TIMEOUT="60"), data_dir.parent / "up.log")
    gateway = _gateway_of(up)
    gateway.suspend()  # no CPU time, no output: stalled after half the start timeout
    try:
        assert up.proc.wait(START_CEILING_S) == 1
    finally:
        with contextlib.suppress(psutil.NoSuchProcess):
            gateway.kill()
        _stop(up)
    assert f"gateway (pid {gateway.pid}) is alive but made no progress" in up.output
