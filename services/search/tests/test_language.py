"""The search service's text encoder: the query's language reaches NLLB models, and selecting
another model (system config ``machineLearning.clip.modelName``) swaps the encoder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from darkroom_search.handlers import TextEncoder
from darkroom_search.settings import SearchSettings

pytest.importorskip("onnx")

NLLB = "nllb-clip-base-siglip__v1"
MCLIP = "XLM-Roberta-Large-Vit-B-16Plus"


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from darkroom_ml.testing import build_tiny_text_model

    root = tmp_path_factory.mktemp("models")
    build_tiny_text_model(root, "nllb", dim=32, seed=1)
    (root / "clip").mkdir()
    build_tiny_text_model(root / "clip", "m-clip", dim=48, seed=2)  # Immich's nested layout
    return root


def test_language_reaches_the_nllb_tokenizer(models: Path) -> None:
    from darkroom_ml import ClipModel, ModelType

    encoder = TextEncoder(SearchSettings(ml_model_dir=str(models)), NLLB)
    assert encoder.try_load() and encoder.model is not None
    direct = ClipModel.load(models / NLLB, ["CPUExecutionProvider"], types=(ModelType.TEXTUAL,))
    de = encoder.encode("hund am strand", "de")
    assert de.shape == (32,)
    assert np.allclose(de, direct.encode_text(["hund am strand"], "de")[0], atol=1e-6)
    fr = encoder.encode("hund am strand", "fr-FR")
    assert np.allclose(fr, direct.encode_text(["hund am strand"], "fr")[0], atol=1e-6)
    assert not np.allclose(de, fr)
    # no language: English, as Immich
    assert np.allclose(
        encoder.encode("hund am strand"), direct.encode_text(["hund am strand"], "en")[0]
    )


def test_selecting_another_model_swaps_the_encoder(models: Path) -> None:
    encoder = TextEncoder(SearchSettings(ml_model_dir=str(models), clip_model=NLLB))
    assert encoder.name == NLLB and encoder.try_load()
    assert encoder.select(NLLB) is False and encoder.model is not None  # same name: kept
    assert encoder.select(MCLIP) is True
    assert encoder.model is None  # queries answer "unavailable" until the new one is loaded
    assert encoder.model_path == models / "clip" / MCLIP
    assert encoder.try_load() and encoder.model.name == MCLIP
    assert encoder.encode("ein hund", "de").shape == (48,)
    assert encoder.model.textual.kind.value == "m-clip"
    assert encoder.select("nope") and encoder.try_load() is False
    assert "no model at" in (encoder.error or "")
