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
