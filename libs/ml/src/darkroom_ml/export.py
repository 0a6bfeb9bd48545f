"""Export an OpenCLIP model to Darkroom's (Immich's) model layout, as ONNX.

Usage (needs the ``export`` extra: ``pip install 'darkroom-ml[export]'``, which brings torch and
open-clip-torch; never a runtime dependency of the services)::

    python -m darkroom_ml.export ViT-B-32 openai /models
    # -> /models/ViT-B-32__openai/{config.json, visual/..., textual/...}

The visual graph takes ``image`` float32 ``[N, 3, S, S]``, the textual graph ``text`` int64
``[N, 77]``; both output unnormalised ``[N, D]`` embeddings with a dynamic batch axis. The
tokenizer is written as OpenCLIP's BPE merges file, which :mod:`darkroom_ml.tokenizer` reads.
Models with a non-CLIP tokenizer (SigLIP, multilingual) need their Hugging Face
``tokenizer.json`` copied into ``textual/`` by hand.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any


def export(model_name: str, pretrained: str, cache_dir: Path, *, opset: int = 17) -> Path:
    """Export OpenCLIP ``model_name``/``pretrained`` to ``<cache_dir>/<model>__<pretrained>``.

    Args:
        model_name: OpenCLIP architecture, e.g. ``ViT-B-32``.
        pretrained: OpenCLIP weights tag, e.g. ``openai`` or ``laion2b_s34b_b79k``.
        cache_dir: The model cache.
        opset: ONNX opset of the exported graphs.

    Returns:
        The model directory.

    Raises:
        ImportError: torch or open_clip is not installed (install ``darkroom-ml[export]``).
    """
    import open_clip  # lazy: an optional extra
    import torch

    model, _, _ = open_clip.create_model_and_transforms(model_name, pretrained=pretrained)
    model.eval()
    name = f"{model_name}__{pretrained.replace('_', '-')}"
    out = cache_dir / name
    (out / "visual").mkdir(parents=True, exist_ok=True)
    (out / "textual").mkdir(parents=True, exist_ok=True)

    cfg: dict[str, Any] = open_clip.get_model_config(model_name) or {}
    (out / "config.json").write_text(json.dumps(cfg, indent=2))
    pp = model.visual.preprocess_cfg if hasattr(model.visual, "preprocess_cfg") else {}
    size = model.visual.image_size
    size = list(size) if isinstance(size, tuple | list) else [size, size]
    (out / "visual" / "preprocess_cfg.json").write_text(
        json.dumps(
            {
                "size": size,
                "mode": "RGB",
                "mean": list(pp.get("mean", open_clip.OPENAI_DATASET_MEAN)),
                "std": list(pp.get("std", open_clip.OPENAI_DATASET_STD)),
                "interpolation": pp.get("interpolation", "bicubic"),
                "resize_mode": pp.get("resize_mode", "shortest"),
                "fill_color": pp.get("fill_color", 0),
            },
            indent=2,
        )
    )

    class Visual(torch.nn.Module):
        def forward(self, image: torch.Tensor) -> torch.Tensor:
            return model.encode_image(image)

    class Textual(torch.nn.Module):
        def forward(self, text: torch.Tensor) -> torch.Tensor:
            return model.encode_text(text)

    with torch.no_grad():
        torch.onnx.export(
            Visual(),
            (torch.zeros(1, 3, size[0], size[1]),),
            str(out / "visual" / "model.onnx"),
            input_names=["image"],
            output_names=["embedding"],
            dynamic_axes={"image": {0: "N"}, "embedding": {0: "N"}},
            opset_version=opset,
        )
        torch.onnx.export(
            Textual(),
            (open_clip.tokenize(["a photo"]),),
            str(out / "textual" / "model.onnx"),
            input_names=["text"],
            output_names=["embedding"],
            dynamic_axes={"text": {0: "N"}, "embedding": {0: "N"}},
            opset_version=opset,
        )
    bpe = Path(open_clip.__file__).parent / "bpe_simple_vocab_16e6.txt.gz"
    shutil.copyfile(bpe, out / "textual" / bpe.name)
    return out


def main() -> None:
    """``python -m darkroom_ml.export MODEL PRETRAINED CACHE_DIR``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="OpenCLIP architecture, e.g. ViT-B-32")
    parser.add_argument("pretrained", help="OpenCLIP weights tag, e.g. openai")
    parser.add_argument("cache_dir", type=Path, help="model cache (DARKROOM_ML_MODEL_DIR)")
    parser.add_argument("--opset", type=int, default=17)
    args = parser.parse_args()
    out = export(args.model, args.pretrained, args.cache_dir, opset=args.opset)
    import structlog

    structlog.get_logger().info("ml.exported", model=out.name, path=str(out))


if __name__ == "__main__":
    main()
