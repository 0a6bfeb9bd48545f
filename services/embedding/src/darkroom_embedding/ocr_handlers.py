"""OCR handler: read the text in an asset's preview and store it for search."""

from __future__ import annotations

import time
import uuid

import structlog
from darkroom_bus import PermanentError, subscribe
from darkroom_db import assets, ocr
from darkroom_events import AssetThumbnailGenerated
from darkroom_runtime import Context

from darkroom_embedding.ocr import OcrEngine

log = structlog.get_logger()


def engine_of(ctx: Context) -> OcrEngine:
    """The process's OCR engine (made on first use, kept in ``ctx.extra["ocr"]``)."""
    engine = ctx.extra.get("ocr")
    if engine is None:
        engine = ctx.extra["ocr"] = OcrEngine()
    return engine


@subscribe(
    AssetThumbnailGenerated,
    durable="ocr",
    ack_wait=60.0,
    max_deliver=5,
    backoff=(1, 5, 30),
    concurrency=1,
)
async def recognize_text(event: AssetThumbnailGenerated, ctx: Context) -> None:
    """Read the text lines of an asset's preview and replace its rows in ``asset_ocr``.

    Idempotent: a redelivery replaces the asset's lines. Videos are read from their poster
    frame (the preview). Assets deleted meanwhile are skipped.

    Raises:
        PermanentError: The preview is not a decodable image.
    """
    asset_id = uuid.UUID(event.asset_id)
    if await assets.get_asset_for_worker(ctx.pool, asset_id) is None:
        log.info("ocr.skipped", asset_id=event.asset_id, reason="asset deleted")
        return
    started = time.perf_counter()
    preview = await ctx.storage.get_bytes(event.preview_key)
    engine = engine_of(ctx)
    try:
        lines = await ctx.run_blocking(engine.read, preview)
    except ValueError as exc:
        raise PermanentError(f"preview {event.preview_key}: {exc}") from exc
    await ocr.replace_lines(
        ctx.pool,
        asset_id,
        uuid.UUID(event.owner_id),
        [ocr.OcrLine(text=x.text, box=x.box, score=x.score) for x in lines],
    )
    log.info(
        "ocr.done",
        asset_id=event.asset_id,
        lines=len(lines),
        ms=round((time.perf_counter() - started) * 1000, 1),
    )
