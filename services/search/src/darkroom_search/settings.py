"""Search service settings (``DARKROOM_*``)."""

from __future__ import annotations

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
            pgvector returns at most ef_search rows per index scan). 200: on migration 0039's
            graph (m 24, ef_construction 128) bench/search.py measured recall@10 0.998-1.000
            at 1M assets without a metadata filter at 200, as at 400 and 800 (the graph sets
            the recall there, not ef_search), at about half the latency of 400; 400 was chosen
            on pgvector's default graph (m 16), where 200 gave 0.93. Latency and recall per
            value in docs/performance.md ("Smart search").
        ocr_boost: Put assets whose OCR text holds every query word before the CLIP matches.
        threads: onnxruntime intra-op threads for the text encoder (0: all cores).
    """

    ml_model_dir: str = ""
    clip_model: str = "ViT-B-32__openai"
    model_retry_s: float = 10.0
    text_cache_size: int = 1024
    ef_search: int = 200
    ocr_boost: bool = True
    threads: int = 0
