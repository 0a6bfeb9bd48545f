"""Search service settings (``DARKROOM_*``)."""

from __future__ import annotations

from darkroom_db.search import DEFAULT_EF_SEARCH
from darkroom_runtime import ServiceSettings


class SearchSettings(ServiceSettings, frozen=True, kw_only=True):
    """Settings of the search service.

    Attributes:
        ml_model_dir: Model cache shared with the embedding service (``DARKROOM_ML_MODEL_DIR``):
            a CLIP model in Immich's layout is ``<dir>/<clip_model>`` or
            ``<dir>/clip/<clip_model>``; empty: smart search is off.
        clip_model: Name of the CLIP model (``DARKROOM_CLIP_MODEL``), Immich's default: the
            default of the system config's ``machineLearning.clip.modelName``, which the service
            follows.
        model_retry_s: Seconds between attempts to load a model that is not there yet (the
            embedding service may still be downloading it).
        text_cache_size: Recent query texts whose embeddings are kept.
        ef_search: HNSW ``ef_search`` for smart search (raised to the page's offset + size:
            pgvector returns at most ef_search rows per index scan); the default and why:
            :data:`darkroom_db.search.DEFAULT_EF_SEARCH`.
        ocr_boost: Put assets whose OCR text holds every query word before the CLIP matches.
        threads: onnxruntime intra-op threads for the text encoder (0: all cores).
    """

    ml_model_dir: str = ""
    clip_model: str = "ViT-B-32__openai"
    model_retry_s: float = 10.0
    text_cache_size: int = 1024
    ef_search: int = DEFAULT_EF_SEARCH
    ocr_boost: bool = True
    threads: int = 0
