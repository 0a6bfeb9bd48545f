"""Database backups in storage (``backups/``) and the restore flow, shared by the gateway (the
web admin, the scheduled job) and the ``darkroom backup`` / ``darkroom restore`` commands.

Backups are objects ``backups/<name>.sql.gz`` of the same storage as the originals (filesystem or
S3): :func:`create_backup` streams ``pg_dump`` into one (:mod:`darkroom_db.backup`) and then
keeps only the ``keep`` newest of Darkroom's own (Immich's ``backup.database.keepLastAmount``;
uploaded files are never pruned). :func:`restore_backup` runs a restore under maintenance mode
(:mod:`darkroom_runtime.maintenance`): on, a restore point (a dump of the database as it is),
restore and migrate, off. When the restore fails, the restore point is restored (Immich too
backs the database up before a restore and goes back to it on failure) and the server stays in
maintenance mode with the error in its status, until an admin ends it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path

import structlog
from darkroom_db import backup
from darkroom_storage import ObjectInfo, Storage

from darkroom_runtime.maintenance import OFF, MaintenanceFlag, MaintenanceState, new_secret

log = structlog.get_logger()

#: Where backups live in storage (Immich's ``backups`` storage folder).
PREFIX = "backups/"
#: Names of the backups Darkroom writes itself (the ones retention prunes).
OWN_PREFIX = "darkroom-db-backup-"
#: Prefix of an uploaded backup's name (as Immich's ``uploaded-`` files).
UPLOADED_PREFIX = "uploaded-"
#: Prefix of the dump taken before a restore (deleted once the restore succeeded).
RESTORE_POINT_PREFIX = "darkroom-restore-point-"
#: The error of a restore whose database has no admin (Immich's maintenance worker's words).
NO_ADMIN = "Server health check failed, no admin exists."


def darkroom_version() -> str:
    """Darkroom's version (the darkroom-db package's), for backup names."""
    try:
        return package_version("darkroom-db")
    except PackageNotFoundError:
        return "0"


def backup_key(name: str) -> str:
    """The storage key of backup ``name``.

    Raises:
        ValueError: ``name`` is not a plain ``.sql``/``.sql.gz`` file name.
    """
    if not backup.BACKUP_NAME.match(name):
        raise ValueError(f"not a backup file name: {name!r}")
    return PREFIX + name


async def list_backups(storage: Storage) -> list[ObjectInfo]:
    """Every backup in storage, newest name first (names start with their UTC time).

    Returns:
        Their object infos (``key`` is ``backups/<name>``, ``size`` in bytes).
    """
    found = [
        info
        async for info in storage.list_objects(PREFIX)
        if backup.BACKUP_NAME.match(info.key.removeprefix(PREFIX))
    ]
    return sorted(found, key=lambda i: i.key, reverse=True)


async def prune_backups(storage: Storage, keep: int) -> list[str]:
    """Delete Darkroom's own backups but the ``keep`` newest; the names deleted."""
    own = [
        i for i in await list_backups(storage) if i.key.removeprefix(PREFIX).startswith(OWN_PREFIX)
    ]
    gone = []
    for info in own[max(keep, 1) :]:
        await storage.delete(info.key)
        gone.append(info.key.removeprefix(PREFIX))
    return gone


async def create_backup(
    database_url: str, storage: Storage, *, keep: int, bin_dir: Path | None
) -> str:
    """Dump the database into ``backups/`` and prune older backups.

    Args:
        database_url: The database to dump.
        storage: Where backups live.
        keep: How many of Darkroom's own backups to keep (``backup.database.keepLastAmount``).
        bin_dir: Where ``pg_dump`` is (:func:`darkroom_db.backup.pg_bin_dir`).

    Returns:
        The new backup's file name.

    Raises:
        darkroom_db.backup.BackupError: ``pg_dump`` failed (nothing is stored).
    """
    name = backup.backup_file_name(
        darkroom_version(), await backup.server_version(database_url), datetime.now(UTC)
    )
    info = await storage.put(
        PREFIX + name, backup.dump(database_url, bin_dir=bin_dir), content_type="application/gzip"
    )
    pruned = await prune_backups(storage, keep)
    log.info("backup.created", name=name, bytes=info.size, pruned=pruned)
    return name


async def restore_backup(
    database_url: str,
    storage: Storage,
    name: str,
    flag: MaintenanceFlag,
    *,
    bin_dir: Path | None,
) -> list[str]:
    """Restore backup ``name`` under maintenance mode, migrate forward, end maintenance.

    Maintenance is entered first (kept if it was on already), so every gateway replica answers
    as Immich's maintenance mode while the database is replaced. The pipeline services keep
    running: their jobs fail while tables are missing and are retried with backoff
    (:mod:`darkroom_bus.runner`), and their pools reconnect after the restore ends every session.

    Args:
        database_url: The database to overwrite.
        storage: Where the backup lives.
        name: The backup's file name in ``backups/``.
        flag: The maintenance flag.
        bin_dir: Where ``psql`` is.

    Returns:
        The migrations applied after the dump.

    Raises:
        ValueError: ``name`` is not a backup name.
        darkroom_storage.NotFound: No such backup.
        darkroom_db.backup.BackupError: The restore failed, or the restored database has no
            admin (:data:`NO_ADMIN`): the database is put back from the restore point and
            maintenance stays on, with the error.
    """
    key = backup_key(name)
    await storage.head(key)  # NotFound before anything changes
    current = await flag.get(fresh=True)
    await flag.set(
        MaintenanceState(
            active=True,
            action="restore_database",
            task="restore",
            progress=0,
            secret=current.secret or new_secret(),
            started_at=current.started_at or datetime.now(UTC).timestamp(),
        )
    )
    point = RESTORE_POINT_PREFIX + backup.backup_file_name(
        darkroom_version(), await backup.server_version(database_url), datetime.now(UTC)
    ).removeprefix(OWN_PREFIX)
    await storage.put(PREFIX + point, backup.dump(database_url, bin_dir=bin_dir))
    await flag.update(progress=20)
    try:
        applied = await _restore_from(database_url, storage, key, bin_dir)
        if not await backup.has_admin(database_url):  # Immich's health check after a restore
            raise backup.BackupError(NO_ADMIN)
    except Exception as exc:
        log.error("backup.restore_failed", name=name, error=f"{type(exc).__name__}: {exc}")
        error = f"restore of {name} failed: {exc}"
        try:
            await _restore_from(database_url, storage, PREFIX + point, bin_dir)
            error += f"; the database was put back as it was ({point})"
        except Exception as again:  # noqa: BLE001 - both reported in the status
            error += f"; putting back {point} failed too: {again}"
        await flag.update(task="", error=error[-2000:])
        raise
    await storage.delete(PREFIX + point)
    await flag.set(OFF)
    log.info("backup.restored", name=name, migrations_applied=applied)
    return applied


async def _restore_from(
    database_url: str, storage: Storage, key: str, bin_dir: Path | None
) -> list[str]:
    async with await storage.open(key) as stream:
        return await backup.restore(database_url, stream, bin_dir=bin_dir)
