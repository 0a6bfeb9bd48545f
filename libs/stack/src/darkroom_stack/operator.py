"""``darkroom backup`` and ``darkroom restore FILE``: the operator's side of database backups.

Both work on a running installation: the embedded stack of ``DARKROOM_DATA_DIR`` (its database
URL from ``<data>/secrets/database-url``, NATS on 127.0.0.1:``DARKROOM_NATS_PORT``, storage in
``<data>/storage``), or, in a container of compose or Helm, the installation the usual variables
name (``DARKROOM_DATABASE_URL``/``_FILE``, ``DARKROOM_NATS_URL``, ``DARKROOM_STORAGE_*``). They
take the same path as the web admin (:mod:`darkroom_runtime.backups`): a backup goes to storage
``backups/`` (or to ``--output FILE``); a restore copies FILE into ``backups/`` as
``uploaded-<name>``, then restores it under maintenance mode, migrates, and ends maintenance.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import msgspec
import structlog
from darkroom_bus import Bus
from darkroom_db import backup, create_pool
from darkroom_events import BackupCreated, ConfigUpdated, DatabaseRestored, Event
from darkroom_runtime import backups
from darkroom_runtime.maintenance import MaintenanceFlag
from darkroom_runtime.outbox import Outbox
from darkroom_storage import Storage, StorageSettings, open_storage

log = structlog.get_logger()

#: Bytes read from a local file at a time (1 MiB).
READ_BYTES = 1 << 20
#: Seconds to wait for PostgreSQL and NATS before saying the stack is not reachable.
CONNECT_TIMEOUT_S = 10.0


class StackUnreachable(Exception):
    """The installation's PostgreSQL or NATS does not answer; the message says what to do."""


class OperatorSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Where ``darkroom backup``/``restore`` find the installation (``DARKROOM_*``).

    Attributes:
        data_dir: The embedded stack's data (``DARKROOM_DATA_DIR``; ``./data``).
        nats_port: The embedded stack's NATS port (``DARKROOM_NATS_PORT``; 4222).
        database_url: PostgreSQL (``DARKROOM_DATABASE_URL`` or ``_FILE``); "" reads
            ``<data>/secrets/database-url``.
        nats_url: NATS (``DARKROOM_NATS_URL``); "" is the embedded stack's, on ``<nats_port>``
            with the service user's credentials from ``<data>/secrets/nats-url``.
        storage: Object storage (``DARKROOM_STORAGE_*``); the default root is taken to mean
            ``<data>/storage``.
        pg_bin_dir: Where ``pg_dump``/``psql`` are (``DARKROOM_PG_BIN_DIR``; "" finds them).
    """

    data_dir: str = "data"
    nats_port: int = 4222
    database_url: str = ""
    nats_url: str = ""
    storage: StorageSettings = StorageSettings()
    pg_bin_dir: str = ""


class Installation:
    """The connections of one command: database URL, storage, NATS (close with :meth:`close`)."""

    def __init__(self, database_url: str, storage: Storage, bus: Bus, bin_dir: Path | None):
        self.database_url = database_url
        self.storage = storage
        self.bus = bus
        self.bin_dir = bin_dir

    async def close(self) -> None:
        """Close NATS and storage."""
        await self.bus.close()
        await self.storage.close()


def _locate(settings: OperatorSettings) -> tuple[Path, str]:
    """The data directory and the database URL (blocking: reads the secret file)."""
    data = Path(settings.data_dir).resolve()
    if settings.database_url:
        return data, settings.database_url
    url_file = data / "secrets" / "database-url"
    if not url_file.exists():
        raise StackUnreachable(
            f"no Darkroom stack in {data} ({url_file} is missing): start it with "
            "`darkroom up`, or set DARKROOM_DATA_DIR / DARKROOM_DATABASE_URL"
        )
    return data, url_file.read_text().strip()


def _embedded_nats_url(data: Path, settings: OperatorSettings) -> str:
    """The embedded stack's NATS URL with the service user's credentials
    (``<data>/secrets/nats-url``), on ``settings.nats_port`` (blocking: reads the file)."""
    url_file = data / "secrets" / "nats-url"
    if not url_file.exists():
        return f"nats://127.0.0.1:{settings.nats_port}"
    parts = urlsplit(url_file.read_text().strip())
    netloc = f"{parts.username}:{parts.password}@127.0.0.1:{settings.nats_port}"
    return urlunsplit(parts._replace(netloc=netloc))


async def connect(settings: OperatorSettings) -> Installation:
    """Reach the installation ``settings`` name.

    Raises:
        StackUnreachable: No database URL, or PostgreSQL or NATS not answering (the message
            names which and how to start it).
    """
    data, url = await asyncio.to_thread(_locate, settings)
    try:
        conn = await asyncpg.connect(url, timeout=CONNECT_TIMEOUT_S)
        await conn.close()
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        raise StackUnreachable(
            f"the Darkroom database is not reachable ({type(exc).__name__}): is the stack "
            "running? Start it with `darkroom up` (or your compose/Helm release) first"
        ) from None
    nats_url = settings.nats_url or await asyncio.to_thread(_embedded_nats_url, data, settings)
    try:
        bus = await Bus.connect(nats_url, name="darkroom-cli", connect_timeout=CONNECT_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 - nats-py raises several unrelated types
        raise StackUnreachable(
            f"NATS at {nats_url} is not reachable ({type(exc).__name__}): is the stack running?"
        ) from None
    storage_settings = settings.storage
    if storage_settings.backend == "filesystem" and storage_settings.root == "./data/storage":
        storage_settings = msgspec.structs.replace(storage_settings, root=str(data / "storage"))
    return Installation(
        url, open_storage(storage_settings), bus, backup.pg_bin_dir(settings.pg_bin_dir)
    )


def _now() -> datetime:
    return datetime.now(UTC)


async def _announce(inst: Installation, *events: Event) -> None:
    """Publish ``events`` through the transactional outbox (written, then published)."""
    pool = await create_pool(inst.database_url, min_size=1, max_size=2)
    try:
        outbox = Outbox(pool, inst.bus)
        for event in events:
            await outbox.publish(event)
    finally:
        await pool.close()


async def run_backup(settings: OperatorSettings, output: Path | None, keep: int) -> str:
    """Write a backup to storage ``backups/`` (pruned to ``keep``), or to ``output``.

    Returns:
        Where it went: the backup's name in storage, or ``output``.
    """
    inst = await connect(settings)
    try:
        if output is None:
            name = await backups.create_backup(
                inst.database_url, inst.storage, keep=keep, bin_dir=inst.bin_dir
            )
            info = await inst.storage.head(backups.backup_key(name))
            await _announce(inst, BackupCreated(filename=name, size=info.size, at=_now()))
            return name
        part = output.with_name(output.name + ".part")
        with part.open("wb") as f:
            async for chunk in backup.dump(inst.database_url, bin_dir=inst.bin_dir):
                await asyncio.to_thread(f.write, chunk)
        part.replace(output)
        return str(output)
    finally:
        await inst.close()


async def _read(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as f:
        while chunk := await asyncio.to_thread(f.read, READ_BYTES):
            yield chunk


async def run_restore(settings: OperatorSettings, path: Path) -> list[str]:
    """Restore the dump at ``path`` (the web admin's restore, from a local file).

    Returns:
        The migrations applied after the dump.

    Raises:
        ValueError: ``path`` is not a dump Darkroom can restore (nothing is changed).
        StackUnreachable: See :func:`connect`.
        darkroom_db.backup.BackupError: The restore failed (maintenance stays on).
    """
    if not await backup.looks_restorable(_read(path)):
        raise ValueError(f"{path} is not a Darkroom database backup (a pg_dump .sql or .sql.gz)")
    name = path.name if path.name.startswith(backups.UPLOADED_PREFIX) else "uploaded-" + path.name
    key = backups.backup_key(name)
    inst = await connect(settings)
    try:
        await inst.storage.put(key, _read(path), content_type="application/gzip")
        applied = await backups.restore_backup(
            inst.database_url, inst.storage, name, MaintenanceFlag(inst.bus), bin_dir=inst.bin_dir
        )
        # every replica of every service reloads the restored system config
        await _announce(
            inst,
            ConfigUpdated(sections=["*"], at=_now()),
            DatabaseRestored(filename=name, migrations_applied=applied, at=_now()),
        )
        return applied
    finally:
        await inst.close()
