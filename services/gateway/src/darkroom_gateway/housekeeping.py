"""Periodic clean-up: what uploads leave behind in storage, and old sync deletion audits.

The gateway streams every upload's file parts to ``staging/<userId>/<uuid>`` and hands them to
ingest, which moves or deletes them; a refused or truncated request deletes its own. What is
left there after a crash, a lost RPC or a killed process is counted in no quota and would stay
forever: :func:`staging_sweeper` removes staged objects older than
``staging_max_age_s`` (a day by default) every ``staging_sweep_interval_s`` (an hour), together
with the leftovers of interrupted writes (:meth:`darkroom_storage.Storage.sweep_temp`).

The mobile sync stream tells apps of deletions from audit tables that would otherwise grow
forever: :func:`sync_audit_pruner` removes rows older than ``sync_audit_retention_days`` once a
day (:func:`darkroom_db.sync.prune_audit`); apps that had not synced since get a reset.

The nightly tasks (purges, memories, face clustering, quota usage) are not periodic loops but
scheduled runs at ``nightlyTasks.startTime``, once per due time across the replicas:
:mod:`darkroom_gateway.scheduler` and :mod:`darkroom_gateway.nightly`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import Any

import asyncpg
import structlog
from darkroom_db import sync
from darkroom_storage import Storage, StorageError
from litestar import Litestar

log = structlog.get_logger()

#: Key prefix under which the gateway stages upload parts (``staging/<userId>/<uuid>``).
STAGING_PREFIX = "staging/"


async def sweep_staging(storage: Storage, older_than: timedelta) -> int:
    """One sweep: delete staged objects and interrupted writes older than ``older_than``.

    Args:
        storage: The gateway's storage.
        older_than: Minimum age of what is removed; far longer than any upload takes.

    Returns:
        How many objects and leftovers were removed.

    Raises:
        StorageError: The staging sweep failed (a failed leftover sweep is only logged).
    """
    staged = await storage.sweep(STAGING_PREFIX, older_than)
    try:
        temp = await storage.sweep_temp(older_than)
    except StorageError as exc:  # e.g. an S3 service without ListMultipartUploads
        log.warning("staging.temp_sweep_failed", error=repr(exc))
        temp = 0
    log.info("staging.swept", staged=staged, temp=temp, older_than_s=older_than.total_seconds())
    return staged + temp


async def _every(interval: timedelta, run: Callable[[], Awaitable[object]], failed: str) -> None:
    """Await ``run()`` now and then every ``interval``, forever; a failed run is logged as
    ``failed`` and does not stop the next ones."""
    while True:
        try:
            await run()
        except Exception as exc:  # noqa: BLE001 - a failed run must not stop the next ones
            log.warning(failed, error=repr(exc))
        await asyncio.sleep(interval.total_seconds())


@contextlib.asynccontextmanager
async def _in_background(job: Coroutine[Any, Any, None]) -> AsyncIterator[None]:
    """Run ``job`` as a task while the block runs; cancel it and wait for it on exit."""
    task = asyncio.create_task(job)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def staging_sweeper(app: Litestar) -> AsyncIterator[None]:
    """Litestar lifespan: sweep ``staging/`` at start-up, then every interval, until shutdown.

    Uses ``app.state.deps`` (so it must come after the lifespan that sets it) and its settings
    ``staging_sweep_interval_s`` (0 turns the sweeper off) and ``staging_max_age_s``.

    Args:
        app: The gateway application.

    Yields:
        While the application runs.
    """
    deps = app.state.deps
    settings = deps.settings
    if settings.staging_sweep_interval_s <= 0:
        yield
        return
    async with _in_background(
        _every(
            timedelta(seconds=settings.staging_sweep_interval_s),
            functools.partial(
                sweep_staging, deps.storage, timedelta(seconds=settings.staging_max_age_s)
            ),
            "staging.sweep_failed",
        )
    ):
        yield


#: How often each gateway prunes the sync audit tables (a day; the retention is counted in days).
AUDIT_PRUNE_INTERVAL = timedelta(days=1)


async def _prune(pool: asyncpg.Pool, days: int) -> None:
    removed = await sync.prune_audit(pool, timedelta(days=days))
    log.info("sync.audit_pruned", removed=removed, older_than_days=days)


@contextlib.asynccontextmanager
async def sync_audit_pruner(app: Litestar) -> AsyncIterator[None]:
    """Litestar lifespan: prune sync audit rows older than ``sync_audit_retention_days`` at
    start-up, then every :data:`AUDIT_PRUNE_INTERVAL`, until shutdown (0 days: never).

    Args:
        app: The gateway application (``app.state.deps`` must be set).

    Yields:
        While the application runs.
    """
    deps = app.state.deps
    days = deps.settings.sync_audit_retention_days
    if days <= 0:
        yield
        return
    async with _in_background(
        _every(
            AUDIT_PRUNE_INTERVAL,
            functools.partial(_prune, deps.pool, days),
            "sync.audit_prune_failed",
        )
    ):
        yield


@contextlib.asynccontextmanager
async def outbox_relay(app: Litestar) -> AsyncIterator[None]:
    """Litestar lifespan: run this replica's outbox relay (:meth:`darkroom_runtime.outbox.
    Outbox.run_relay`) until shutdown, as every pipeline process does: it publishes the events
    a crash or a NATS outage left in the outbox, whoever wrote them.

    Uses ``app.state.deps`` (so it must come after the lifespan that sets it).

    Args:
        app: The gateway application.

    Yields:
        While the application runs.
    """
    async with _in_background(app.state.deps.outbox.run_relay()):
        yield
