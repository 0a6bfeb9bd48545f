"""The library file watcher: while ``library.watch.enabled`` is on (system config, live), changes
under every library's import paths become ``darkroom.library.scan.batch`` messages.

It uses ``watchfiles`` (inotify on Linux, polling elsewhere). The set of watched folders is
re-read every ``DARKROOM_LIBRARY_WATCH_REFRESH_S`` seconds: when a library is created, edited or
deleted, or watching is switched on or off, the watch restarts. A changed path is only named in
a batch; :func:`darkroom_ingest.scan.check_paths` decides what it means (a new file, a changed
one, one gone offline), exactly as for a scan, so a change reported twice (every ingest replica
watches, or the editor wrote the file in two steps) does nothing more than once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import uuid
from collections import defaultdict

import structlog
import watchfiles
from darkroom_db import libraries
from darkroom_events import LibraryScanBatch, LibraryScanRequested
from darkroom_media.types import media_type_for
from darkroom_runtime import Context

log = structlog.get_logger()

#: (library id, import paths, exclusion patterns) of every library, or None while off.
Watched = tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] | None


async def _watched(ctx: Context) -> Watched:
    if not ctx.config.current.library.watch.enabled:
        return None
    return tuple(
        (str(lib.id), tuple(lib.import_paths), tuple(lib.exclusion_patterns))
        for lib in await libraries.list_all(ctx.pool)
    )


def _existing_roots(watched: Watched) -> list[str]:
    return sorted({r for _id, rs, _p in watched or () for r in rs if os.path.isdir(r)})


def _owner(path: str, watched: Watched) -> str | None:
    for library_id, roots, _patterns in watched or ():
        if any(path.startswith(root.rstrip("/") + "/") for root in roots):
            return library_id
    return None


async def _until_changed(ctx: Context, watched: Watched, stop: asyncio.Event, every: float) -> None:
    while not stop.is_set():
        await asyncio.sleep(every)
        with contextlib.suppress(Exception):  # a database hiccup keeps the current watch
            if await _watched(ctx) != watched:
                stop.set()


async def _publish(
    ctx: Context, changes: set[tuple[watchfiles.Change, str]], watched: Watched
) -> None:
    by_library: dict[str, list[str]] = defaultdict(list)
    for _change, path in changes:
        if media_type_for(os.path.basename(path)) is None:
            continue
        library_id = _owner(path, watched)
        if library_id is not None:
            by_library[library_id].append(path)
    for library_id, paths in by_library.items():
        await ctx.outbox.publish(
            LibraryScanBatch(
                library_id=library_id,
                scan_id=f"watch-{uuid.uuid4()}",
                index=0,
                paths=sorted(set(paths)),
            )
        )
        log.info("library.watch_changes", library_id=library_id, paths=len(paths))


async def _catch_up(ctx: Context, watched: Watched, already: Watched) -> None:
    """Scan the libraries this process had not been watching as they are now: what changed
    before the watch was set up (a library just created, a process just started) is found."""
    for entry in watched or ():
        if entry in (already or ()):
            continue
        library_id = entry[0]
        digest = hashlib.sha1(repr(entry).encode(), usedforsecurity=False).hexdigest()[:16]
        # the same id from every replica starting together: JetStream keeps one of them
        await ctx.outbox.publish(
            LibraryScanRequested(library_id=library_id, scan_id=f"watch-{library_id}-{digest}")
        )


async def watch_libraries(ctx: Context, refresh_s: float) -> None:
    """Watch every library's import paths while watching is on; runs until cancelled.

    Once the watch is in place (watchfiles' first yield, on a change or a 1 s timeout), the
    libraries newly watched are scanned once (:func:`_catch_up`), so a file added between a
    library's creation (or a restart) and the start of the watch is not missed.

    Args:
        ctx: The ingest context.
        refresh_s: Seconds between two looks at the libraries and the config.
    """
    already: Watched = None
    while True:
        try:
            watched = await _watched(ctx)
            roots = await asyncio.to_thread(_existing_roots, watched)
            stop = asyncio.Event()
            checker = asyncio.create_task(_until_changed(ctx, watched, stop, refresh_s))
            try:
                if not roots:
                    already = watched
                    await stop.wait()
                    continue
                log.info("library.watching", folders=len(roots))
                caught_up = False
                async for changes in watchfiles.awatch(
                    *roots,
                    stop_event=stop,
                    debounce=500,
                    rust_timeout=1000,
                    yield_on_timeout=True,
                    ignore_permission_denied=True,
                ):
                    if not caught_up:
                        await _catch_up(ctx, watched, already)
                        already, caught_up = watched, True
                    if changes:
                        await _publish(ctx, changes, watched)
            finally:
                checker.cancel()
                await asyncio.gather(checker, return_exceptions=True)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a watch that failed starts again
            log.warning("library.watch_failed", error=f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(refresh_s)
