"""Ingest: make an asset of an uploaded file. The only code that creates assets.

Steps for one upload (request/reply from the gateway, which has streamed the file to a staging
key and computed its SHA-1):

0. keep only a safe base name of the client's file name (``darkroom_media.safe_file_name``, as
   Immich keeps ``parse(originalName).base``): it is stored and later leaves the server as a
   download or archive entry name, so it must never hold a path;
1. sniff the real type from the first bytes; unsupported -> "rejected", staged file deleted;
2. de-duplicate per owner by checksum -> "duplicate" with the existing asset's id;
3. move the original to its final key, then insert the asset row (a unique index on
   (owner, checksum) settles a race between two identical uploads: the loser deletes its copy)
   and, in the same transaction, its ``darkroom.asset.created`` into the outbox (message id
   ``darkroom.asset.created:<asset id>``);
4. after the commit the event is published (:mod:`darkroom_runtime.outbox`).

The staged objects are always gone when the reply is sent. While NATS is down (a restart), or
when ingest dies between the commit and the publish, the outbox relay of any process publishes
the event once NATS is back, so the asset is processed with nobody acting.
"""

from __future__ import annotations

import uuid

import structlog
from darkroom_db import CONNECTION_ERRORS as DATABASE_DOWN_ERRORS
from darkroom_db import assets
from darkroom_events import AssetCreated, AssetHidden, IngestUploadReply, IngestUploadRequest
from darkroom_media import MediaError, safe_file_name
from darkroom_media.sniff import SNIFF_BYTES, sniff
from darkroom_runtime import Context
from darkroom_storage import NotFound

from darkroom_ingest.keys import original_key, sidecar_key

log = structlog.get_logger()


async def _head(ctx: Context, key: str) -> bytes:
    stream = await ctx.storage.open(key, start=0, end=SNIFF_BYTES)
    return await stream.read_all()


async def _announce_again_if_unprocessed(ctx: Context, asset_id: uuid.UUID) -> None:
    """Publish ``asset.created`` again for an asset whose metadata step never ran.

    An upload committed just as PostgreSQL or ingest died gets a 503, though its row exists;
    the client uploads it again and is told "duplicate". Without this its event would never be
    published and it would stay unprocessed. The message id is the asset's, so a publish that
    did happen meanwhile is de-duplicated, and every handler is idempotent anyway.
    """
    if not await assets.never_extracted(ctx.pool, asset_id):
        return
    asset = await assets.get_asset_for_worker(ctx.pool, asset_id)
    if asset is None:
        return
    await ctx.outbox.publish(AssetCreated.of(asset))
    log.info("ingest.announced_again", asset_id=str(asset.id))


async def ingest_upload(req: IngestUploadRequest, ctx: Context) -> IngestUploadReply:
    """Create an asset from a staged upload (see the module docstring for the steps).

    Returns:
        "created" or "duplicate" with the asset id, or "rejected" with a readable reason.

    Raises:
        StorageError / asyncpg errors: infrastructure failures (the gateway answers 500 and the
            client retries; staged objects are deleted either way).
    """
    owner_id = uuid.UUID(req.owner_id)
    file_name = safe_file_name(req.original_file_name, fallback="upload")
    staged = [k for k in (req.staging_key, req.sidecar_staging_key) if k]
    placed: list[str] = []
    try:
        try:
            head = await _head(ctx, req.staging_key)
        except NotFound:
            return IngestUploadReply(status="rejected", error="The uploaded file is missing")
        try:
            kind = sniff(head, file_name)
        except MediaError as exc:
            log.info(
                "ingest.rejected",
                owner_id=req.owner_id,
                file=file_name,
                reason=str(exc),
            )
            return IngestUploadReply(status="rejected", error=str(exc))
        checksum = bytes.fromhex(req.checksum)
        existing = await assets.find_by_checksum(ctx.pool, owner_id, checksum)
        if existing is not None:
            await _announce_again_if_unprocessed(ctx, existing[0])
            return IngestUploadReply(status="duplicate", asset_id=str(existing[0]))

        asset_id = uuid.uuid4()
        key = original_key(owner_id, asset_id, kind.extension)
        await ctx.storage.move(req.staging_key, key)
        placed.append(key)
        sidecar = None
        if req.sidecar_staging_key:
            sidecar = sidecar_key(key)
            await ctx.storage.move(req.sidecar_staging_key, sidecar)
            placed.append(sidecar)
        linked = False
        try:
            async with ctx.outbox.transaction() as tx:
                conn = tx.conn
                row = await assets.insert_asset(
                    conn,
                    assets.NewAsset(
                        id=asset_id,
                        owner_id=owner_id,
                        device_asset_id=req.device_asset_id,
                        device_id=req.device_id,
                        type=kind.asset_type,
                        original_path=key,
                        original_file_name=file_name,
                        original_mime_type=kind.mime_type,
                        checksum=checksum,
                        file_size=req.file_size,
                        file_created_at=req.file_created_at,
                        file_modified_at=req.file_modified_at,
                        is_favorite=req.is_favorite,
                        duration_ms=req.duration_ms,
                        sidecar_path=sidecar,
                        visibility=req.visibility,
                    ),
                )
                if row is not None and req.live_photo_video_id and kind.asset_type == "IMAGE":
                    # the client uploaded the motion part first and names it (Immich's field)
                    linked = await assets.set_live_photo_video(
                        conn, owner_id, asset_id, uuid.UUID(req.live_photo_video_id)
                    )
                    if not linked:
                        log.info(
                            "ingest.live_photo_not_linked",
                            asset_id=str(asset_id),
                            video_id=req.live_photo_video_id,
                        )
                if linked and req.live_photo_video_id:  # the motion part is hidden now
                    await tx.add(
                        AssetHidden(
                            asset_id=req.live_photo_video_id,
                            owner_id=req.owner_id,
                            still_id=str(asset_id),
                        )
                    )
                if row is not None:
                    await tx.add(AssetCreated.of(row))
        except DATABASE_DOWN_ERRORS:
            # The server died as it answered: the commit may have happened, and then the row
            # owns the placed files. Keep them: an orphan object only costs space, a row without
            # its original is lost for good (the client's retry is told "duplicate").
            placed = []
            raise
        if row is None:  # an identical upload won the race
            existing = await assets.find_by_checksum(ctx.pool, owner_id, checksum)
            assert existing is not None
            return IngestUploadReply(status="duplicate", asset_id=str(existing[0]))
        placed = []  # the asset owns them now (its events were published after the commit)
        log.info(
            "ingest.created",
            asset_id=str(asset_id),
            owner_id=req.owner_id,
            type=kind.asset_type,
            mime_type=kind.mime_type,
            bytes=req.file_size,
        )
        return IngestUploadReply(status="created", asset_id=str(asset_id))
    finally:
        for key in [*staged, *placed]:
            await ctx.storage.delete(key)
