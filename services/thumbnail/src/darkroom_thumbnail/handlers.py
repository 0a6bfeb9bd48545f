"""Thumbnail handler: render an asset's preview, thumbnail and thumbhash, and store them."""

from __future__ import annotations

import asyncio
import time
import uuid

import asyncpg
import msgspec
import structlog
from darkroom_bus import PermanentError, subscribe
from darkroom_db import assets
from darkroom_events import AssetMetadataExtracted, AssetThumbnailGenerated
from darkroom_media import MediaError
from darkroom_runtime import Context

from darkroom_thumbnail.keys import thumbs_key
from darkroom_thumbnail.render import RenderedImage, RenderSettings, render

log = structlog.get_logger()


def render_settings(ctx: Context) -> RenderSettings:
    """The rendering settings of the next job: the service's own (``DARKROOM_RENDER_*``: the
    pixel limit) with the sizes, formats and qualities of the system config now in force.

    The ``DARKROOM_RENDER_*`` sizes and qualities are the config's defaults
    (:data:`darkroom_db.system_config.ENV_DEFAULTS`), so with nothing saved they apply as before.
    """
    own: RenderSettings = getattr(ctx.settings, "render", RenderSettings())
    image = ctx.config.current.image
    return msgspec.structs.replace(
        own,
        preview_size=image.preview.size,
        preview_quality=image.preview.quality,
        preview_format=image.preview.format,
        thumbnail_size=image.thumbnail.size,
        thumbnail_quality=image.thumbnail.quality,
        thumbnail_format=image.thumbnail.format,
    )


@subscribe(
    AssetMetadataExtracted,
    durable="thumbnail",
    ack_wait=10.0,
    max_deliver=5,
    backoff=(1, 5, 30),
    concurrency=2,
)
async def generate_thumbnails(event: AssetMetadataExtracted, ctx: Context) -> None:
    """Render the preview (1440 px JPEG) and thumbnail (250 px WebP) of one asset, at the sizes,
    formats and qualities of the system config in force (``image.preview``/``image.thumbnail``,
    reloaded live: :func:`render_settings`).

    Idempotent: objects are overwritten at fixed keys and rows upserted on redelivery. A job for
    an asset deleted before it started is skipped by the runner; one deleted while it rendered
    leaves no file behind (:meth:`Context.commit_derived`).

    Raises:
        PermanentError: The original cannot be decoded (the asset is marked failed).
        darkroom_bus.Gone: The asset was deleted while the files were written.
    """
    asset_id = uuid.UUID(event.asset_id)
    started = time.perf_counter()
    settings = render_settings(ctx)
    async with ctx.original_file(event.asset_id, event.original_key) as path:
        try:
            out = await ctx.run_blocking(render, path, mime_type=event.mime_type, settings=settings)
        except MediaError as exc:
            raise PermanentError(str(exc)) from exc
    preview_key = thumbs_key(event.owner_id, event.asset_id, "preview", settings.preview_format)
    thumbnail_key = thumbs_key(
        event.owner_id, event.asset_id, "thumbnail", settings.thumbnail_format
    )
    # Both objects in parallel (each fsynced in its own thread), then one atomic statement.
    await asyncio.gather(
        ctx.storage.put(preview_key, out.preview.data, content_type=out.preview.mime_type),
        ctx.storage.put(thumbnail_key, out.thumbnail.data, content_type=out.thumbnail.mime_type),
    )
    kinds: tuple[tuple[assets.FileType, str, RenderedImage], ...] = (
        ("preview", preview_key, out.preview),
        ("thumbnail", thumbnail_key, out.thumbnail),
    )
    files = [
        assets.NewFile(
            type=kind,
            path=key,
            mime_type=image.mime_type,
            width=image.width,
            height=image.height,
            size=len(image.data),
        )
        for kind, key, image in kinds
    ]

    async def record(conn: asyncpg.Connection) -> None:
        await assets.store_files_done(
            conn,
            asset_id=asset_id,
            owner_id=uuid.UUID(event.owner_id),
            files=files,
            thumbhash=out.thumbhash,
            step="thumbnail",
        )

    generated = AssetThumbnailGenerated(
        asset_id=event.asset_id,
        owner_id=event.owner_id,
        type=event.type,
        preview_key=preview_key,
        thumbnail_key=thumbnail_key,
        preview_width=out.preview.width,
        preview_height=out.preview.height,
    )
    await ctx.commit_derived(asset_id, [preview_key, thumbnail_key], record, [generated])
    log.info(
        "thumbnail.generated",
        asset_id=event.asset_id,
        ms=round((time.perf_counter() - started) * 1000, 1),
        preview=f"{out.preview.width}x{out.preview.height}",
        thumbnail=f"{out.thumbnail.width}x{out.thumbnail.height}",
    )
