"""OCR handler: read the text in an asset's preview and store it for search."""

from __future__ import annotations

import functools
import time
import uuid

import structlog
from darkroom_bus import PermanentError, subscribe
from darkroom_db import ocr, smart_search
from darkroom_events import AssetThumbnailGenerated
from darkroom_ml import ModelTask
from darkroom_runtime import Context

from darkroom_embedding.ocr import OcrEngine

log = structlog.get_logger()

#: The OCR models reported in ``ml_model_status`` (see :mod:`darkroom_embedding.ocr`).
OCR_MODEL = "rapidocr-onnxruntime PP-OCRv4"

#: ``ctx.extra`` flag set when the OCR models failed to load at start-up.
OCR_OFF = "ocr_unavailable"


def engine_of(ctx: Context) -> OcrEngine:
    """The process's OCR engine (made on first use, kept in ``ctx.extra["ocr"]``)."""
    engine = ctx.extra.get("ocr")
    if engine is None:
        engine = ctx.extra["ocr"] = OcrEngine(getattr(ctx.settings, "ml_threads", 0))
    return engine


async def setup_ocr(ctx: Context) -> None:
    """Load the OCR models at start-up (when ``DARKROOM_OCR`` is on) and report whether OCR
    works in ``ml_model_status`` (task ``ocr``), which ``GET /api/server/features`` reads.
    """
    if not getattr(ctx.settings, "ocr", True):
        await smart_search.set_model_status(
            ctx.pool, task=ModelTask.OCR.value, model=OCR_MODEL, ready=False, reason="turned off"
        )
        log.info("ocr.disabled")
        return
    engine = engine_of(ctx)
    try:
        await ctx.run_blocking(engine.load)
    except Exception as exc:  # noqa: BLE001 - the service goes on without OCR
        ctx.extra.pop("ocr", None)
        ctx.extra[OCR_OFF] = True
        log.warning("ocr.unavailable", error=str(exc))
        await smart_search.set_model_status(
            ctx.pool, task=ModelTask.OCR.value, model=OCR_MODEL, ready=False, reason=str(exc)
        )
        return
    await smart_search.set_model_status(
        ctx.pool, task=ModelTask.OCR.value, model=OCR_MODEL, ready=True
    )


@subscribe(
    AssetThumbnailGenerated,
    durable="ocr",
    ack_wait=60.0,
    max_deliver=5,
    backoff=(1, 5, 30),
    concurrency=1,
)
async def recognize_text(event: AssetThumbnailGenerated, ctx: Context) -> None:
    """Read the text lines of an asset's preview and replace its rows in ``asset_ocr``, with
    the system config's OCR settings (``machineLearning.ocr``: skipped when it or machine
    learning is off; ``maxResolution``, ``minDetectionScore``, ``minRecognitionScore``).

    Idempotent: a redelivery replaces the asset's lines. Videos are read from their poster
    frame (the preview). Jobs of assets deleted meanwhile are skipped by the runner.

    Raises:
        PermanentError: The preview is not a decodable image.
    """
    if not getattr(ctx.settings, "ocr", True) or ctx.extra.get(OCR_OFF):
        log.info("ocr.skipped", asset_id=event.asset_id, reason="ocr off or unavailable")
        return
    ml = ctx.config.current.machine_learning
    if not (ml.enabled and ml.ocr.enabled):
        log.info("ocr.skipped", asset_id=event.asset_id, reason="disabled in system config")
        return
    asset_id = uuid.UUID(event.asset_id)
    started = time.perf_counter()
    preview = await ctx.storage.get_bytes(event.preview_key)
    engine = engine_of(ctx)
    try:
        lines = await ctx.run_blocking(
            functools.partial(
                engine.read,
                preview,
                max_resolution=ml.ocr.max_resolution,
                min_detection_score=ml.ocr.min_detection_score,
                min_recognition_score=ml.ocr.min_recognition_score,
            )
        )
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
