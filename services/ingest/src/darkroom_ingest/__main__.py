"""``python -m darkroom_ingest``: serve ``darkroom.rpc.ingest.upload`` (queue group "ingest") and
the storage template's moves (:mod:`darkroom_ingest.storage_template`)."""

from __future__ import annotations

import functools

from darkroom_events import IngestUploadRequest
from darkroom_runtime import Context, run_service

from darkroom_ingest.handlers import ingest_upload
from darkroom_ingest.settings import IngestSettings
from darkroom_ingest.storage_template import apply_template, recover_at_start, run_migration


async def register_rpc(ctx: Context) -> None:
    """Answer upload requests; every replica joins the queue group so they share the work.

    While PostgreSQL or the object store is unreachable the reply says so (the bus answers
    "try again later" for the service's ``server_down_errors``, set by ``darkroom_runtime``),
    and the gateway answers 503 with ``Retry-After`` rather than 500.
    """

    handle = functools.partial(ingest_upload, ctx=ctx)
    await ctx.bus.serve(IngestUploadRequest.subject, handle, IngestUploadRequest, queue="ingest")


def main() -> None:
    """Run the ingest service until SIGTERM/SIGINT."""
    run_service(
        "ingest",
        IngestSettings,
        handlers=[apply_template, run_migration],
        setup=recover_at_start,
        rpc=register_rpc,
    )


if __name__ == "__main__":
    main()
