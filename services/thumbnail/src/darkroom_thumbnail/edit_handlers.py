"""Edited renderings: on ``darkroom.asset.edits.changed``, render the photo's preview, thumbnail
and full-size image again from the original with its edits applied (issue #19 item 2).

The edits read are those in force when the job runs (not a copy in the event), so a PUT followed
quickly by another PUT or a DELETE ends with the renderings of the last one whatever the order
of delivery. The unedited preview and thumbnail are never touched; the original is only read.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import asyncpg
import structlog
from darkroom_bus import PermanentError, subscribe
from darkroom_db import asset_edits, assets
from darkroom_events import AssetEditRendered, AssetEditsChanged
from darkroom_media import MediaError
from darkroom_runtime import Context

from darkroom_thumbnail.edit_render import Edit, render_edited, thumbhash_of
from darkroom_thumbnail.handlers import render_settings
from darkroom_thumbnail.keys import thumbs_key
from darkroom_thumbnail.render import RenderedImage

log = structlog.get_logger()

#: asset_files types of the edited renderings (0031_asset_edits.sql).
EDITED_KINDS: tuple[assets.FileType, ...] = (
    "edited_fullsize",
    "edited_preview",
    "edited_thumbnail",
)


@subscribe(
    AssetEditsChanged,
    durable="thumbnail",
    ack_wait=30.0,
    max_deliver=5,
    backoff=(1, 5, 30),
    concurrency=1,
)
async def render_edits(event: AssetEditsChanged, ctx: Context) -> None:
    """Render (or, with no edits left, remove) the edited renderings of one photo, then
    announce :class:`AssetEditRendered` (the websocket's ``AssetEditReadyV1``).

    Raises:
        PermanentError: The original cannot be decoded or the edits cannot be applied.
        darkroom_bus.Gone: The asset was deleted while the files were written.
    """
    asset_id = uuid.UUID(event.asset_id)
    started = time.perf_counter()
    asset = await assets.get_asset_for_worker(ctx.pool, asset_id)
    if asset is None:
        return
    edits = await asset_edits.list_edits(ctx.pool, asset_id)
    done = AssetEditRendered(
        asset_id=event.asset_id, owner_id=event.owner_id, edited=bool(edits), at=event.at
    )
    if not edits:
        await _remove(ctx, asset)
        await ctx.outbox.publish(done)
        log.info("thumbnail.edits_removed", asset_id=event.asset_id)
        return
    settings = render_settings(ctx)
    recorded = (asset.width, asset.height) if asset.width and asset.height else None
    async with ctx.original_file(event.asset_id, asset.original_path) as path:
        try:
            out = await ctx.run_blocking(
                render_edited,
                path,
                mime_type=asset.original_mime_type,
                edits=[Edit(e.action, e.parameters) for e in edits],
                settings=settings,
                recorded_size=recorded,
            )
        except MediaError as exc:
            raise PermanentError(str(exc)) from exc
    images: tuple[tuple[assets.FileType, RenderedImage], ...] = (
        ("edited_fullsize", out.fullsize),
        ("edited_preview", out.preview),
        ("edited_thumbnail", out.thumbnail),
    )
    # a new key per change: a client holding the old rendering's URL or ETag never gets a mix
    stamp = int(event.at.timestamp() * 1000)
    keyed = [
        (
            kind,
            thumbs_key(event.owner_id, event.asset_id, f"{kind}-{stamp}", image.mime_type[6:]),
            image,
        )
        for kind, image in images
    ]
    await asyncio.gather(
        *(ctx.storage.put(key, image.data, content_type=image.mime_type) for _, key, image in keyed)
    )
    old = [f for f in await _files(ctx, asset) if f.path not in {k for _, k, _ in keyed}]

    async def record(conn: asyncpg.Connection) -> None:
        await assets.set_thumbhash(conn, asset_id, out.thumbhash)
        for kind, key, image in keyed:
            await assets.upsert_file(
                conn,
                asset_id=asset_id,
                owner_id=uuid.UUID(event.owner_id),
                type=kind,
                path=key,
                mime_type=image.mime_type,
                width=image.width,
                height=image.height,
                size=len(image.data),
            )

    await ctx.commit_derived(asset_id, [k for _, k, _ in keyed], record, [done])
    for file in old:  # the previous edit's renderings, no longer listed
        await ctx.storage.delete(file.path)
    log.info(
        "thumbnail.edits_rendered",
        asset_id=event.asset_id,
        edits=len(edits),
        preview=f"{out.preview.width}x{out.preview.height}",
        ms=round((time.perf_counter() - started) * 1000, 1),
    )


async def _files(ctx: Context, asset: assets.Asset) -> list[assets.AssetFile]:
    """The edited renderings of an asset listed now."""
    found = [await assets.get_file(ctx.pool, asset.owner_id, asset.id, k) for k in EDITED_KINDS]
    return [f for f in found if f is not None]


async def _remove(ctx: Context, asset: assets.Asset) -> None:
    """Remove the edited renderings' rows, then their objects; the asset's ThumbHash is the
    unedited thumbnail's again."""
    for kind in EDITED_KINDS:
        key = await assets.delete_file(ctx.pool, asset.id, kind)
        if key is not None:
            await ctx.storage.delete(key)
    unedited = await assets.get_file(ctx.pool, asset.owner_id, asset.id, "thumbnail")
    if unedited is not None:
        data = await ctx.storage.get_bytes(unedited.path)
        try:
            thumbhash = await ctx.run_blocking(thumbhash_of, data)
        except MediaError as exc:
            raise PermanentError(str(exc)) from exc
        await assets.set_thumbhash(ctx.pool, asset.id, thumbhash)
