"""Pure face detection: image bytes -> faces with boxes, scores and identity descriptors.

No NATS, database or storage here; the handler feeds it the preview and stores what it returns.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from darkroom_face.models import FaceModel


@dataclass(frozen=True)
class DetectedFace:
    """A face in ORIGINAL image coordinates.

    Attributes:
        x1, y1, x2, y2: Box in pixels of the original (``image_width`` x ``image_height``),
            x2/y2 exclusive, clamped to the image.
        image_width, image_height: The original's size the box refers to.
        score: Detector score.
        embedding: Identity descriptor, shape (dims,), float32.
    """

    x1: int
    y1: int
    x2: int
    y2: int
    image_width: int
    image_height: int
    score: float
    embedding: np.ndarray


def decode_rgb(data: bytes) -> np.ndarray:
    """Decode an image (JPEG/PNG/WebP...) to an H x W x 3 uint8 RGB array, EXIF-rotated.

    Raises:
        PIL.UnidentifiedImageError: Not an image Pillow reads.
    """
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(ImageOps.exif_transpose(im).convert("RGB"))


def scale_box(
    box: tuple[float, float, float, float],
    src: tuple[int, int],
    dst: tuple[int, int],
) -> tuple[int, int, int, int]:
    """Scale a box from an image of size ``src`` (w, h) to the same image at size ``dst``.

    Returns:
        (x1, y1, x2, y2) integer pixels of ``dst``, clamped to it.
    """
    sx, sy = dst[0] / src[0], dst[1] / src[1]
    x1, y1, x2, y2 = box
    return (
        max(0, round(x1 * sx)),
        max(0, round(y1 * sy)),
        min(dst[0], round(x2 * sx)),
        min(dst[1], round(y2 * sy)),
    )


def detect_faces(
    data: bytes,
    model: FaceModel,
    *,
    original_size: tuple[int, int] | None = None,
) -> list[DetectedFace]:
    """Find the faces in an image (the asset's preview) and describe them.

    Args:
        data: Encoded image bytes.
        model: A loaded (or loadable) face model.
        original_size: (width, height) of the original the image is a scaled copy of; boxes
            are returned in its pixels. None: the image's own size.

    Returns:
        Faces, largest first.

    Raises:
        PIL.UnidentifiedImageError: ``data`` is not an image.
    """
    rgb = decode_rgb(data)
    h, w = rgb.shape[:2]
    dst = original_size if original_size and original_size[0] and original_size[1] else (w, h)
    out = []
    for face in model.predict(rgb):
        x1, y1, x2, y2 = scale_box(face.box, (w, h), dst)
        out.append(
            DetectedFace(
                x1=x1,
                y1=y1,
                x2=x2,
                y2=y2,
                image_width=dst[0],
                image_height=dst[1],
                score=face.score,
                embedding=face.embedding,
            )
        )
    return out


def crop_face_jpeg(
    data: bytes,
    box: tuple[int, int, int, int],
    box_image_size: tuple[int, int],
    *,
    size: int = 250,
    quality: int = 85,
) -> bytes:
    """A square JPEG thumbnail of a face (the person thumbnail), cut from ``data``.

    The box (in pixels of an image of ``box_image_size``) is scaled to ``data``'s size, widened
    to a square with 30% margin around the face (Immich's person thumbnails show some context),
    clamped to the image and resized to ``size`` x ``size``.

    Raises:
        PIL.UnidentifiedImageError: ``data`` is not an image.
    """
    with Image.open(io.BytesIO(data)) as im:
        image = ImageOps.exif_transpose(im).convert("RGB")
    x1, y1, x2, y2 = scale_box(box, box_image_size, image.size)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    half = max(x2 - x1, y2 - y1) * 0.65
    half = min(half, cx, cy, image.width - cx, image.height - cy) or max(1.0, half)
    crop = image.crop((round(cx - half), round(cy - half), round(cx + half), round(cy + half)))
    crop = crop.resize((size, size), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    crop.save(buf, "JPEG", quality=quality)
    return buf.getvalue()
