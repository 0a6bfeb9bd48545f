"""Embedding service settings (``DARKROOM_*``)."""

from __future__ import annotations

from darkroom_runtime import ServiceSettings


class EmbeddingSettings(ServiceSettings, frozen=True, kw_only=True):
    """Settings of the embedding service.

    Attributes:
        ml_model_dir: Model cache; a model is ``<dir>/<name>`` or ``<dir>/clip/<name>``
            (``DARKROOM_ML_MODEL_DIR``). Empty: ``./data/models``.
        clip_model: CLIP model name (``DARKROOM_CLIP_MODEL``; Immich's default ViT-B-32__openai):
            the default of the system config's ``machineLearning.clip.modelName``, which the
            service follows (see :func:`darkroom_embedding.handlers.setup`).
        ml_download: Download a missing model once from the hub (``DARKROOM_ML_DOWNLOAD``).
        ml_hub_org: Hugging Face organisation of the models (Immich's ``immich-app``).
        ml_providers: onnxruntime providers, comma-separated; empty: CUDA when present, then CPU.
        ml_threads: Intra-op threads per inference, CLIP's and OCR's (``DARKROOM_ML_THREADS``);
            0: onnxruntime's default (all cores).
        batch_size: Most previews per inference call (``DARKROOM_BATCH_SIZE``).
        batch_wait_ms: How long the first preview of a batch waits for more to arrive.
        duplicate_detection: Group near-duplicates (``DARKROOM_DUPLICATE_DETECTION``).
        duplicate_max_distance: Largest cosine distance of duplicates (Immich's default 0.01;
            the spec allows 0.001..0.1).
        ocr: Read the text in previews for search (``DARKROOM_OCR``; on by default, as
            Immich's OCR job). Off, the OCR handler acknowledges events without reading them
            and the server reports ``ocr: false``.
    """

    ml_model_dir: str = ""
    clip_model: str = "ViT-B-32__openai"
    ml_download: bool = True
    ml_hub_org: str = "immich-app"
    ml_providers: str = ""
    ml_threads: int = 0
    batch_size: int = 16
    batch_wait_ms: float = 20.0
    duplicate_detection: bool = True
    duplicate_max_distance: float = 0.01
    ocr: bool = True
