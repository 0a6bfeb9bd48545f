"""``python -m darkroom_ingest``: serve ``darkroom.rpc.ingest.upload`` (queue group "ingest")."""

from __future__ import annotations

from darkroom_bus import Unavailable
from darkroom_db import CONNECTION_ERRORS
from darkroom_events import IngestUploadRequest
from darkroom_runtime import Context, run_service
from darkroom_storage import StorageUnavailable

from darkroom_ingest.handlers import ingest_upload
from darkroom_ingest.settings import IngestSettings


async def register_rpc(ctx: Context) -> None:
    """Answer upload requests; every replica joins the queue group so they share the work.

    While PostgreSQL or the object store is unreachable the reply says so
    (:class:`~darkroom_bus.Unavailable`), and the gateway answers 503 with ``Retry-After``
    rather than 500.
    """

    async def handle(req: IngestUploadRequest):  # type: ignore[no-untyped-def]
        try:
            return await ingest_upload(req, ctx)
        except (*CONNECTION_ERRORS, StorageUnavailable) as exc:
            raise Unavailable(f"a server ingest needs is unreachable: {exc!r}") from exc

    await ctx.bus.serve(IngestUploadRequest.subject, handle, IngestUploadRequest, queue="ingest")


def main() -> None:
    """Run the ingest service until SIGTERM/SIGINT."""
    run_service("ingest", IngestSettings, handlers=[], rpc=register_rpc)


if __name__ == "__main__":
    main()
