"""darkroom_ml against a tiny random-weight CLIP model built in Immich's layout at test time."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from darkroom_ml import (
    ClipModel,
    ModelError,
    ModelType,
    ModelUnavailable,
    PreprocessConfig,
    find_model,
    preprocess,
    resolve_model,
)
from darkroom_ml.testing import build_tiny_clip
from PIL import Image

pytest.importorskip("onnx")


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("models")
    build_tiny_clip(root, "Tiny__json", dim=64, image_size=32, tokenizer="json")
    build_tiny_clip(root, "Tiny__bpe", dim=64, image_size=32, tokenizer="bpe")
    return root


@pytest.fixture(scope="module")
def clip(cache: Path) -> ClipModel:
    return ClipModel.load(cache / "Tiny__json", providers=["CPUExecutionProvider"], batch_size=4)


def _jpeg(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=95)
    return buf.getvalue()


def test_preprocess_resizes_shorter_side_crops_centre_and_normalises() -> None:
    # 40x20 (w x h): left half red, right half blue; a 10x10 crop of the resized 20x10 centre
    img = np.zeros((20, 40, 3), dtype=np.uint8)
    img[:, :20] = (255, 0, 0)
    img[:, 20:] = (0, 0, 255)
    cfg = PreprocessConfig(size=[10, 10], mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5])
    out = preprocess([img], cfg)
    assert out.shape == (1, 3, 10, 10) and out.dtype == np.float32
    # shorter side 20 -> 10, so width 40 -> 20, centre crop keeps columns 5..15: red then blue
    assert np.allclose(out[0, 0, :, 0], 1.0) and np.allclose(out[0, 2, :, 0], -1.0)
    assert np.allclose(out[0, 0, :, -1], -1.0) and np.allclose(out[0, 2, :, -1], 1.0)
    # (x - mean) / std: a mid-grey 128 -> (128/255 - 0.5) / 0.5
    grey = np.full((7, 7, 3), 128, dtype=np.uint8)
    got = preprocess([grey], cfg)
    assert np.allclose(got, (128 / 255 - 0.5) / 0.5, atol=1e-5)


def test_preprocess_squash_and_longest_modes() -> None:
    img = np.full((10, 30, 3), 200, dtype=np.uint8)
    squash = preprocess(
        [img], PreprocessConfig(size=6, resize_mode="squash", mean=[0] * 3, std=[1] * 3)
    )
    assert np.allclose(squash, 200 / 255, atol=1e-2)
    longest = preprocess(
        [img], PreprocessConfig(size=6, resize_mode="longest", mean=[0] * 3, std=[1] * 3)
    )
    # 30x10 -> 6x2, padded with black rows above and below
    assert np.allclose(longest[0, :, 0, :], 0.0) and np.allclose(
        longest[0, :, 3, :], 200 / 255, atol=1e-2
    )


def test_model_preprocess_uses_its_config(clip: ClipModel) -> None:
    rgb = np.random.default_rng(1).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    out = clip.preprocess([rgb, _jpeg(rgb), Image.fromarray(rgb)])
    assert out.shape == (3, 3, 32, 32)
    assert np.array_equal(out[0], out[2])
    mean = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)[:, None, None]
    std = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)[:, None, None]
    assert out.min() >= (0 - mean).min() / std.max() - 1e-4
    assert out.max() <= (1 - mean).max() / std.min() + 1e-4


def test_tokenizer_pads_and_truncates_to_77_with_start_and_end(clip: ClipModel) -> None:
    assert clip.textual is not None
    tok = clip.textual.tokenizer
    sot, eot = tok.token_to_id("<|startoftext|>"), tok.token_to_id("<|endoftext|>")
    ids = clip.textual.tokenize(["A photo of a Dog", "dog " * 200])
    assert ids.shape == (2, 77) and ids.dtype == np.int64
    words = [tok.id_to_token(int(i)) for i in ids[0][:7]]
    assert words == [
        "<|startoftext|>",
        "a</w>",
        "photo</w>",
        "of</w>",
        "a</w>",
        "dog</w>",
        "<|endoftext|>",
    ]
    assert (ids[0][7:] == eot).all()
    assert (
        ids[1][0] == sot
        and ids[1][-1] == eot
        and (ids[1][1:-1] == tok.token_to_id("dog</w>")).all()
    )


def test_bpe_file_and_tokenizer_json_tokenise_alike(cache: Path, clip: ClipModel) -> None:
    other = ClipModel.load(cache / "Tiny__bpe", types=(ModelType.TEXTUAL,))
    assert other.textual is not None and clip.textual is not None
    texts = ["dog on the beach", "Invoice 2024 total 118.50", "  Red\tcat! "]
    assert np.array_equal(other.textual.tokenize(texts), clip.textual.tokenize(texts))


def test_batching_equals_one_by_one_and_rows_are_unit_length(clip: ClipModel) -> None:
    rng = np.random.default_rng(2)
    images = [rng.integers(0, 256, (40 + 3 * i, 50, 3), dtype=np.uint8) for i in range(9)]
    batched = clip.encode_images(images)  # batch_size 4: three inference calls
    single = np.concatenate([clip.encode_images([im]) for im in images])
    assert batched.shape == (9, 64)
    assert np.allclose(batched, single, atol=1e-5)
    assert np.allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)
    # different images give different embeddings
    assert float(batched[0] @ batched[1]) < 0.9999


def test_text_embeddings_are_normalised_cached_and_order_preserving(clip: ClipModel) -> None:
    assert clip.textual is not None
    a = clip.encode_text(["dog", "cat", "dog on the beach"])
    assert a.shape == (3, 64) and np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    assert ("", "dog") in clip.textual._cache  # (language key, text); CLIP ignores language
    b = clip.encode_text(["dog on the beach", "red cat"])
    assert np.allclose(b[0], a[2]) and not np.allclose(b[1], a[1])


def test_an_image_finds_itself_among_others(clip: ClipModel) -> None:
    rng = np.random.default_rng(3)
    images = [rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(20)]
    db = clip.encode_images(images)
    query = clip.encode_images([_jpeg(images[7])])[0]  # a re-encoded copy
    assert int(np.argmax(db @ query)) == 7


def test_missing_parts_are_reported(cache: Path, tmp_path: Path) -> None:
    assert (
        find_model(cache, "Tiny__json", (ModelType.VISUAL, ModelType.TEXTUAL))
        == cache / "Tiny__json"
    )
    assert find_model(cache, "ViT-B-32__openai") is None
    with pytest.raises(ModelUnavailable, match="downloads are off"):
        resolve_model(cache, "ViT-B-32__openai", download=False)
    with pytest.raises(ModelError):
        ClipModel.load(tmp_path)
    visual_only = ClipModel.load(cache / "Tiny__json", types=(ModelType.VISUAL,))
    with pytest.raises(ModelError, match="textual"):
        visual_only.encode_text(["dog"])
