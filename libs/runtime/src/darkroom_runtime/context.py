"""The context handed to every event handler: the service's connections and a thread pool."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, ParamSpec, TypeVar

import asyncpg
import msgspec
import structlog
from darkroom_bus import Bus, Gone, scrub_paths
from darkroom_db import assets, jobs
from darkroom_events.catalogue import Event
from darkroom_storage import Storage, StorageError

from darkroom_runtime.live_config import LiveConfig
from darkroom_runtime.outbox import Outbox
from darkroom_runtime.settings import ServiceSettings

P = ParamSpec("P")
R = TypeVar("R")

log = structlog.get_logger()


@dataclass
class Context:
    """Dependencies of handlers, made once per process by :func:`darkroom_runtime.run_service`.

    Attributes:
        service: The service's name (its durable consumer name).
        settings: The service's settings (a subclass of :class:`ServiceSettings`).
        bus: Connected bus, for publishing the next event.
        pool: Database pool.
        storage: Object storage.
        executor: Threads for blocking work; sized by ``settings.workers``.
        config: The system config in force (``config.current``), reloaded live on
            ``darkroom.config.updated`` (:mod:`darkroom_runtime.live_config`).
        extra: Service-specific long-lived objects (models, geocoder...).
        outbox: Where handlers write the events of their changes (:mod:`darkroom_runtime.
            outbox`): ``async with ctx.outbox.transaction() as tx`` or ``ctx.outbox.publish``.
    """

    service: str
    settings: ServiceSettings
    bus: Bus
    pool: asyncpg.Pool
    storage: Storage
    executor: ThreadPoolExecutor
    config: LiveConfig
    extra: dict[str, Any] = field(default_factory=dict)
    outbox: Outbox = field(init=False)

    def __post_init__(self) -> None:
        self.outbox = Outbox(self.pool, self.bus)

    def path_roots(self) -> tuple[str, ...]:
        """Server directories that failure reasons must not show (storage root, scratch, temp).

        Relative roots are given as configured and resolved, since messages may hold either.
        """
        roots = [self.settings.storage.root, getattr(self.settings, "scratch_dir", "")]
        roots.append(tempfile.gettempdir())
        out: list[str] = []
        for root in filter(None, roots):
            out.append(root)
            out.append(str(Path(root).resolve()))
        return tuple(out)

    async def asset(self, asset_id: uuid.UUID) -> assets.Asset:
        """The asset a job is about, for handlers that need its row (owner, size, type).

        The runner has already skipped messages of assets deleted before the job started; this
        covers one deleted since.

        Raises:
            darkroom_bus.Gone: The asset was deleted for good (the runner acks quietly).
        """
        asset = await assets.get_asset_for_worker(self.pool, asset_id)
        if asset is None:
            raise Gone(str(asset_id))
        return asset

    async def commit_derived(
        self,
        asset_id: uuid.UUID,
        keys: Sequence[str],
        record: Callable[[asyncpg.Connection], Awaitable[None]],
        events: Sequence[Event] = (),
    ) -> None:
        """Record derived objects already written at ``keys``, and the events announcing them,
        unless the asset is gone.

        The write race with a force delete: a job loads its asset, the asset is deleted (rows
        and the objects they list), then the job writes its files. So, after writing, in one
        transaction: lock the asset row (:func:`darkroom_db.assets.lock_for_worker`, which
        makes a concurrent delete wait and then see the new rows), then ``record(conn)`` and
        ``events`` into the outbox; they are published after the commit (:attr:`outbox`). If
        the row is already gone, the just-written objects are deleted and :class:`Gone` raised.

        Args:
            asset_id: The asset the objects belong to.
            keys: Storage keys the job has written.
            record: Stores the result (e.g. ``assets.store_files_done``) on the connection.
            events: What to announce once it is committed (e.g. AssetThumbnailGenerated).

        Raises:
            darkroom_bus.Gone: The asset was deleted meanwhile; the objects were removed.
        """
        async with self.outbox.transaction() as tx:
            alive = await assets.lock_for_worker(tx.conn, asset_id)
            if alive:
                await record(tx.conn)
                for event in events:
                    await tx.add(event)
        if alive:
            return
        for key in keys:
            try:
                await self.storage.delete(key)
            except StorageError as exc:
                log.warning("job.orphan_delete_failed", asset_id=str(asset_id), error=str(exc))
        log.info("job.orphans_removed", asset_id=str(asset_id), objects=len(keys))
        raise Gone(str(asset_id))

    async def record_problem(self, event: Event, error: str) -> None:
        """Record a failure the handler worked around, so an admin sees it; the job goes on.

        Written to ``job_failures`` (``GET /api/queues/{name}/jobs?status=failed``) like a dead
        letter, with server paths removed, but the asset is not marked failed.

        Args:
            event: The event being handled (its subject, payload and ``asset_id``).
            error: What went wrong, e.g. ``"unreadable EXIF: ..."``.
        """
        raw = getattr(event, "asset_id", None)
        try:
            asset_id = uuid.UUID(raw) if isinstance(raw, str) else None
        except ValueError:
            asset_id = None
        await jobs.record_failure(
            self.pool,
            subject=event.subject,
            durable=self.service,
            stream_seq=None,
            deliveries=1,
            error=scrub_paths(error, self.path_roots()),
            permanent=True,
            payload=msgspec.json.encode(event),
            asset_id=asset_id,
            mark_asset=False,
        )

    async def run_blocking(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run CPU-bound or blocking ``fn`` in the worker threads, keeping context vars
        (structlog's bound asset id, the current trace span)."""
        ctx = contextvars.copy_context()
        call = functools.partial(ctx.run, fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self.executor, call)

    @contextlib.asynccontextmanager
    async def original_file(self, asset_id: uuid.UUID | str, key: str) -> AsyncIterator[Path]:
        """:meth:`local_file` of an asset's original, following a move.

        The storage template moves originals while jobs run (a job's event, or the row it
        loaded, may name the key the file just left): when ``key`` is gone, the asset's
        current ``original_path`` is read and, if it differs, opened instead (once). Every
        reader of originals goes through here, so none needs its own handling of moves.

        Args:
            asset_id: The asset.
            key: Its original's key as the caller knows it (e.g. ``event.original_key``).

        Raises:
            darkroom_storage.NotFound: The original is missing at its current key too.
            darkroom_bus.Gone: The asset was deleted meanwhile.
        """
        from darkroom_db import storage_template
        from darkroom_storage import NotFound

        async with contextlib.AsyncExitStack() as stack:
            try:
                path = await stack.enter_async_context(self.local_file(key))
            except NotFound:
                asset = uuid.UUID(str(asset_id))
                paths = await storage_template.current_original_paths(self.pool, [asset])
                current = paths.get(asset)
                if current is None:
                    raise Gone(str(asset)) from None
                if current == key:
                    raise
                log.info("original.followed_move", asset_id=str(asset))
                path = await stack.enter_async_context(self.local_file(current))
            yield path

    @contextlib.asynccontextmanager
    async def local_file(self, key: str) -> AsyncIterator[Path]:
        """A local path holding object ``key``, for libraries that read files (exiv2, PyAV...).

        On the filesystem back end this is the stored file itself (no copy; read it, never
        write it); on S3 the object is streamed to a temporary file that is removed afterwards.

        Raises:
            darkroom_storage.NotFound: No object at ``key``.
        """
        path = self.storage.local_path(key)
        if path is not None:
            if not path.is_file():
                from darkroom_storage import NotFound

                raise NotFound(key)
            yield path
            return
        scratch = getattr(self.settings, "scratch_dir", "") or None
        with tempfile.TemporaryDirectory(prefix=f"darkroom-{self.service}-", dir=scratch) as tmp:
            local = Path(tmp) / f"original{PurePosixPath(key).suffix}"
            await self.storage.download_to(key, local)
            yield local
