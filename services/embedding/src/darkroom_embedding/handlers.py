"""Embedding handler and start-up: CLIP-embed previews, store them, group near-duplicates."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import structlog
from darkroom_bus import Gone, PermanentError, subscribe
from darkroom_db import assets, smart_search
from darkroom_db.system_config import SystemConfigDto
from darkroom_events import AssetEmbeddingComputed, AssetThumbnailGenerated
from darkroom_ml import ModelError, ModelTask, ModelUnavailable, TokenizerError, resolve_model
from darkroom_runtime import Context
from darkroom_storage import NotFound
from PIL import UnidentifiedImageError

from darkroom_embedding.embed import Embedder, load_visual
from darkroom_embedding.settings import EmbeddingSettings

log = structlog.get_logger()

#: Key of the :class:`Embedder` in ``ctx.extra`` (absent while smart search is disabled).
EMBEDDER = "embedder"
#: Key of the task loading a newly selected model in ``ctx.extra``.
SWITCH_TASK = "clip_model_switch"


def model_cache(settings: EmbeddingSettings) -> Path:
    """The model cache directory (``DARKROOM_ML_MODEL_DIR``, default ``./data/models``)."""
    return Path(settings.ml_model_dir or "data/models")


async def setup(ctx: Context) -> None:
    """Load the CLIP image encoder of the system config's ``machineLearning.clip.modelName``
    (default ``DARKROOM_CLIP_MODEL``), and load another whenever the config names another.

    See :func:`load_search_model`.
    """
    lock = asyncio.Lock()
    wanted = ctx.config.current.machine_learning.clip.model_name

    async def switch(name: str) -> None:
        async with lock:
            if name == wanted:  # not superseded by a later save meanwhile
                await load_search_model(ctx, name)

    async def on_config(config: SystemConfigDto) -> None:
        # in the background: a download must not hold up the config reload of this process
        nonlocal wanted
        name = config.machine_learning.clip.model_name
        if name != wanted:
            wanted = name
            ctx.extra[SWITCH_TASK] = asyncio.create_task(switch(name), name="clip-model-switch")

    await switch(wanted)
    ctx.config.on_change(on_config)


async def load_search_model(ctx: Context, name: str) -> Embedder | None:
    """Load CLIP model ``name``'s image encoder, size smart_search for it and record its status.

    With no model (not in the cache, download off or failing) the service stays up with smart
    search disabled: it records ``ready = false`` and the reason in ``ml_model_status`` (the
    gateway then reports ``smartSearch: false``) and acknowledges events without embedding them.
    A model that replaces another makes :func:`darkroom_db.smart_search.ensure_dimension` drop
    the old model's embeddings (they are not comparable), so every asset is embedded again.

    Returns:
        The new embedder (also in ``ctx.extra[EMBEDDER]``), or None when the model is unusable
        (the previous embedder, if any, keeps running then).
    """
    settings = ctx.settings
    assert isinstance(settings, EmbeddingSettings)
    providers = [p.strip() for p in settings.ml_providers.split(",") if p.strip()] or None
    options = {
        "duplicate_detection": settings.duplicate_detection,
        "max_distance": settings.duplicate_max_distance,
    }
    try:
        model_dir = await ctx.run_blocking(
            resolve_model,
            model_cache(settings),
            name,
            download=settings.ml_download,
            hub_org=settings.ml_hub_org,
        )
        model = await ctx.run_blocking(
            load_visual, model_dir, providers, settings.ml_threads, settings.batch_size
        )
    except (ModelUnavailable, ModelError, TokenizerError) as exc:
        log.warning("smart_search.disabled", model=name, reason=str(exc))
        if EMBEDDER not in ctx.extra:
            await smart_search.set_model_status(
                ctx.pool,
                task=ModelTask.SEARCH.value,
                model=name,
                ready=False,
                reason=str(exc),
                options=options,
            )
        return None
    if await smart_search.ensure_dimension(ctx.pool, model.dim, model=model.name):
        log.warning("smart_search.model_changed", model=name, dim=model.dim)
    embedder = Embedder(
        model=model,
        run_blocking=ctx.run_blocking,
        batch_size=settings.batch_size,
        batch_wait_s=settings.batch_wait_ms / 1000,
    )
    embedder.start()
    previous: Embedder | None = ctx.extra.get(EMBEDDER)
    ctx.extra[EMBEDDER] = embedder
    if previous is not None:
        await previous.close()
    await smart_search.set_model_status(
        ctx.pool,
        task=ModelTask.SEARCH.value,
        model=model.name,
        ready=True,
        dim=model.dim,
        options=options,
    )
    log.info("smart_search.ready", model=model.name, dim=model.dim, batch_size=embedder.batch_size)
    return embedder


@subscribe(
    AssetThumbnailGenerated,
    durable="embedding",
    ack_wait=10.0,
    max_deliver=5,
    backoff=(1, 5, 30),
    concurrency=16,
)
async def embed_preview(event: AssetThumbnailGenerated, ctx: Context) -> None:
    """CLIP-embed an asset's preview into smart_search, group its near-duplicates, and publish
    ``asset.embedding.computed``. Skipped while the system config turns smart search off
    (``machineLearning.enabled``/``clip.enabled``, read live); near-duplicates follow
    ``machineLearning.duplicateDetection``.

    Concurrent deliveries are embedded together (one inference call per batch). Idempotent: the
    embedding is upserted and duplicate grouping converges on redelivery.

    Raises:
        PermanentError: The preview cannot be decoded.
        darkroom_bus.Gone: The asset was deleted meanwhile (the runner acks quietly).
    """
    embedder: Embedder | None = ctx.extra.get(EMBEDDER)
    if embedder is None:
        log.info("embedding.skipped", asset_id=event.asset_id, reason="smart search disabled")
        return
    ml = ctx.config.current.machine_learning
    if not (ml.enabled and ml.clip.enabled):
        # not marked done: "missing" embeds it once smart search is turned back on
        log.info("embedding.skipped", asset_id=event.asset_id, reason="disabled in system config")
        return
    settings = ctx.settings
    assert isinstance(settings, EmbeddingSettings)
    asset_id = uuid.UUID(event.asset_id)
    started = time.perf_counter()
    try:
        preview = await ctx.storage.get_bytes(event.preview_key)
    except NotFound as exc:
        raise PermanentError(f"preview {event.preview_key} is missing") from exc
    try:
        vector = await embedder.embed(preview)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise PermanentError(f"preview cannot be decoded: {exc}") from exc
    if ctx.extra.get(EMBEDDER) is not embedder:
        # the model was swapped meanwhile: its embeddings were dropped; retry with the new one
        raise RuntimeError("the CLIP model changed while embedding; retrying with the new one")
    async with ctx.outbox.transaction() as tx:
        if not await assets.lock_for_worker(tx.conn, asset_id):
            raise Gone(event.asset_id)
        await smart_search.upsert_embeddings(
            tx.conn,
            [(asset_id, uuid.UUID(event.owner_id), vector)],
            model=embedder.model.name,
        )
        await assets.mark_step_done(tx.conn, asset_id, "embedding")
        await tx.add(
            AssetEmbeddingComputed(
                asset_id=event.asset_id, owner_id=event.owner_id, model=embedder.model.name
            )
        )
    duplicate_id = None
    # after the commit: a crash before it leaves the message unacked, so the job is
    # redelivered and groups the duplicates then (idempotent)
    duplicates = ml.duplicate_detection  # system config; DARKROOM_DUPLICATE_* are its defaults
    if duplicates.enabled:
        duplicate_id = await smart_search.assign_duplicates(
            ctx.pool, asset_id, vector, max_distance=duplicates.max_distance
        )
    log.info(
        "embedding.computed",
        asset_id=event.asset_id,
        duplicate_id=str(duplicate_id) if duplicate_id else None,
        ms=round((time.perf_counter() - started) * 1000, 1),
    )
