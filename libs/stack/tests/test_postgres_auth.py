"""The embedded PostgreSQL requires its generated password, over TCP and the Unix socket, and a
cluster made before passwords existed gets one on its next start."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from darkroom_stack.servers import (
    FREE_PORT_MIN,
    SHARED_BUFFERS_MAX_MIB,
    SHARED_BUFFERS_MIN_MIB,
    RunningServer,
    _ephemeral_range,
    free_port,
    memory_limit_bytes,
    postgres_memory_settings,
    start_postgres,
)
from darkroom_stack.testing import fresh_database


@pytest.fixture(autouse=True)
def _no_password_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A connection "without a password" must not find one in PGPASSWORD or ~/.pgpass."""
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-pgpass"))


async def _refused(**connect: object) -> None:
    with pytest.raises(asyncpg.InvalidAuthorizationSpecificationError):
        conn = await asyncpg.connect(user="postgres", database="darkroom", **connect)  # type: ignore[arg-type]
        await conn.close()


async def test_tcp_without_password_is_refused(postgres_server: RunningServer) -> None:
    await _refused(host=postgres_server.host, port=postgres_server.port)


async def test_unix_socket_without_password_is_refused(postgres_server: RunningServer) -> None:
    socket_dir = postgres_server.data_dir  # -k <data_dir>
    assert (socket_dir / f".s.PGSQL.{postgres_server.port}").is_socket()
    await _refused(host=str(socket_dir), port=postgres_server.port)


async def test_the_url_with_the_password_works(postgres_server: RunningServer) -> None:
    conn = await asyncpg.connect(fresh_database(postgres_server, "auth"))
    try:
        assert await conn.fetchval("SELECT current_user") == "postgres"
    finally:
        await conn.close()


def test_password_file_is_private(postgres_server: RunningServer) -> None:
    path = Path(postgres_server.extra["password_file"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert path.read_text().strip() == postgres_server.extra["password"]
    assert len(postgres_server.extra["password"]) >= 32
    assert postgres_server.extra["password"] not in repr(postgres_server)


@pytest.fixture
def legacy_cluster(tmp_path: Path) -> Iterator[Path]:
    """A data dir initialised the old way: ``initdb --auth=trust``, no password."""
    from darkroom_stack.servers import _pg_bin_dir, _prepare_pg_as_root

    data_dir = tmp_path / "legacy"
    (data_dir / "pgdata").mkdir(parents=True)
    user = _prepare_pg_as_root(data_dir) if os.geteuid() == 0 else None
    subprocess.run(
        [str(_pg_bin_dir() / "initdb"), "-D", str(data_dir / "pgdata"), "-U", "postgres"]
        + ["--auth=trust", "--encoding=UTF8", "--locale=C"],
        user=user,
        check=True,
        capture_output=True,
    )
    yield data_dir


async def test_a_cluster_from_before_passwords_gets_one(legacy_cluster: Path) -> None:
    server = start_postgres(legacy_cluster)
    try:
        await _refused(host=server.host, port=server.port)
        await _refused(host=str(server.data_dir), port=server.port)
        conn = await asyncpg.connect(server.url)
        await conn.close()
        assert (legacy_cluster / "secrets" / "postgres-password").exists()
    finally:
        server.stop()
    again = start_postgres(legacy_cluster)  # and it starts again with that password
    try:
        conn = await asyncpg.connect(again.url)
        await conn.close()
    finally:
        again.stop()


async def test_the_server_runs_with_the_memory_settings(postgres_server: RunningServer) -> None:
    """shared_buffers and effective_cache_size are what postgres_memory_settings chose (a
    quarter and three quarters of the machine's memory, within bounds), not the 128 MB
    default that made a 1M-asset smart search read every page from the page cache."""
    settings = postgres_memory_settings()
    conn = await asyncpg.connect(postgres_server.url)
    try:
        for name in ("shared_buffers", "effective_cache_size"):
            shown_kb = await conn.fetchval(
                "SELECT setting::bigint * pg_size_bytes(unit) / 1024 FROM pg_settings "
                "WHERE name = $1",
                name,
            )
            assert shown_kb == await conn.fetchval(
                "SELECT pg_size_bytes($1) / 1024", settings[name]
            ), name
    finally:
        await conn.close()


def test_memory_settings_bounds_and_override(monkeypatch: pytest.MonkeyPatch) -> None:
    total = memory_limit_bytes()
    assert total
    monkeypatch.delenv("DARKROOM_POSTGRES_SHARED_BUFFERS", raising=False)
    chosen = postgres_memory_settings()
    mib = int(chosen["shared_buffers"].removesuffix("MB"))
    assert SHARED_BUFFERS_MIN_MIB <= mib <= SHARED_BUFFERS_MAX_MIB
    assert mib == max(SHARED_BUFFERS_MIN_MIB, min(SHARED_BUFFERS_MAX_MIB, total // (4 << 20)))
    assert chosen["effective_cache_size"] == f"{total * 3 // (4 << 20)}MB"
    monkeypatch.setenv("DARKROOM_POSTGRES_SHARED_BUFFERS", "256MB")
    assert postgres_memory_settings()["shared_buffers"] == "256MB"


def test_free_ports_lie_below_the_ephemeral_range() -> None:
    """Outgoing connections take their local ports from the ephemeral range, so a port picked
    there could be gone before the server binds it; free_port picks below it, bindable."""
    lo, _ = _ephemeral_range()
    for _ in range(20):
        port = free_port()
        assert FREE_PORT_MIN <= port < lo
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", port))


def test_free_port_never_hands_out_a_port_twice_in_a_process() -> None:
    """A stack chooses all its ports before its servers bind any: each must be another port
    (500 random picks from the ~22,000 below the range repeat one about 99.6 % of the time)."""
    ports = [free_port() for _ in range(500)]
    assert len(set(ports)) == len(ports)
