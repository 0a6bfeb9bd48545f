"""The embedded PostgreSQL requires its generated password, over TCP and the Unix socket, and a
cluster made before passwords existed gets one on its next start."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from darkroom_stack.servers import RunningServer, start_postgres
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
