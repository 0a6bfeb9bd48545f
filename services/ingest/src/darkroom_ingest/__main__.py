"""``python -m darkroom_ingest``: serve ``darkroom.rpc.ingest.upload`` (queue group "ingest"),
the storage template's moves (:mod:`darkroom_ingest.storage_template`), and scan external
libraries and watch their folders."""

from __future__ import annotations

import asyncio
import functools

from darkroom_events import IngestUploadRequest
from darkroom_runtime import Context, run_service

from darkroom_ingest.handlers import ingest_upload
from darkroom_ingest.scan import check_paths, walk_library
from darkroom_ingest.settings import IngestSettings
from darkroom_ingest.storage_template import apply_template, recover_at_start, run_migration
from darkroom_ingest.watch import watch_libraries


async def register_rpc(ctx: Context) -> None:
    """Answer upload requests; every replica joins the queue group so they share the work.

    While PostgreSQL or the object store is unreachable the reply says so (the bus answers
    "try again later" for the service's ``server_down_errors``, set by ``darkroom_runtime``),
    and the gateway answers 503 with ``Retry-After`` rather than 500.
    """

    handle = functools.partial(ingest_upload, ctx=ctx)
    await ctx.bus.serve(IngestUploadRequest.subject, handle, IngestUploadRequest, queue="ingest")


async def start_watcher(ctx: Context) -> None:
    """Start the library file watcher (:mod:`darkroom_ingest.watch`) for the process's life."""
    settings = ctx.settings
    refresh = settings.library_watch_refresh_s if isinstance(settings, IngestSettings) else 2.0
    ctx.extra["library_watcher"] = asyncio.create_task(watch_libraries(ctx, refresh))


async def setup(ctx: Context) -> None:
    """Start-up: settle the storage template moves a crash left, then start the watcher."""
    await recover_at_start(ctx)
    await start_watcher(ctx)


def main() -> None:
    """Run the ingest service until SIGTERM/SIGINT."""
    run_service(
        "ingest",
        IngestSettings,
        handlers=[apply_template, run_migration, walk_library, check_paths],
        setup=setup,
        rpc=register_rpc,
    )


if __name__ == "__main__":
    main()
