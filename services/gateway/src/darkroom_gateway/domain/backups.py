"""Database backups (spec "Database Backups (admin)"): list, download, upload, delete, the
restore flow of a fresh server, and the backup job.

Backups are gzip-compressed plain SQL dumps in storage ``backups/``
(:mod:`darkroom_runtime.backups`, :mod:`darkroom_db.backup`), named
``darkroom-db-backup-<UTC YYYYMMDDTHHMMSS>-v<version>-pg<version>.sql.gz`` (Immich's are
``immich-db-backup-...``); an uploaded one is kept as ``uploaded-<its name>``, as Immich does.
Every route is admin-only and also takes the maintenance login (``maintenance_token``), as
Immich's maintenance worker serves them; ``start-restore`` is public but only for a server with
no user yet (Immich: "Immich must not be configured").

For the lead (other parts wire these): :func:`backup_database` (the ``backup-database`` manual
job, :func:`backup_database_job`), :func:`scheduled_backup` (the nightly-task scheduler, on
``backup.database.cronExpression``) and :func:`start` (the ``backupDatabase`` queue's start).
"""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import structlog
from darkroom_db import backup
from darkroom_events import BackupCreated
from darkroom_runtime import backups
from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.response import Stream

from darkroom_gateway.announce import announce
from darkroom_gateway.auth import Auth
from darkroom_gateway.deps import Deps
from darkroom_gateway.domain.maintenance import (
    RESTORE_FLOW_USERNAME,
    enter_maintenance,
    maintenance_cookie,
    server_is_set_up,
)
from darkroom_gateway.errors import BadRequest
from darkroom_gateway.media import serve_object
from darkroom_gateway.upload import stream_upload

log = structlog.get_logger()

#: Backups' names carry their UTC time: every backup is listed with this timezone.
BACKUP_TIMEZONE = "UTC"


async def backup_database(deps: Deps) -> str:
    """Dump the database into storage ``backups/`` now, keeping the
    ``backup.database.keepLastAmount`` newest of Darkroom's backups.

    Args:
        deps: The gateway's connections and system config.

    Returns:
        The new backup's file name.

    Raises:
        darkroom_db.backup.BackupError: ``pg_dump`` failed (nothing is stored).
    """
    name = await backups.create_backup(
        deps.settings.database_url,
        deps.storage,
        keep=deps.config.current.backup.database.keep_last_amount,
        bin_dir=backup.pg_bin_dir(deps.settings.pg_bin_dir),
    )
    info = await deps.storage.head(backups.backup_key(name))
    await announce(deps, BackupCreated(filename=name, size=info.size, at=datetime.now(UTC)))
    return name


async def backup_database_job(deps: Deps) -> None:
    """The ``backup-database`` manual job (``POST /api/jobs``): :func:`backup_database`."""
    await backup_database(deps)


async def scheduled_backup(deps: Deps) -> None:
    """The nightly task on ``backup.database.cronExpression``: :func:`backup_database` when
    ``backup.database.enabled``."""
    if deps.config.current.backup.database.enabled:
        await backup_database(deps)


async def start(deps: Deps, force: bool) -> None:
    """Start the ``backupDatabase`` queue (Immich's queue command ``start``): one backup now.

    Args:
        deps: The gateway's connections.
        force: Ignored (a backup has no "missing" and "all").
    """
    await backup_database(deps)


class DatabaseBackup(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: DatabaseBackupDto (``filesize`` in bytes)."""

    filename: str
    filesize: int
    timezone: str


class DatabaseBackupList(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: DatabaseBackupListResponseDto."""

    backups: list[DatabaseBackup]


class DatabaseBackupDelete(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: DatabaseBackupDeleteDto."""

    backups: list[str]


def _key(name: str) -> str:
    try:
        return backups.backup_key(name)
    except ValueError:
        raise BadRequest(f"Invalid backup file name: {name}") from None


class DatabaseBackupController(Controller):
    """/api/admin/database-backups."""

    path = "/api/admin/database-backups"

    @get("/", admin=True, permission="maintenance", maintenance_token=True)
    async def list_backups(
        self, auth: NamedDependency[Auth | None], deps: NamedDependency[Deps]
    ) -> DatabaseBackupList:
        """Spec listDatabaseBackups: every backup, newest first, with its size."""
        return DatabaseBackupList(
            backups=[
                DatabaseBackup(
                    filename=i.key.removeprefix(backups.PREFIX),
                    filesize=i.size,
                    timezone=BACKUP_TIMEZONE,
                )
                for i in await backups.list_backups(deps.storage)
            ]
        )

    @get("/{filename:str}", admin=True, permission="backup.download", maintenance_token=True)
    async def download_backup(
        self,
        filename: FromPath[str],
        request: Request,
        auth: NamedDependency[Auth | None],
        deps: NamedDependency[Deps],
    ) -> Response[bytes] | Stream:
        """Spec downloadDatabaseBackup: the file, streamed, as an attachment, typed as Immich's
        ``downloadDatabaseBackup`` types it (``application/gzip`` for ``.gz``, else
        ``application/sql``).

        Raises:
            BadRequest: Not a backup file name.
        """
        key = _key(filename)
        info = await deps.storage.head(key)  # storage NotFound: 404
        return await serve_object(
            request,
            deps.storage,
            key,
            media_type="application/gzip" if filename.endswith(".gz") else "application/sql",
            size=info.size,
            etag=info.etag or f"{info.size}-{filename}",
            filename=filename,
            cache_control="private, no-store",
        )

    @delete("/", status_code=200, admin=True, permission="backup.delete", maintenance_token=True)
    async def delete_backups(
        self,
        data: JSONBody[DatabaseBackupDelete],
        auth: NamedDependency[Auth | None],
        deps: NamedDependency[Deps],
    ) -> None:
        """Spec deleteDatabaseBackup: delete the named backups (a name not there is ignored).

        Raises:
            BadRequest: A name that is not a backup file name (nothing is deleted).
        """
        keys = [_key(name) for name in data.backups]
        for key in keys:
            await deps.storage.delete(key)
        log.info("backup.deleted", names=data.backups)

    @post(
        "/upload",
        status_code=201,
        request_max_body_size=None,
        admin=True,
        permission="backup.upload",
        maintenance_token=True,
    )
    async def upload_backup(
        self, request: Request, auth: NamedDependency[Auth | None], deps: NamedDependency[Deps]
    ) -> None:
        """Spec uploadDatabaseBackup: store a ``.sql``/``.sql.gz`` (multipart ``file``) as
        ``uploaded-<name>`` once it is known to be a dump Darkroom can restore.

        Raises:
            BadRequest: No file, a name not ending in ``.sql``/``.sql.gz``, or not a plain
                ``pg_dump`` of a Darkroom database (gzip-compressed or not).
        """
        parsed = await stream_upload(
            request.stream(),
            request.headers.get("content-type", ""),
            deps.storage,
            files={"file": None},
            staging_prefix="staging/backups",
            queue_chunks=deps.settings.upload_queue_chunks,
        )
        staged = [f.key for f in parsed.files.values()]
        try:
            file = parsed.files.get("file")
            if file is None:
                raise BadRequest("file is required")
            name = file.filename.rsplit("/", 1)[-1]
            if not name.startswith(backups.UPLOADED_PREFIX):
                name = backups.UPLOADED_PREFIX + name
            key = _key(name)
            async with await deps.storage.open(file.key) as stream:
                ok = await backup.looks_restorable(stream)
            if not ok:
                raise BadRequest("Not a Darkroom database backup (a pg_dump .sql or .sql.gz)")
            await deps.storage.move(file.key, key)
            staged.remove(file.key)
        finally:
            for leftover in staged:
                await deps.storage.delete(leftover)
        log.info("backup.uploaded", name=name, bytes=file.size)

    @post("/start-restore", status_code=201)
    async def start_restore(self, request: Request, deps: NamedDependency[Deps]) -> Response[None]:
        """Spec startDatabaseRestoreFlow: a server with no user yet enters maintenance mode to
        restore a backup; the answer sets the maintenance login cookie (a token of ``admin``,
        as Immich's ``startRestoreFlow``).

        Raises:
            BadRequest: The server is set up already (Immich: "The server already has an
                admin"; an admin restores from the admin pages).
        """
        if await server_is_set_up(deps):
            raise BadRequest("The server already has an admin")
        state = await enter_maintenance(deps, "select_database_restore")
        cookie = maintenance_cookie(request, state, RESTORE_FLOW_USERNAME)
        return Response(None, status_code=201, cookies=[cookie])


ROUTES = [DatabaseBackupController]
