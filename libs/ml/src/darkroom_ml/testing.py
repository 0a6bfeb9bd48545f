"""A tiny CLIP-shaped ONNX model with random weights, in Immich's layout, for tests.

No CLIP weights can be downloaded where the tests run, so tests build this model at test time:
the whole path (preprocessing, tokenisation, batching, normalisation, storage, query) is then
exercised with real onnxruntime sessions. Needs the ``onnx`` package (dev dependency group).

Graphs (opset 18):

- visual: ``image`` float32 ``[N, 3, S, S]`` -> Conv(3->8, 4x4, stride 4) -> Relu ->
  GlobalAveragePool -> Flatten -> concat with the per-channel mean of the input ->
  MatMul(11 x D) -> ``[N, D]``. The mean path makes colour differences show in the embedding.
- textual: ``text`` int64 ``[N, 77]`` -> Gather(vocab x D) -> ReduceMean over tokens -> ``[N, D]``.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np

from darkroom_ml.tokenizer import bytes_to_unicode, clip_bpe_tokenizer

#: A handful of merges so common test words become single tokens.
_WORDS = ("dog", "beach", "cat", "red", "blue", "photo", "of", "a", "the", "invoice")


def _merges_for(words: tuple[str, ...]) -> list[str]:
    merges: list[str] = []
    seen: set[tuple[str, str]] = set()
    for word in words:
        parts = [*word[:-1], word[-1] + "</w>"]
        while len(parts) > 1:
            pair = (parts[0], parts[1])
            if pair not in seen:
                seen.add(pair)
                merges.append(f"{pair[0]} {pair[1]}")
            parts = [parts[0] + parts[1], *parts[2:]]
    return merges


def write_bpe(path: Path, words: tuple[str, ...] = _WORDS) -> Path:
    """Write a small ``bpe_simple_vocab_16e6.txt.gz``-format merges file.

    Returns:
        ``path``.
    """
    path.write_bytes(
        gzip.compress(("#version: test\n" + "\n".join(_merges_for(words)) + "\n").encode())
    )
    return path


def build_tiny_clip(
    root: Path,
    name: str = "Tiny-CLIP__test",
    *,
    dim: int = 64,
    image_size: int = 32,
    seed: int = 0,
    tokenizer: str = "json",
) -> Path:
    """Write a random-weight CLIP model in Immich's layout under ``root/name``.

    Args:
        root: The model cache directory.
        name: Model (directory) name.
        dim: Embedding size D.
        image_size: Input side S of the visual model (a multiple of 4).
        seed: Weight seed (the same seed gives the same model).
        tokenizer: "json" writes ``textual/tokenizer.json`` + ``tokenizer_config.json``;
            "bpe" writes OpenCLIP's ``bpe_simple_vocab_16e6.txt.gz`` format instead.

    Returns:
        The model directory.

    Raises:
        ImportError: The ``onnx`` package is not installed.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    model_dir = root / name
    (model_dir / "visual").mkdir(parents=True, exist_ok=True)
    (model_dir / "textual").mkdir(parents=True, exist_ok=True)

    bpe = write_bpe(model_dir / "textual" / "bpe_simple_vocab_16e6.txt.gz")
    tok = clip_bpe_tokenizer(bpe)
    vocab_size = tok.get_vocab_size()
    if tokenizer == "json":
        tok.save(str(model_dir / "textual" / "tokenizer.json"))
        bpe.unlink()
        (model_dir / "textual" / "tokenizer_config.json").write_text(
            json.dumps({"pad_token": "<|endoftext|>", "model_max_length": 77})
        )
    assert len(bytes_to_unicode()) == 256

    def init(name_: str, arr: np.ndarray) -> onnx.TensorProto:
        return numpy_helper.from_array(arr.astype(np.float32), name_)

    conv_w = rng.normal(0, 0.5, (8, 3, 4, 4))
    proj = rng.normal(0, 1.0, (11, dim))
    visual = helper.make_graph(
        [
            helper.make_node(
                "Conv", ["image", "conv_w"], ["c"], kernel_shape=[4, 4], strides=[4, 4]
            ),
            helper.make_node("Relu", ["c"], ["r"]),
            helper.make_node("GlobalAveragePool", ["r"], ["p"]),
            helper.make_node("Flatten", ["p"], ["f"], axis=1),
            helper.make_node("ReduceMean", ["image", "axes_hw"], ["m"], keepdims=0),
            helper.make_node("Concat", ["f", "m"], ["fm"], axis=1),
            helper.make_node("MatMul", ["fm", "proj"], ["embedding"]),
        ],
        "tiny_clip_visual",
        [
            helper.make_tensor_value_info(
                "image", TensorProto.FLOAT, ["N", 3, image_size, image_size]
            )
        ],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", dim])],
        [
            init("conv_w", conv_w),
            init("proj", proj),
            numpy_helper.from_array(np.array([2, 3], dtype=np.int64), "axes_hw"),
        ],
    )
    token_emb = rng.normal(0, 1.0, (vocab_size, dim))
    textual = helper.make_graph(
        [
            helper.make_node("Gather", ["token_emb", "text"], ["e"], axis=0),
            helper.make_node("ReduceMean", ["e", "axes_t"], ["embedding"], keepdims=0),
        ],
        "tiny_clip_textual",
        [helper.make_tensor_value_info("text", TensorProto.INT64, ["N", 77])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", dim])],
        [
            init("token_emb", token_emb),
            numpy_helper.from_array(np.array([1], dtype=np.int64), "axes_t"),
        ],
    )
    for graph, part in ((visual, "visual"), (textual, "textual")):
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
        model.ir_version = 8
        onnx.checker.check_model(model)
        onnx.save(model, str(model_dir / part / "model.onnx"))

    (model_dir / "config.json").write_text(
        json.dumps(
            {
                "embed_dim": dim,
                "vision_cfg": {"image_size": image_size, "layers": 1, "width": 8, "patch_size": 4},
                "text_cfg": {"context_length": 77, "vocab_size": vocab_size, "width": dim},
            }
        )
    )
    (model_dir / "visual" / "preprocess_cfg.json").write_text(
        json.dumps(
            {
                "size": [image_size, image_size],
                "mode": "RGB",
                "mean": [0.48145466, 0.4578275, 0.40821073],
                "std": [0.26862954, 0.26130258, 0.27577711],
                "interpolation": "bicubic",
                "resize_mode": "shortest",
                "fill_color": 0,
            }
        )
    )
    return model_dir


# --- multilingual text encoders (M-CLIP, NLLB-CLIP, SigLIP2) ------------------------------------

#: Words of the tiny multilingual vocabularies (English, German, French), so test queries are
#: whole-word tokens in each language.
_ML_WORDS = (
    "a", "the", "dog", "cat", "beach", "red", "photo", "of", "on",
    "hund", "katze", "strand", "rot", "am", "der", "ein",
    "chien", "chat", "plage", "rouge", "sur", "la", "le", "un",
)  # fmt: skip
#: Characters every tiny SentencePiece vocabulary holds, so any Latin text tokenises.
_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789äöüßéèàçêñ.,!?'-"
#: FLORES-200 codes the tiny NLLB tokenizer knows (a real one knows 202).
NLLB_LANGUAGES = ("eng_Latn", "deu_Latn", "fra_Latn", "spa_Latn", "zho_Hans", "jpn_Jpan")


def _unigram_tokenizer(specials: list[str], *, template: str, extra_special: list[str]) -> object:
    """A SentencePiece-Unigram tokenizer as Hugging Face converts XLM-R's and NLLB's: NFKC,
    ``▁`` word prefix (Metaspace), whole words scored above single characters."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    vocab: list[tuple[str, float]] = [(s, 0.0) for s in specials]
    vocab += [("▁" + w, -5.0 - i * 0.01) for i, w in enumerate(_ML_WORDS)]
    vocab += [("▁", -8.0)] + [(c, -10.0) for c in _CHARS]
    vocab += [(s, 0.0) for s in extra_special]
    unk = specials.index("<unk>")
    tok = Tokenizer(models.Unigram(vocab, unk_id=unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(" {2,}", " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    ids = {t: i for i, (t, _) in enumerate(vocab)}
    tok.post_processor = processors.TemplateProcessing(
        single=template,
        special_tokens=[(t, ids[t]) for t in [*specials, *extra_special] if t in template],
    )
    tok.add_special_tokens([*specials, *extra_special])
    return tok


def _gemma_bpe_tokenizer() -> object:
    """A Gemma-style SentencePiece-BPE tokenizer (SigLIP2): spaces become ``▁`` (no prefix),
    byte fallback for unknown characters, ``<eos>`` appended, ``<pad>`` = 0."""
    from tokenizers import Tokenizer, decoders, models, normalizers, processors

    specials = ["<pad>", "<eos>", "<bos>", "<unk>"]
    vocab_list = specials + [f"<0x{b:02X}>" for b in range(256)] + ["▁", *_CHARS]
    merges: list[tuple[str, str]] = []
    for word in _ML_WORDS:
        piece = "▁"
        for ch in word:
            merged = piece + ch
            if merged not in vocab_list:
                merges.append((piece, ch))
                vocab_list.append(merged)
            piece = merged
    vocab = {t: i for i, t in enumerate(vocab_list)}
    tok = Tokenizer(
        models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", byte_fallback=True, fuse_unk=True)
    )
    tok.normalizer = normalizers.Replace(" ", "▁")
    tok.decoder = decoders.Sequence(
        [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()]
    )
    tok.post_processor = processors.TemplateProcessing(
        single="$A <eos>", special_tokens=[("<eos>", vocab["<eos>"])]
    )
    tok.add_special_tokens(specials)
    return tok


def _text_graph(kind: str, vocab: int, dim: int, width: int, length: int, rng: np.random.Generator):  # type: ignore[no-untyped-def]
    """The tiny textual ONNX graph of ``kind`` (see :func:`build_tiny_text_model`)."""
    from onnx import TensorProto, helper, numpy_helper

    emb = numpy_helper.from_array(
        rng.normal(0, 1.0, (vocab, width)).astype(np.float32), "token_emb"
    )
    if kind != "m-clip":
        return helper.make_graph(
            [
                helper.make_node("Gather", ["token_emb", "text"], ["e"], axis=0),
                helper.make_node("ReduceMean", ["e", "axes_t"], ["embedding"], keepdims=0),
            ],
            f"tiny_{kind}_textual",
            [helper.make_tensor_value_info("text", TensorProto.INT32, ["N", length])],
            [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", width])],
            [emb, numpy_helper.from_array(np.array([1], dtype=np.int64), "axes_t")],
        )
    proj = numpy_helper.from_array(rng.normal(0, 1.0, (width, dim)).astype(np.float32), "proj")
    return helper.make_graph(
        [
            helper.make_node("Gather", ["token_emb", "input_ids"], ["e"], axis=0),
            helper.make_node("Cast", ["attention_mask"], ["m"], to=TensorProto.FLOAT),
            helper.make_node("Unsqueeze", ["m", "axes_w"], ["m3"]),
            helper.make_node("Mul", ["e", "m3"], ["em"]),
            helper.make_node("ReduceSum", ["em", "axes_t"], ["s"], keepdims=0),
            helper.make_node("ReduceSum", ["m", "axes_t"], ["c"], keepdims=1),
            helper.make_node("Div", ["s", "c"], ["pooled"]),
            helper.make_node("MatMul", ["pooled", "proj"], ["embedding"]),
        ],
        "tiny_mclip_textual",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT32, ["N", length]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT32, ["N", length]),
        ],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", dim])],
        [
            emb,
            proj,
            numpy_helper.from_array(np.array([1], dtype=np.int64), "axes_t"),
            numpy_helper.from_array(np.array([2], dtype=np.int64), "axes_w"),
        ],
    )


#: Per kind: default model name (as Immich names the real one), context length, pad token,
#: ``text_cfg`` extras of its ``config.json``.
TEXT_KINDS: dict[str, tuple[str, int, str, dict[str, object]]] = {
    "m-clip": (
        "XLM-Roberta-Large-Vit-B-16Plus",
        77,
        "<pad>",
        {"hf_model_name": "M-CLIP/XLM-Roberta-Large-Vit-B-16Plus", "hf_proj_type": "linear"},
    ),
    "nllb": (
        "nllb-clip-base-siglip__v1",
        77,
        "<pad>",
        {"hf_tokenizer_name": "facebook/nllb-200-distilled-600M"},
    ),
    "siglip2": (
        "ViT-B-16-SigLIP2__webli",
        64,
        "<pad>",
        {
            "hf_tokenizer_name": "timm/ViT-B-16-SigLIP2",
            "tokenizer_kwargs": {"clean": "canonicalize"},
        },
    ),
}


def build_tiny_text_model(
    root: Path,
    kind: str,
    name: str | None = None,
    *,
    dim: int = 32,
    image_size: int = 32,
    seed: int = 0,
    nllb_template_language: bool = False,
) -> Path:
    """Write a random-weight multilingual CLIP model of ``kind`` in Immich's layout.

    The visual part is :func:`build_tiny_clip`'s; the textual part is the kind's own:

    - ``"m-clip"``: XLM-R Unigram ``tokenizer.json`` (``<s> $A </s>``, ``<pad>`` = 1); graph
      ``input_ids``, ``attention_mask`` int32 ``[N, 77]`` -> Gather(vocab x 16) -> mean over the
      tokens the mask keeps -> MatMul(16 x D) (M-CLIP's pooling and projection).
    - ``"nllb"``: NLLB Unigram tokenizer whose FLORES-200 codes (:data:`NLLB_LANGUAGES`) are
      special tokens, template ``$A </s>`` (or ``eng_Latn $A </s>`` with
      ``nllb_template_language``, as Hugging Face's NLLB tokenizer saves itself); graph ``text``
      int32 ``[N, 77]`` -> Gather(vocab x D) -> mean over all tokens.
    - ``"siglip2"``: Gemma-style BPE tokenizer (byte fallback, ``$A <eos>``, ``<pad>`` = 0),
      context length 64, ``tokenizer_kwargs.clean = "canonicalize"``; graph as NLLB's.

    Args:
        root: The model cache directory.
        kind: ``"m-clip"``, ``"nllb"`` or ``"siglip2"``.
        name: Directory name; the real model's name when None (``nllb-clip-base-siglip__v1``...).
        dim: Embedding size D.
        image_size: Visual input side.
        seed: Weight seed.
        nllb_template_language: See ``"nllb"``.

    Returns:
        The model directory.

    Raises:
        KeyError: Unknown ``kind``.
        ImportError: The ``onnx`` package is not installed.
    """
    import onnx
    from onnx import helper

    default_name, length, pad, text_extra = TEXT_KINDS[kind]
    model_dir = build_tiny_clip(
        root, name or default_name, dim=dim, image_size=image_size, seed=seed
    )
    textual = model_dir / "textual"
    for old in textual.iterdir():
        old.unlink()
    if kind == "m-clip":
        specials = ["<s>", "<pad>", "</s>", "<unk>"]
        tok = _unigram_tokenizer(specials, template="<s> $A </s>", extra_special=["<mask>"])
        special_map = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}
    elif kind == "nllb":
        specials = ["<s>", "<pad>", "</s>", "<unk>"]
        template = "eng_Latn $A </s>" if nllb_template_language else "$A </s>"
        tok = _unigram_tokenizer(
            specials, template=template, extra_special=[*NLLB_LANGUAGES, "<mask>"]
        )
        special_map = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}
    else:
        tok = _gemma_bpe_tokenizer()
        special_map = {"bos_token": "<bos>", "eos_token": "<eos>", "unk_token": "<unk>"}
    tok.save(str(textual / "tokenizer.json"))  # type: ignore[attr-defined]
    vocab_size = tok.get_vocab_size()  # type: ignore[attr-defined]
    (textual / "tokenizer_config.json").write_text(
        json.dumps({"pad_token": pad, "model_max_length": length, **special_map})
    )
    (textual / "special_tokens_map.json").write_text(json.dumps({"pad_token": pad, **special_map}))
    rng = np.random.default_rng(seed + 1000)
    width = 16 if kind == "m-clip" else dim
    graph = _text_graph(kind, vocab_size, dim, width, length, rng)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(textual / "model.onnx"))
    cfg = json.loads((model_dir / "config.json").read_text())
    cfg["text_cfg"] = {
        "context_length": length,
        "vocab_size": vocab_size,
        "width": width,
        **text_extra,
    }
    (model_dir / "config.json").write_text(json.dumps(cfg))
    return model_dir
