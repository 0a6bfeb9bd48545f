"""Face regions (XMP ``mwg-rs:RegionInfo``) read from real files and from structures.

Immich's test assets ``metadata/faces/portrait.jpg`` and ``portrait-orientation-6.jpg`` name
Marie and Pierre Curie; Immich's e2e asset spec ("should get the asset faces") expects, with
"Import faces" on, Marie Curie's face at x 261-356, y 146-284 of an 840x700 image.
"""

from __future__ import annotations

import pytest
from darkroom_db.people import TaggedFace
from darkroom_metadata.exiftool import ExifTool
from darkroom_metadata.extract import extract_metadata
from darkroom_metadata.regions import face_regions

PORTRAIT = "photos/immich_test-assets/metadata/faces/portrait.jpg"
PORTRAIT_6 = "photos/immich_test-assets/metadata/faces/portrait-orientation-6.jpg"
MARIE = TaggedFace(
    name="Marie Curie", image_width=840, image_height=700, x1=261, y1=146, x2=356, y2=284
)


@pytest.mark.parametrize("relative", [PORTRAIT, PORTRAIT_6])
def test_the_curies_as_immich_places_them(sample, exiftool: ExifTool, relative: str) -> None:
    """Both files give the same boxes on the image as shown: the second's regions are drawn on
    the stored 700x840 image, which orientation 6 turns a quarter clockwise."""
    meta = extract_metadata(sample(relative), mime_type="image/jpeg", exiftool=exiftool)
    assert [f.name for f in meta.faces] == ["Marie Curie", "Pierre Curie"]
    assert meta.faces[0] == MARIE
    pierre = meta.faces[1]
    assert (pierre.image_width, pierre.image_height) == (840, 700)
    # centre 0.6875, 0.239286; size 0.0964286 x 0.241429 of 840 x 700
    assert (pierre.x1, pierre.y1, pierre.x2, pierre.y2) == (536, 83, 618, 252)


def test_a_file_without_regions_names_nobody(sample, exiftool: ExifTool) -> None:
    path = sample("photos/immich_test-assets/metadata/gps-position/thompson-springs.jpg")
    assert extract_metadata(path, mime_type="image/jpeg", exiftool=exiftool).faces == []


def _info(*regions: dict, size: dict | None = None) -> dict:
    return {
        "AppliedToDimensions": {"W": 100, "H": 50, "Unit": "pixel"} if size is None else size,
        "RegionList": list(regions),
    }


def _region(name: str | None = "Ann", kind: str | None = "Face", **area: float) -> dict:
    region: dict = {"Area": {"X": 0.5, "Y": 0.5, "W": 0.2, "H": 0.4, **area}}
    if name is not None:
        region["Name"] = name
    if kind is not None:
        region["Type"] = kind
    return region


def test_only_named_face_regions_count() -> None:
    info = _info(
        _region("Ann"),
        _region(None),
        _region("  "),
        _region("Focus point", "Focus"),
        _region("Bob", None),
        _region("Code", "BarCode"),
    )
    assert [f.name for f in face_regions(info, 1)] == ["Ann", "Bob"]


@pytest.mark.parametrize(
    ("orientation", "box"),
    [
        (None, (16, 4, 32, 12)),
        (1, (16, 4, 32, 12)),
        (2, (32, 4, 48, 12)),
        (3, (32, 20, 48, 28)),
        (4, (16, 20, 32, 28)),
        (5, (4, 16, 12, 32)),
        (6, (20, 16, 28, 32)),
        (7, (20, 32, 28, 48)),
        (8, (4, 32, 12, 48)),
    ],
)
def test_each_orientation_moves_the_box_with_the_image(
    orientation: int | None, box: tuple[int, int, int, int]
) -> None:
    """A 16x8 px region at x 16-32, y 4-12 of a 64x32 stored image, where each EXIF
    orientation shows it (5-8 show a 32x64 image)."""
    info = _info(_region(X=0.375, Y=0.25, W=0.25, H=0.25), size={"W": 64, "H": 32, "Unit": "pixel"})
    (face,) = face_regions(info, orientation)
    assert (face.x1, face.y1, face.x2, face.y2) == box
    transposed = orientation in (5, 6, 7, 8)
    assert (face.image_width, face.image_height) == ((32, 64) if transposed else (64, 32))


@pytest.mark.parametrize(
    "info",
    [
        None,
        "text",
        {"RegionList": [_region()]},
        {"AppliedToDimensions": {"W": 0, "H": 50}, "RegionList": [_region()]},
        {"AppliedToDimensions": {"W": 100, "H": 50}, "RegionList": []},
        {"AppliedToDimensions": {"W": 100, "H": 50}, "RegionList": [{"Name": "No area"}]},
        _info(_region(W=0)),
        _info(_region(X="left")),
    ],
)
def test_unusable_structures_give_nothing(info: object) -> None:
    assert face_regions(info, 1) == []
