"""Immich's nightly tasks and the other scheduled tasks, registered with the scheduler.

Each task is ``async def task(deps: Deps) -> None`` (returning counts to log is allowed) and is
registered in :data:`TASKS` with one line: its name, the coroutine, and its schedule
(:func:`~darkroom_gateway.scheduler.nightly` for ``nightlyTasks.startTime`` under one of the
``nightlyTasks`` switches: ``nightly("database_cleanup")``; or a function returning a cron
expression, e.g.
``lambda c: c.backup.database.cron_expression if c.backup.database.enabled else None``). The
scheduler (:mod:`darkroom_gateway.scheduler`) runs each once per due time across the cluster.

What Immich's nightly job does under each switch of SystemConfigNightlyTasksDto (Immich 3.1's
documented settings; the behaviour observed, not its code):

- ``databaseCleanup``: delete the trash older than ``trash.days`` (all of it when the trash is
  off), with the files, and the users deleted more than ``user.deleteDelay`` days ago, with
  everything of theirs (:func:`database_cleanup`);
- ``generateMemories``: make the "on this day" memories and remove expired unsaved ones
  (:func:`generate_memories`);
- ``clusterNewFaces``: the facial-recognition pass over faces without a person, asked of the
  face service (:func:`cluster_new_faces`);
- ``syncQuotaUsage``: recompute every user's storage usage (:func:`sync_quota_usage`);
- ``missingThumbnails``: queue the missing-steps sweep (registered at merge with the jobs part).

Besides: database backups, library scans and the three integrity checks
(:mod:`darkroom_gateway.domain.integrity`), each on its own cron expression while enabled.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import structlog
from darkroom_db import scheduled_runs, users
from darkroom_db.system_config import SystemConfigDto
from darkroom_events import DatabaseRestored, Event
from darkroom_events.catalogue import FaceClusteringRequested
from litestar import Litestar

from darkroom_gateway.deps import Deps
from darkroom_gateway.domain import integrity
from darkroom_gateway.domain.admin_users import purge_deleted_users
from darkroom_gateway.domain.backups import scheduled_backup
from darkroom_gateway.domain.libraries import scan_all_libraries
from darkroom_gateway.domain.memories import cleanup_memories
from darkroom_gateway.domain.memories import generate_memories as make_memories
from darkroom_gateway.domain.queues import run_missing_sweep
from darkroom_gateway.domain.trash import purge_trash
from darkroom_gateway.scheduler import Task, nightly, replica_id

log = structlog.get_logger()


async def database_cleanup(deps: Deps) -> dict[str, int]:
    """Purge the trash past ``trash.days`` (everything trashed when ``trash.enabled`` is off)
    and the users deleted longer ago than ``user.deleteDelay`` days, files included.

    Args:
        deps: The gateway's connections and the config in force.

    Returns:
        ``{"trashedAssets": n, "removedUsers": m}``: what was deleted.
    """
    config = deps.config.current
    trash_days = config.trash.days if config.trash.enabled else 0
    trashed = await purge_trash(deps, timedelta(days=trash_days))
    removed = await purge_deleted_users(deps, timedelta(days=config.user.delete_delay))
    return {"trashedAssets": trashed, "removedUsers": removed}


async def generate_memories(deps: Deps) -> dict[str, int]:
    """Make every user's "on this day" memories (waiting for a run an admin started) and
    delete the expired unsaved ones.

    Returns:
        ``{"created": n, "removed": m}``.
    """
    created = await make_memories(deps, wait=True)
    removed = await cleanup_memories(deps)
    return {"created": created or 0, "removed": removed}


async def cluster_new_faces(deps: Deps) -> None:
    """Ask the face service for its "cluster new faces" pass (one face replica runs it, over
    every owner): a :class:`~darkroom_events.catalogue.FaceClusteringRequested` through the
    outbox."""
    await deps.outbox.publish(FaceClusteringRequested(requested_at=datetime.now(UTC)))


async def sync_quota_usage(deps: Deps) -> dict[str, int]:
    """Recompute every user's storage usage from their assets.

    Returns:
        ``{"corrected": n}``: users whose stored usage was wrong.
    """
    return {"corrected": await users.sync_quota_usage(deps.pool)}


def _backup_cron(config: SystemConfigDto) -> str | None:
    """The database backups' schedule: ``backup.database.cronExpression`` while backups are
    enabled (Immich's SystemConfigBackupsDto; its default ``0 02 * * *``)."""
    database = config.backup.database
    return database.cron_expression if database.enabled else None


def _library_scan_cron(config: SystemConfigDto) -> str | None:
    """The external libraries' periodic scan: ``library.scan.cronExpression`` while
    ``library.scan.enabled`` (Immich's SystemConfigLibraryScanDto)."""
    scan = config.library.scan
    return scan.cron_expression if scan.enabled else None


def _integrity_cron(section: str) -> Callable[[SystemConfigDto], str | None]:
    """An integrity check's schedule: ``integrityChecks.<section>.cronExpression`` while it is
    enabled (Immich's SystemConfigIntegrityChecks; default ``0 03 * * *``, enabled)."""

    def schedule(config: SystemConfigDto) -> str | None:
        job = getattr(config.integrity_checks, section)
        return job.cron_expression if job.enabled else None

    return schedule


#: The scheduled tasks, one line each: (name, coroutine, schedule).
TASKS: tuple[Task, ...] = (
    Task("database-cleanup", database_cleanup, nightly("database_cleanup")),
    Task("generate-memories", generate_memories, nightly("generate_memories")),
    Task("cluster-new-faces", cluster_new_faces, nightly("cluster_new_faces")),
    Task("sync-quota-usage", sync_quota_usage, nightly("sync_quota_usage")),
    Task("missing-thumbnails", run_missing_sweep, nightly("missing_thumbnails")),
    Task("backup-database", scheduled_backup, _backup_cron),
    Task("library-scan", scan_all_libraries, _library_scan_cron),
    Task(
        "integrity-missing-files",
        integrity.scheduled_missing_files,
        _integrity_cron("missing_files"),
    ),
    Task(
        "integrity-untracked-files",
        integrity.scheduled_untracked_files,
        _integrity_cron("untracked_files"),
    ),
    Task(
        "integrity-checksum-files", integrity.scheduled_checksums, _integrity_cron("checksum_files")
    ),
)


#: The ``scheduled_runs`` task name of the "missing" sweep after a database restore (its due
#: time is the restore's time: one run per restore across the replicas).
RESTORE_SWEEP_TASK = "missing-after-restore"


async def sweep_after_restore(deps: Deps, event: DatabaseRestored, replica: str) -> bool:
    """Queue "missing" for every queue once per restore (issue #15 item 5: a restored database
    knows assets whose derived files, or newer steps, the storage lacks).

    Every gateway replica sees the event; the run is claimed in ``scheduled_runs`` as the
    scheduler's runs are, so exactly one replica sweeps.

    Args:
        deps: The gateway's connections (to the restored database).
        event: The restore that finished.
        replica: This replica's id (:func:`~darkroom_gateway.scheduler.replica_id`).

    Returns:
        True when this replica ran the sweep.
    """
    if not await scheduled_runs.claim(deps.pool, RESTORE_SWEEP_TASK, event.at, replica):
        return False
    error = None
    try:
        await run_missing_sweep(deps)
    except Exception as exc:  # noqa: BLE001 - recorded on the run; the nightly sweep retries
        error = f"{type(exc).__name__}: {exc}"
        log.warning("restore.sweep_failed", error=error)
    await scheduled_runs.finish(deps.pool, RESTORE_SWEEP_TASK, event.at, replica, error=error)
    log.info("restore.sweep_queued", backup=event.filename, failed=error is not None)
    return error is None


@contextlib.asynccontextmanager
async def restore_sweeper(app: Litestar) -> AsyncIterator[None]:
    """Litestar lifespan: run :func:`sweep_after_restore` for every ``darkroom.backup.restored``
    while the application runs (after the lifespan that sets ``app.state.deps``).

    Args:
        app: The gateway application.

    Yields:
        While the application runs.
    """
    deps: Deps = app.state.deps
    replica = replica_id()

    async def on_restored(event: Event) -> None:
        if isinstance(event, DatabaseRestored):
            await sweep_after_restore(deps, event, replica)

    subs = await deps.bus.watch([DatabaseRestored], on_restored)
    try:
        yield
    finally:
        for sub in subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
