"""detect.py and models.py on real faces and generated images."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from darkroom_face.detect import crop_face_jpeg, decode_rgb, detect_faces, scale_box
from darkroom_face.models import DlibFaceModel, InsightFaceModel, load_face_model
from darkroom_face.settings import DetectionSettings
from PIL import Image


def _jpeg(image: Image.Image, quality: int = 92) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def test_scale_box_scales_and_clamps() -> None:
    assert scale_box((10, 20, 110, 220), (200, 400), (400, 800)) == (20, 40, 220, 440)
    assert scale_box((-5, -5, 250, 250), (200, 200), (100, 100)) == (0, 0, 100, 100)
    # anisotropic: x and y scale separately
    assert scale_box((50, 50, 100, 100), (100, 100), (300, 200)) == (150, 100, 300, 200)


def test_dlib_model_loads_and_describes_a_face(model: DlibFaceModel, faces_dir: Path) -> None:
    assert load_face_model(DetectionSettings()).name == "dlib"
    rgb = decode_rgb((faces_dir / "train" / "obama" / "obama.jpg").read_bytes())
    faces = model.predict(rgb)
    assert len(faces) == 1
    face = faces[0]
    assert face.embedding.shape == (model.dims,) == (128,)
    assert face.embedding.dtype == np.float32
    assert face.score >= DetectionSettings().min_score
    x1, y1, x2, y2 = face.box
    assert 0 <= x1 < x2 <= rgb.shape[1] and 0 <= y1 < y2 <= rgb.shape[0]


def test_unknown_model_and_missing_insightface_pack_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown face model"):
        load_face_model(DetectionSettings(model="nope"))
    m = load_face_model(DetectionSettings(model="buffalo_l", model_dir=str(tmp_path)))
    assert isinstance(m, InsightFaceModel)
    with pytest.raises(RuntimeError, match="not found"):
        m.load()


def test_boxes_scale_from_preview_to_original(model: DlibFaceModel, faces_dir: Path) -> None:
    """Detecting on a half-size preview with original_size gives the box found on the original
    (within the detector's jitter), in original pixels."""
    path = faces_dir / "train" / "biden" / "biden2.jpg"  # 1200 x 1200
    with Image.open(path) as im:
        original = im.convert("RGB")
    preview = original.resize((original.width // 2, original.height // 2))
    on_original = detect_faces(_jpeg(original), model)
    on_preview = detect_faces(_jpeg(preview), model, original_size=original.size)
    assert len(on_original) == len(on_preview) == 1
    a, b = on_original[0], on_preview[0]
    assert (b.image_width, b.image_height) == original.size == (a.image_width, a.image_height)
    side = a.x2 - a.x1
    assert side > 100  # a real face, not a speck
    for va, vb in ((a.x1, b.x1), (a.y1, b.y1), (a.x2, b.x2), (a.y2, b.y2)):
        assert abs(va - vb) < 0.1 * side, (a, b)
    # same person, so the two descriptors are close (dlib: < 0.6 is one person)
    assert float(np.linalg.norm(a.embedding - b.embedding)) < 0.3
    # without original_size the box stays in preview pixels
    raw = detect_faces(_jpeg(preview), model)[0]
    assert (raw.image_width, raw.image_height) == preview.size
    assert abs(raw.x1 * 2 - b.x1) <= 2 and abs(raw.x2 * 2 - b.x2) <= 2


def test_image_without_faces_gives_no_faces(model: DlibFaceModel) -> None:
    rng = np.random.default_rng(7)
    noise = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    gradient = np.broadcast_to(np.linspace(0, 255, 640, dtype=np.uint8)[None, :, None], noise.shape)
    for array in (noise, np.ascontiguousarray(gradient)):
        assert detect_faces(_jpeg(Image.fromarray(array)), model) == []


def test_undecodable_data_raises() -> None:
    from PIL import UnidentifiedImageError

    with pytest.raises(UnidentifiedImageError):
        decode_rgb(b"not an image")


def test_crop_face_jpeg_is_a_square_around_the_box() -> None:
    """A red square on grey, box in 'original' pixels twice the data's size: the crop is a
    250 px JPEG centred on the red square with some margin (grey at the corners)."""
    image = Image.new("RGB", (400, 300), (128, 128, 128))
    image.paste((255, 0, 0), (150, 100, 250, 200))
    jpeg = crop_face_jpeg(_jpeg(image, 95), (300, 200, 500, 400), (800, 600))
    with Image.open(io.BytesIO(jpeg)) as im:
        assert im.format == "JPEG" and im.size == (250, 250)
        crop = np.asarray(im.convert("RGB"), dtype=int)
    centre = crop[125, 125]
    assert centre[0] > 200 and centre[1] < 60  # red
    corner = crop[5, 5]
    assert abs(corner[0] - 128) < 30 and abs(corner[1] - 128) < 30  # grey margin
    # the red square spans ~1/1.3 of the crop (30% margin)
    red_cols = np.flatnonzero((crop[125, :, 0] > 200) & (crop[125, :, 1] < 80))
    assert 0.65 < len(red_cols) / 250 < 0.9


def test_crop_face_jpeg_near_the_edge_stays_inside_the_image() -> None:
    image = Image.new("RGB", (200, 200), (0, 0, 255))
    image.paste((255, 255, 0), (0, 0, 40, 40))
    jpeg = crop_face_jpeg(_jpeg(image, 95), (0, 0, 40, 40), (200, 200), size=64)
    with Image.open(io.BytesIO(jpeg)) as im:
        assert im.size == (64, 64)
        pixel = np.asarray(im.convert("RGB"), dtype=int)[32, 32]
    assert pixel[0] > 200 and pixel[1] > 200  # yellow: the face, not the blue around it
