"""Image preprocessing for CLIP visual encoders, as the model's ``preprocess_cfg.json`` says.

The config is OpenCLIP's preprocessing config as Immich's model repository ships it in
``<model>/visual/preprocess_cfg.json``::

    {"size": [224, 224], "mode": "RGB", "mean": [0.481, 0.458, 0.408],
     "std": [0.269, 0.261, 0.276], "interpolation": "bicubic", "resize_mode": "shortest",
     "fill_color": 0}

``resize_mode`` follows OpenCLIP's ``image_transform``: "shortest" resizes the shorter side to
the size and centre-crops (the CLIP paper's transform), "longest" resizes the longer side and pads
with ``fill_color``, "squash" resizes both sides to the size ignoring the aspect ratio.
"""

from __future__ import annotations

import io
from typing import Literal

import msgspec
import numpy as np
from numpy.typing import NDArray
from PIL import Image

ImageInput = bytes | NDArray[np.uint8] | Image.Image

#: OpenAI CLIP's normalisation constants (Radford et al. 2021, ``clip/clip.py``), OpenCLIP's
#: ``OPENAI_DATASET_MEAN``/``OPENAI_DATASET_STD``: the default when a config names none.
OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)

_RESAMPLE = {
    "bicubic": Image.Resampling.BICUBIC,
    "bilinear": Image.Resampling.BILINEAR,
    "nearest": Image.Resampling.NEAREST,
    "lanczos": Image.Resampling.LANCZOS,
    "box": Image.Resampling.BOX,
}


class PreprocessConfig(msgspec.Struct, frozen=True, kw_only=True):
    """``visual/preprocess_cfg.json`` of a CLIP model.

    Attributes:
        size: Output side in pixels (an int, or ``[height, width]``; CLIP models are square).
        mean: Per-channel mean (RGB, 0..1 scale) subtracted after scaling to 0..1.
        std: Per-channel standard deviation divided by after subtracting the mean.
        interpolation: "bicubic" (CLIP), "bilinear", "nearest", "lanczos" or "box".
        resize_mode: "shortest" (resize + centre crop), "longest" (resize + pad) or "squash".
        fill_color: Padding value (0..255) for "longest".
        mode: Colour mode; only "RGB" is supported.
    """

    size: int | list[int] = 224
    mean: list[float] = msgspec.field(default_factory=lambda: list(OPENAI_MEAN))
    std: list[float] = msgspec.field(default_factory=lambda: list(OPENAI_STD))
    interpolation: Literal["bicubic", "bilinear", "nearest", "lanczos", "box"] = "bicubic"
    resize_mode: Literal["shortest", "longest", "squash"] = "shortest"
    fill_color: int = 0
    mode: str = "RGB"

    @property
    def side(self) -> tuple[int, int]:
        """(height, width) of the model input."""
        if isinstance(self.size, int):
            return self.size, self.size
        if len(self.size) == 1:
            return self.size[0], self.size[0]
        return self.size[0], self.size[1]


def to_pil(image: ImageInput, *, draft: tuple[int, int] | None = None) -> Image.Image:
    """Decode/convert one image to an RGB Pillow image.

    Args:
        image: Encoded bytes (JPEG, PNG, WebP...), an ``(H, W, 3)`` uint8 RGB array, an
            ``(H, W)`` grey array, or a Pillow image.
        draft: For JPEG bytes, the smallest (width, height) needed: the decoder then scales by
            1/2, 1/4 or 1/8 on load (libjpeg DCT scaling) without going below it.

    Returns:
        An RGB image.

    Raises:
        PIL.UnidentifiedImageError / OSError: The bytes are not a decodable image.
        ValueError: The array has an unsupported shape or dtype.
    """
    if isinstance(image, Image.Image):
        img = image
    elif isinstance(image, bytes | bytearray | memoryview):
        img = Image.open(io.BytesIO(bytes(image)))
        if draft is not None and img.format == "JPEG":
            img.draft("RGB", draft)
        img.load()
    else:
        arr = np.asarray(image)
        if arr.dtype != np.uint8 or arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] != 3):
            raise ValueError(f"expected (H, W, 3) or (H, W) uint8, got {arr.shape} {arr.dtype}")
        img = Image.fromarray(arr)
    return img if img.mode == "RGB" else img.convert("RGB")


def resize_crop(img: Image.Image, cfg: PreprocessConfig) -> Image.Image:
    """Geometric part of the transform: the model's input size, as ``cfg.resize_mode`` says.

    Returns:
        An RGB image of exactly ``cfg.side`` (height, width).
    """
    h, w = cfg.side
    resample = _RESAMPLE[cfg.interpolation]
    if cfg.resize_mode == "squash":
        return img.resize((w, h), resample)
    iw, ih = img.size
    if cfg.resize_mode == "shortest":
        scale = max(w / iw, h / ih)
    else:
        scale = min(w / iw, h / ih)
    nw, nh = max(1, round(iw * scale)), max(1, round(ih * scale))
    resized = img.resize((nw, nh), resample) if (nw, nh) != (iw, ih) else img
    if cfg.resize_mode == "shortest":
        left, top = (nw - w) // 2, (nh - h) // 2
        return resized.crop((left, top, left + w, top + h))
    canvas = Image.new("RGB", (w, h), (cfg.fill_color,) * 3)
    canvas.paste(resized, ((w - nw) // 2, (h - nh) // 2))
    return canvas


def normalize(img: Image.Image, cfg: PreprocessConfig) -> NDArray[np.float32]:
    """Scale to 0..1, subtract ``mean``, divide by ``std``, and lay out channels first.

    Returns:
        ``(3, H, W)`` float32.
    """
    arr = np.asarray(img, dtype=np.float32) / np.float32(255.0)
    mean = np.asarray(cfg.mean, dtype=np.float32)
    std = np.asarray(cfg.std, dtype=np.float32)
    return np.ascontiguousarray(((arr - mean) / std).transpose(2, 0, 1))


def preprocess(images: list[ImageInput], cfg: PreprocessConfig) -> NDArray[np.float32]:
    """Turn images into one model input batch.

    Args:
        images: Encoded bytes, uint8 RGB arrays or Pillow images (see :func:`to_pil`).
        cfg: The model's preprocessing config.

    Returns:
        ``(N, 3, H, W)`` float32 (NCHW), normalised.

    Raises:
        ValueError: ``images`` is empty or holds an unsupported array.
        PIL.UnidentifiedImageError / OSError: Bytes that are not an image.
    """
    if not images:
        raise ValueError("no images")
    h, w = cfg.side
    out = np.empty((len(images), 3, h, w), dtype=np.float32)
    for i, image in enumerate(images):
        out[i] = normalize(resize_crop(to_pil(image, draft=(w, h)), cfg), cfg)
    return out
