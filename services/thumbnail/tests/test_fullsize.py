"""The full-size rendering (:func:`darkroom_thumbnail.fullsize.render_fullsize`): every pixel of
the original, upright, in the configured format."""

from __future__ import annotations

from pathlib import Path

import pytest
import pyvips
from darkroom_media.errors import UnsupportedMediaError
from darkroom_thumbnail.fullsize import render_fullsize
from darkroom_thumbnail.render import RenderSettings


def test_tiff_with_orientation_is_rendered_whole_and_upright(tmp_path: Path) -> None:
    # 3000 x 2000 stored, EXIF orientation 6 (turn 90 degrees clockwise): 2000 x 3000 shown;
    # larger than the 1440 px preview, so a preview-sized result would show.
    stored = pyvips.Image.black(3000, 2000).copy(interpretation="srgb") + [200, 30, 30]
    stored = stored.cast("uchar").copy()
    stored.set_type(pyvips.GValue.gint_type, "orientation", 6)
    path = tmp_path / "turned.tiff"
    stored.tiffsave(str(path))
    out = render_fullsize(
        path, mime_type="image/tiff", settings=RenderSettings(), fmt="webp", quality=80
    )
    assert (out.width, out.height) == (2000, 3000)
    assert out.mime_type == "image/webp"
    image = pyvips.Image.new_from_buffer(out.data, "")
    assert (image.width, image.height) == (2000, 3000)
    assert image.get("vips-loader").startswith("webpload")
    assert abs(image.avg() - (200 + 30 + 30) / 3) < 3


def test_video_has_no_fullsize(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42")
    with pytest.raises(UnsupportedMediaError):
        render_fullsize(
            path, mime_type="video/mp4", settings=RenderSettings(), fmt="jpeg", quality=80
        )
