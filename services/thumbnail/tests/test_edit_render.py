"""Unit tests of :mod:`darkroom_thumbnail.edit_render` on generated images (no I/O but a temp
file): the shapes and pixels that crop, rotate and mirror give, in order."""

from __future__ import annotations

from pathlib import Path

import pytest
import pyvips
from darkroom_thumbnail.edit_render import Edit, apply_edits, render_edited, thumbhash_of
from darkroom_thumbnail.render import RenderSettings


def _quadrants() -> pyvips.Image:
    """200x100: left half red, right half blue, with a green top-left corner (40x20)."""
    red = pyvips.Image.black(100, 100).new_from_image([255, 0, 0])
    blue = pyvips.Image.black(100, 100).new_from_image([0, 0, 255])
    image = red.join(blue, "horizontal").copy(interpretation="srgb").cast("uchar")
    green = pyvips.Image.black(40, 20).new_from_image([0, 255, 0]).cast("uchar")
    return image.insert(green, 0, 0).copy_memory()


def _colour(image: pyvips.Image, x: int, y: int) -> str:
    r, g, b = (int(v) for v in image(x, y)[:3])
    return {r: "red", g: "green", b: "blue"}[max(r, g, b)]


def test_crop_then_quarter_turn() -> None:
    out = apply_edits(
        _quadrants(),
        [Edit("crop", {"x": 0, "y": 0, "width": 150, "height": 60}), Edit("rotate", {"angle": 90})],
    )
    assert (out.width, out.height) == (60, 150)
    # clockwise: the crop's top-left (green) is now at the top-right
    assert _colour(out, 55, 5) == "green"
    assert _colour(out, 5, 5) == "red"
    assert _colour(out, 30, 140) == "blue"  # the crop's right end is at the bottom


def test_mirrors_and_half_turn() -> None:
    image = _quadrants()
    flipped = apply_edits(image, [Edit("mirror", {"axis": "horizontal"})])
    assert _colour(flipped, 10, 50) == "blue" and _colour(flipped, 195, 5) == "green"
    upside = apply_edits(image, [Edit("mirror", {"axis": "vertical"})])
    assert _colour(upside, 5, 95) == "green" and _colour(upside, 5, 5) == "red"
    turned = apply_edits(image, [Edit("rotate", {"angle": -180})])
    assert (turned.width, turned.height) == (200, 100) and _colour(turned, 195, 95) == "green"


def test_crops_scale_to_the_decoded_size() -> None:
    half = _quadrants().resize(0.5)  # the crops were given for the 200x100 image
    out = apply_edits(
        half,
        [
            Edit("rotate", {"angle": 270}),
            Edit("crop", {"x": 0, "y": 0, "width": 100, "height": 40}),
        ],
        scale=(0.5, 0.5),
    )
    assert (out.width, out.height) == (50, 20)


@pytest.mark.parametrize(
    "edit",
    [Edit("rotate", {"angle": 45}), Edit("mirror", {"axis": "diagonal"}), Edit("blur", {})],
)
def test_invalid_edits_raise(edit: Edit) -> None:
    with pytest.raises(ValueError):
        apply_edits(_quadrants(), [edit])


def test_render_edited_sizes_and_thumbhash(tmp_path: Path) -> None:
    path = tmp_path / "q.png"
    _quadrants().pngsave(str(path))
    settings = RenderSettings(preview_size=80, thumbnail_size=30)
    out = render_edited(
        path,
        mime_type="image/png",
        edits=[Edit("rotate", {"angle": 90})],
        settings=settings,
        recorded_size=(200, 100),
    )
    assert (out.fullsize.width, out.fullsize.height) == (100, 200)
    assert (out.preview.width, out.preview.height) == (80, 160)
    assert (out.thumbnail.width, out.thumbnail.height) == (30, 60)
    assert out.thumbnail.mime_type == "image/webp" and out.preview.mime_type == "image/jpeg"
    assert 5 <= len(out.thumbhash) <= 25
    assert thumbhash_of(out.thumbnail.data)
