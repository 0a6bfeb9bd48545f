"""CLIP image/text encoders on onnxruntime, in Immich's model repository layout.

Public API (all calls blocking; run them in a thread pool)::

    from darkroom_ml import ClipModel, ModelType, resolve_model

    model_dir = resolve_model(cache_dir, "ViT-B-32__openai", (ModelType.TEXTUAL,), download=False)
    clip = ClipModel.load(model_dir, providers=None, types=(ModelType.TEXTUAL,))
    vectors = clip.encode_text(["dog on the beach"])        # (1, clip.dim) float32, unit norm
    vectors = clip.encode_text(["Hund am Strand"], "de")    # NLLB models use the language
    images = clip.encode_images([jpeg_bytes, rgb_array])     # (2, clip.dim) float32, unit norm

See docs/models.md for getting models, and :mod:`darkroom_ml.testing` for a tiny test model.
"""

from __future__ import annotations

from darkroom_ml.languages import flores_code
from darkroom_ml.models import (
    ClipConfig,
    ClipModel,
    ClipTextualEncoder,
    ClipVisualEncoder,
    InferenceModel,
    ModelError,
    ModelTask,
    ModelType,
    TextModelKind,
    default_providers,
    l2_normalize,
)
from darkroom_ml.preprocess import ImageInput, PreprocessConfig, preprocess
from darkroom_ml.repository import ModelUnavailable, download_model, find_model, resolve_model
from darkroom_ml.tokenizer import (
    TokenizerError,
    clean_text,
    clip_bpe_tokenizer,
    load_tokenizer,
)

__all__ = [
    "ClipConfig",
    "ClipModel",
    "ClipTextualEncoder",
    "ClipVisualEncoder",
    "ImageInput",
    "InferenceModel",
    "ModelError",
    "ModelTask",
    "ModelType",
    "ModelUnavailable",
    "PreprocessConfig",
    "TextModelKind",
    "TokenizerError",
    "clean_text",
    "clip_bpe_tokenizer",
    "default_providers",
    "download_model",
    "find_model",
    "flores_code",
    "l2_normalize",
    "load_tokenizer",
    "preprocess",
    "resolve_model",
]
