"""Full-size renderings (issue #19 item 4): a JPEG/WebP of the whole original for photos a
browser cannot show (HEIC, RAW/DNG, TIFF...), served for ``?size=fullsize`` and loaded by the
web viewer when it zooms past the preview.

As Immich (``image.fullsize.enabled``, default off: "generate full-size image for
non-web-friendly images"), the rendering is made by the thumbnail job when the setting is on,
with ``image.fullsize.format``/``quality``, and kept as the asset's ``fullsize`` file; while it
is off, or for an asset rendered before it was turned on (until its thumbnails are regenerated:
Jobs > Generate thumbnails > All), the gateway serves the preview instead. Originals a browser
shows (JPEG, PNG, WebP, GIF, AVIF) are served themselves and get no rendering.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import asyncpg
import msgspec
import pyvips
import structlog
from darkroom_bus import PermanentError, subscribe
from darkroom_db import assets
from darkroom_events import AssetThumbnailGenerated
from darkroom_media import MediaError
from darkroom_media.errors import CorruptMediaError, UnsupportedMediaError
from darkroom_media.types import WEB_IMAGE_MIME_TYPES
from darkroom_runtime import Context

from darkroom_thumbnail import render as r
from darkroom_thumbnail.handlers import render_settings
from darkroom_thumbnail.keys import thumbs_key
from darkroom_thumbnail.render import ImageFormat, RenderedImage, RenderSettings

log = structlog.get_logger()

#: A "preview size" no photo reaches: the decoders then keep every pixel (they never enlarge).
_FULL = 10_000_000


def render_fullsize(
    path: Path, *, mime_type: str, settings: RenderSettings, fmt: ImageFormat, quality: int
) -> RenderedImage:
    """The whole original, upright (EXIF/HEIF orientation applied), sRGB, without metadata.

    Uses the preview decoders of :mod:`darkroom_thumbnail.render` with a size no photo reaches,
    so HEIC, RAW (demosaiced: an embedded preview is smaller than the sensor) and TIFF come out
    at their full dimensions.

    Args:
        path: The original (read only).
        mime_type: Its sniffed type.
        settings: Rendering settings (the pixel limit applies).
        fmt: ``image.fullsize.format``.
        quality: ``image.fullsize.quality``, 1-100.

    Raises:
        UnsupportedMediaError: Not a photo this service decodes.
        CorruptMediaError: It cannot be decoded.
    """
    mime = mime_type.split(";", 1)[0].strip().lower()
    full = msgspec.structs.replace(settings, preview_size=_FULL)
    if mime in r._VIPS_MIME_TYPES:
        decode = r._preview_vips
    elif mime in r._HEIF_MIME_TYPES:
        decode = r._preview_heif
    elif mime in r._PILLOW_MIME_TYPES:
        decode = r._preview_pillow
    elif mime in r._RAW_MIME_TYPES:
        decode = r._preview_raw
    else:
        raise UnsupportedMediaError(f"no full-size renderer for {mime_type!r}")
    try:
        image = r._finish(decode(path, full))
        data = r._encode(image, fmt, quality)
    except MediaError:
        raise
    except (pyvips.Error, OSError, ValueError) as error:
        raise CorruptMediaError(f"cannot decode {mime}: {r._describe(error)}") from error
    return RenderedImage(data, image.width, image.height, f"image/{fmt}")


@subscribe(
    AssetThumbnailGenerated,
    durable="thumbnail",
    ack_wait=30.0,
    max_deliver=5,
    backoff=(1, 5, 30),
    concurrency=1,
)
async def generate_fullsize(event: AssetThumbnailGenerated, ctx: Context) -> None:
    """Render and keep the full-size image of a photo browsers cannot show, when
    ``image.fullsize.enabled`` (read live from the system config).

    Runs after the previews (``darkroom.asset.thumbnail.generated``), so regenerating thumbnails
    makes it too. Idempotent: the object is overwritten at a fixed key and its row upserted.

    Raises:
        PermanentError: The original cannot be decoded.
        darkroom_bus.Gone: The asset was deleted meanwhile (no file is left behind).
    """
    fullsize = ctx.config.current.image.fullsize
    if not fullsize.enabled or event.type != "IMAGE":
        return
    asset_id = uuid.UUID(event.asset_id)
    asset = await ctx.asset(asset_id)
    if asset.original_mime_type in WEB_IMAGE_MIME_TYPES:
        return
    started = time.perf_counter()
    settings = render_settings(ctx)
    async with ctx.original_file(event.asset_id, asset.original_path) as path:
        try:
            out = await ctx.run_blocking(
                render_fullsize,
                path,
                mime_type=asset.original_mime_type,
                settings=settings,
                fmt=fullsize.format,
                quality=fullsize.quality,
            )
        except UnsupportedMediaError:
            return  # nothing to render (not a photo type we decode): the preview stands in
        except MediaError as exc:
            raise PermanentError(str(exc)) from exc
    key = thumbs_key(event.owner_id, event.asset_id, "fullsize", fullsize.format)
    await ctx.storage.put(key, out.data, content_type=out.mime_type)

    async def record(conn: asyncpg.Connection) -> None:
        await assets.upsert_file(
            conn,
            asset_id=asset_id,
            owner_id=uuid.UUID(event.owner_id),
            type="fullsize",
            path=key,
            mime_type=out.mime_type,
            width=out.width,
            height=out.height,
            size=len(out.data),
        )

    await ctx.commit_derived(asset_id, [key], record)
    log.info(
        "thumbnail.fullsize_generated",
        asset_id=event.asset_id,
        size=f"{out.width}x{out.height}",
        ms=round((time.perf_counter() - started) * 1000, 1),
    )
