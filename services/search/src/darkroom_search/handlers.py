"""Smart search: answer ``darkroom.rpc.search.smart`` with one page of asset ids.

The query text is embedded with the CLIP text encoder of the model the embedding service uses
(same directory, same name: the system config's ``machineLearning.clip.modelName``), in the
request's ``language`` for the models that read it (NLLB-CLIP), then
:func:`darkroom_db.search.smart_search` finds the nearest image embeddings among the owner's
assets that pass the filters. When OCR boosting is on,
assets whose recognised text holds every query word come first (a screenshot of an invoice
is the best answer to "invoice", whatever CLIP thinks of it).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import structlog
from darkroom_db import ocr
from darkroom_db import search as search_db
from darkroom_db import smart_search as smart_search_db
from darkroom_events.catalogue import SearchFilters, SmartSearchReply, SmartSearchRequest
from darkroom_runtime import Context

from darkroom_search.settings import SearchSettings

log = structlog.get_logger()

#: Reply text when no CLIP model is loaded (shown to the user by the gateway as a 400).
UNAVAILABLE = (
    "Smart search is not available: no CLIP model is loaded "
    "(set DARKROOM_ML_MODEL_DIR and DARKROOM_CLIP_MODEL, see docs/models.md)"
)

#: Reply text while the smart search model is being changed (query and stored embeddings of
#: different models).
CHANGING = "Smart search is not available while its model is being changed; try again shortly"


class TextEncoder:
    """The CLIP text encoder of the model in force, loaded once its files appear.

    The model is the system config's ``machineLearning.clip.modelName`` (its default is
    ``DARKROOM_CLIP_MODEL``); :meth:`select` switches to another name (the old model is dropped
    and the new one loaded by :func:`load_until_ready`), as Immich does when an admin changes
    the smart search model.

    Attributes:
        name: The model in force.
        model: The loaded ``darkroom_ml.ClipModel`` (text part only) of ``name``, or None.
        error: Why the last load attempt failed, for logs.
    """

    def __init__(self, settings: SearchSettings, name: str | None = None) -> None:
        self.settings = settings
        self.name = name or settings.clip_model
        self.model: Any | None = None
        self.error: str | None = None

    def select(self, name: str) -> bool:
        """Make ``name`` the model in force. Returns True when it changed (the loaded model,
        if any, is dropped: queries answer "unavailable" until the new one is loaded)."""
        if not name or name == self.name:
            return False
        log.info("search.model_changed", old=self.name, new=name)
        self.name = name
        self.model = None
        self.error = None
        return True

    @property
    def model_path(self) -> Path | None:
        """``<ml_model_dir>/<name>`` (or ``<ml_model_dir>/clip/<name>`` where that exists), or
        None when no model directory is configured."""
        if not self.settings.ml_model_dir:
            return None
        root = Path(self.settings.ml_model_dir)
        nested = root / "clip" / self.name
        return nested if nested.is_dir() else root / self.name

    def try_load(self) -> bool:
        """Load the text encoder if its files are there (blocking). True once loaded."""
        if self.model is not None:
            return True
        name, path = self.name, self.model_path
        if path is None or not (path / "textual" / "model.onnx").is_file():
            self.error = f"no model at {path}"
            return False
        from darkroom_ml.models import ClipModel, ModelType

        try:
            model = ClipModel.load(
                path,
                types=(ModelType.TEXTUAL,),
                text_cache_size=self.settings.text_cache_size,
                threads=self.settings.threads,
            )
        except Exception as exc:  # a broken model must not take the service down
            self.error = f"{type(exc).__name__}: {exc}"
            log.warning("search.model_unusable", path=str(path), error=self.error)
            return False
        if name != self.name:  # another model was selected while this one loaded
            return False
        self.model = model
        kind = model.textual.kind.value if model.textual is not None else None
        log.info("search.model_loaded", model=model.name, dim=model.dim, kind=kind)
        return True

    def encode(self, text: str, language: str | None = None) -> np.ndarray:
        """The L2-normalised embedding of ``text``, shape ``(D,)`` float32 (LRU-cached).

        Args:
            text: The query.
            language: The client's language tag (``SmartSearchDto.language``: ``de``,
                ``pt-BR``...); NLLB models put its FLORES-200 code before the text, the others
                ignore it.

        Raises:
            AssertionError: No model is loaded.
        """
        model = self.model
        assert model is not None
        return model.encode_text([text], language)[0]


async def load_until_ready(encoder: TextEncoder, ctx: Context, stop: asyncio.Event) -> None:
    """Try to load the model now, then every ``model_retry_s`` until it loads or ``stop``."""
    settings: SearchSettings = ctx.settings  # type: ignore[assignment]
    while not await ctx.run_blocking(encoder.try_load):
        if encoder.model_path is None:
            log.info("search.smart_search_off", reason="DARKROOM_ML_MODEL_DIR is empty")
            return
        try:
            await asyncio.wait_for(stop.wait(), timeout=settings.model_retry_s)
            return
        except TimeoutError:
            continue


def to_db_filters(filters: SearchFilters) -> search_db.AssetFilters:
    """The wire filters as the repository's :class:`~darkroom_db.search.AssetFilters`."""
    return msgspec.convert(msgspec.to_builtins(filters), search_db.AssetFilters)


async def smart_search(
    req: SmartSearchRequest, ctx: Context, encoder: TextEncoder
) -> SmartSearchReply:
    """One page of ``req.owner_id``'s assets (and ``req.partner_ids``' timeline assets) nearest
    to the query, OCR matches (of the owner's own assets) first.

    Returns:
        "ok" with ids; "unavailable" without a model (unless the query is an asset's own
        embedding, which needs none); "invalid" for a request that cannot be answered.
    """
    settings: SearchSettings = ctx.settings  # type: ignore[assignment]
    started = time.perf_counter()
    owner_id = uuid.UUID(req.owner_id)
    partner_ids = [uuid.UUID(i) for i in req.partner_ids]
    filters = to_db_filters(req.filters)
    size = max(1, min(req.size, 1000))
    page = max(1, req.page)
    offset = (page - 1) * size
    if req.query_asset_id:
        embedding = await search_db.asset_embedding(
            ctx.pool, owner_id, uuid.UUID(req.query_asset_id)
        )
        if embedding is None:
            return SmartSearchReply(status="invalid", error="Asset not found or not indexed yet")
        text = ""
    elif req.query and req.query.strip():
        if encoder.model is None:
            return SmartSearchReply(status="unavailable", error=UNAVAILABLE)
        text = req.query.strip()
        embedding = await ctx.run_blocking(encoder.encode, text, req.language)
    else:
        return SmartSearchReply(status="invalid", error="query or queryAssetId is required")

    boosted: list[uuid.UUID] = []
    if text and settings.ocr_boost:
        ocr_hits = await ocr.matching_assets(ctx.pool, owner_id, text, limit=200)
        if ocr_hits:  # keep only those that pass the filters, in OCR rank order
            allowed = await search_db.filter_ids(
                ctx.pool, owner_id, filters, ocr_hits, partner_ids=partner_ids
            )
            boosted = [i for i in ocr_hits if i in allowed]
    ids = boosted[offset : offset + size + 1]
    want = size + 1 - len(ids)
    if want > 0:
        async with ctx.pool.acquire() as conn:
            # a stored embedding (queryAssetId) is a pgvector.Vector, which has no len()
            if smart_search_db.dimension_of(embedding) != await smart_search_db.column_dimension(
                conn
            ):
                # the model is being changed: the other service has not caught up yet
                return SmartSearchReply(status="unavailable", error=CHANGING)
            ids += await search_db.smart_search(
                conn,
                owner_id,
                embedding,
                filters,
                offset=max(0, offset - len(boosted)),
                limit=want,
                ef_search=settings.ef_search,
                exclude=boosted or None,
                partner_ids=partner_ids,
            )
    log.info(
        "search.smart",
        owner_id=req.owner_id,
        hits=min(len(ids), size),
        ocr_hits=len(boosted),
        ms=round((time.perf_counter() - started) * 1000, 1),
    )
    return SmartSearchReply(
        status="ok", asset_ids=[str(i) for i in ids[:size]], has_more=len(ids) > size
    )
