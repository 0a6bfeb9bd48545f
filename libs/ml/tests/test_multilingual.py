"""Multilingual text encoders (M-CLIP, NLLB-CLIP, SigLIP2) from tiny generated models.

Each kind is built by :func:`darkroom_ml.testing.build_tiny_text_model` in Immich's layout with
its own tokenizer type (XLM-R Unigram, NLLB Unigram with FLORES-200 language tokens, Gemma BPE).
The tests check what each encoder feeds its graph against the tokenizer file read here on its
own, and the embedding against the graph's arithmetic redone in numpy from the weights stored in
``model.onnx``: so the ids that reach the graph are proven to be the tokenizer's.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from darkroom_ml import (
    ClipConfig,
    ClipModel,
    ModelType,
    TextModelKind,
    clean_text,
    flores_code,
)
from darkroom_ml.testing import build_tiny_text_model
from tokenizers import Tokenizer

onnx = pytest.importorskip("onnx")
from onnx import numpy_helper  # noqa: E402

KINDS = {"m-clip": TextModelKind.MCLIP, "nllb": TextModelKind.NLLB, "siglip2": TextModelKind.SIGLIP}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ml-models")
    for kind in KINDS:
        build_tiny_text_model(root, kind, dim=32, seed=3)
    build_tiny_text_model(
        root, "nllb", "nllb-clip-hf-template", seed=3, nllb_template_language=True
    )
    return root


NAMES = {
    "m-clip": "XLM-Roberta-Large-Vit-B-16Plus",
    "nllb": "nllb-clip-base-siglip__v1",
    "siglip2": "ViT-B-16-SigLIP2__webli",
}


def _load(cache: Path, name: str) -> ClipModel:
    return ClipModel.load(cache / name, ["CPUExecutionProvider"], types=(ModelType.TEXTUAL,))


@pytest.fixture(scope="module")
def models(cache: Path) -> dict[str, ClipModel]:
    return {kind: _load(cache, NAMES[kind]) for kind in KINDS}


def _weights(model_dir: Path) -> dict[str, np.ndarray]:
    graph = onnx.load(str(model_dir / "textual" / "model.onnx")).graph
    return {t.name: numpy_helper.to_array(t) for t in graph.initializer}


def _own_ids(model_dir: Path, text: str, length: int) -> tuple[list[int], list[int]]:
    """The tokenizer file's ids for ``text`` (already prepared), padded here by hand with the
    pad token of tokenizer_config.json; and the matching attention mask."""
    tok = Tokenizer.from_file(str(model_dir / "textual" / "tokenizer.json"))
    pad = json.loads((model_dir / "textual" / "tokenizer_config.json").read_text())["pad_token"]
    ids = tok.encode(text).ids[:length]
    mask = [1] * len(ids) + [0] * (length - len(ids))
    return ids + [tok.token_to_id(pad)] * (length - len(ids)), mask


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_kind_encodes_through_its_own_tokenizer(
    kind: str, cache: Path, models: dict[str, ClipModel]
) -> None:
    model = models[kind]
    enc = model.textual
    assert enc is not None and enc.kind is KINDS[kind]
    model_dir = cache / NAMES[kind]
    text = "a dog on the beach"
    prepared = enc.prepare(text, "de")
    length = 64 if kind == "siglip2" else 77
    ids, mask = _own_ids(model_dir, prepared, length)
    feeds = enc.feeds([text], "de")
    if kind == "m-clip":
        assert set(feeds) == {"input_ids", "attention_mask"}
        assert feeds["input_ids"][0].tolist() == ids and feeds["attention_mask"][0].tolist() == mask
        assert feeds["input_ids"].dtype == np.int32  # as the graph declares
    else:
        assert set(feeds) == {"text"} and feeds["text"][0].tolist() == ids
    # the graph's arithmetic in numpy on those ids gives the embedding the encoder returns
    w = _weights(model_dir)
    rows = w["token_emb"][np.asarray(ids)]
    if kind == "m-clip":  # mean over the real tokens, then the projection
        m = np.asarray(mask, dtype=np.float32)[:, None]
        want = ((rows * m).sum(0) / m.sum()) @ w["proj"]
    else:
        want = rows.mean(0)
    want = want / np.linalg.norm(want)
    got = model.encode_text([text], "de")[0]
    assert got.shape == (32,) and np.allclose(got, want, atol=1e-5)


def test_mclip_tokens_are_xlmr_and_padding_is_masked(models: dict[str, ClipModel]) -> None:
    enc = models["m-clip"].textual
    assert enc is not None
    feeds = enc.feeds(["a dog", "a dog on the beach"])
    tok = enc.tokenizer
    first = [tok.id_to_token(int(i)) for i in feeds["input_ids"][0][:4]]
    assert first == ["<s>", "▁a", "▁dog", "</s>"]
    assert (feeds["input_ids"][0][4:] == tok.token_to_id("<pad>")).all()
    assert feeds["attention_mask"][0].tolist() == [1] * 4 + [0] * 73
    # M-CLIP ignores the language: no token is added for it
    assert np.array_equal(enc.feeds(["a dog"], "fr")["input_ids"], feeds["input_ids"][:1])


def test_nllb_puts_the_users_language_token_first(models: dict[str, ClipModel]) -> None:
    enc = models["nllb"].textual
    assert enc is not None
    tok = enc.tokenizer
    for language, code in [
        ("de", "deu_Latn"),
        ("de-AT", "deu_Latn"),
        ("fr_CA", "fra_Latn"),
        ("zh-Hans", "zho_Hans"),
        (None, "eng_Latn"),
        ("xx", "eng_Latn"),  # unknown: English, as Immich
        ("ko", "eng_Latn"),  # a FLORES language the model lacks: English
    ]:
        ids = enc.tokenize(["hund am strand"], language)[0]
        assert tok.id_to_token(int(ids[0])) == code, language
        assert [tok.id_to_token(int(i)) for i in ids[1:5]] == ["▁hund", "▁am", "▁strand", "</s>"]
        assert (ids[5:] == tok.token_to_id("<pad>")).all()
    model = models["nllb"]
    de, fr = (
        model.encode_text(["hund am strand"], "de"),
        model.encode_text(["hund am strand"], "fr"),
    )
    # the language changes the embedding, and the cache keeps one entry per language
    assert not np.allclose(de, fr)
    assert np.array_equal(model.encode_text(["hund am strand"], "de-DE"), de)
    assert ("deu_Latn", "hund am strand") in enc._cache and (
        "fra_Latn",
        "hund am strand",
    ) in enc._cache


def test_nllb_tokenizer_saved_with_a_language_in_its_template(
    cache: Path, models: dict[str, ClipModel]
) -> None:
    # Hugging Face's NLLB tokenizer saves "eng_Latn $A </s>"; the query's language replaces it
    hf = _load(cache, "nllb-clip-hf-template").textual
    immich = models["nllb"].textual
    assert hf is not None and immich is not None and hf.kind is TextModelKind.NLLB
    for language in ("de", "en", None):
        assert np.array_equal(
            hf.tokenize(["chien sur la plage"], language),
            immich.tokenize(["chien sur la plage"], language),
        )


def test_siglip2_canonicalises_and_pads_to_its_context_length(
    models: dict[str, ClipModel],
) -> None:
    enc = models["siglip2"].textual
    assert enc is not None and enc.context_length == 64 and enc.canonicalize
    tok = enc.tokenizer
    ids = enc.tokenize(["A Dog, on the BEACH!", "a dog on the beach", "dog " * 100])
    assert ids.shape == (3, 64)
    assert np.array_equal(ids[0], ids[1])  # lower case, punctuation gone
    words = [tok.id_to_token(int(i)) for i in ids[0][:6]]
    assert words == ["a", "▁dog", "▁on", "▁the", "▁beach", "<eos>"]
    assert (ids[0][6:] == 0).all() and tok.id_to_token(0) == "<pad>"
    assert (ids[2] == tok.token_to_id("▁dog")).sum() >= 60  # truncated to 64
    # characters outside the vocabulary fall back to bytes, not <unk>
    assert tok.token_to_id("<unk>") not in enc.tokenize(["海"])[0]


@pytest.mark.parametrize("kind", list(KINDS))
def test_texts_differ_and_encoding_is_deterministic(
    kind: str, cache: Path, models: dict[str, ClipModel]
) -> None:
    texts = ["a dog on the beach", "ein hund am strand", "le chat rouge"]
    a = models[kind].encode_text(texts, "en")
    assert a.shape == (3, 32) and np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    for i in range(3):
        for j in range(i + 1, 3):
            assert not np.allclose(a[i], a[j], atol=1e-4)
    fresh = _load(cache, NAMES[kind])  # another instance, empty cache, other batch make-up
    assert fresh.textual is not None and models[kind].textual is not None
    assert np.array_equal(fresh.textual.tokenize(texts), models[kind].textual.tokenize(texts))
    assert np.allclose(fresh.encode_text(texts, "en"), a, atol=1e-6)


def test_config_names_the_cleaning(cache: Path) -> None:
    assert ClipConfig.read(cache / NAMES["siglip2"]).text_clean == "canonicalize"
    assert ClipConfig.read(cache / NAMES["siglip2"]).context_length == 64
    assert ClipConfig.read(cache / NAMES["m-clip"]).text_clean == ""


def test_clean_text() -> None:
    assert clean_text("  a   dog\t\non  the beach ") == "a dog on the beach"
    assert clean_text("A Dog's_photo, (2024)!", canonicalize=True) == "a dogs photo 2024"
    assert clean_text("Hund am Strand", canonicalize=False) == "Hund am Strand"


def test_flores_codes() -> None:
    assert flores_code("de") == "deu_Latn"
    assert flores_code("pt_BR") == "por_Latn"
    assert flores_code("zh_Hant") == "zho_Hant" and flores_code("zh-TW") == "zho_Hant"
    assert flores_code("zh") == "zho_Hans"
    assert flores_code("nb_NO") == "nob_Latn"
    assert flores_code("sr-Latn-RS") == "srp_Cyrl"
    assert flores_code("deu_Latn") == "deu_Latn"  # already a FLORES code
    assert flores_code("") == "eng_Latn" and flores_code(None) == "eng_Latn"
    assert flores_code("klingon") == "eng_Latn"


def test_pad_token_from_special_tokens_map_or_the_sentencepiece_default(tmp_path: Path) -> None:
    model_dir = build_tiny_text_model(tmp_path, "m-clip", dim=32, seed=3)
    textual = model_dir / "textual"
    (textual / "tokenizer_config.json").write_text("{}")
    pad = Tokenizer.from_file(str(textual / "tokenizer.json")).token_to_id("<pad>")
    enc = _load(tmp_path, model_dir.name).textual
    assert enc is not None and enc.tokenize(["a dog"])[0][-1] == pad  # from special_tokens_map
    (textual / "special_tokens_map.json").unlink()
    enc = _load(tmp_path, model_dir.name).textual
    assert enc is not None and enc.tokenize(["a dog"])[0][-1] == pad  # <pad>: not CLIP's EOT
