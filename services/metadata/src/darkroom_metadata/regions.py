"""Face regions a file names (XMP ``mwg-rs:RegionInfo``): people tagged in Lightroom, digiKam,
Picasa or a phone's gallery, imported as faces when the system config's
``metadata.faces.import`` is on (Immich's "Import faces" setting).

The regions are the Metadata Working Group's (Guidelines for Handling Image Metadata 2.0,
section 5.9 "Image Region Metadata"): ``AppliedToDimensions`` gives the image size the regions
were drawn on (``W`` x ``H``), each region's ``Area`` a centre (``X``, ``Y``) and a size (``W``,
``H``) as fractions of it. As Immich's metadata service does (``applyTaggedFaces``), only named
regions are imported, their boxes turned into pixels of the image as shown (the EXIF orientation
applied to the stored image the regions describe) with the floor of each edge, and a region
file without ``AppliedToDimensions`` or without regions gives nothing.
"""

from __future__ import annotations

import math
from typing import Any

from darkroom_db.people import TaggedFace

__all__ = ["face_regions"]

#: MWG region types that are people (``Focus`` and ``BarCode`` regions are not); a region
#: without a type is taken as a face, as the tools that write only names do.
_PERSON_TYPES = frozenset({"face", ""})


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _oriented(
    x: float, y: float, w: float, h: float, orientation: int | None
) -> tuple[float, float, float, float]:
    """A normalised region (centre, size) of the stored image, as it lies in the image shown
    with EXIF ``orientation`` (TIFF 6.0 tag 0x0112: 2 mirrors, 3 turns 180 degrees, 4 flips,
    5 transposes, 6 turns 90 clockwise, 7 transverses, 8 turns 90 counter-clockwise)."""
    match orientation:
        case 2:
            return 1 - x, y, w, h
        case 3:
            return 1 - x, 1 - y, w, h
        case 4:
            return x, 1 - y, w, h
        case 5:
            return y, x, h, w
        case 6:
            return 1 - y, x, h, w
        case 7:
            return 1 - y, 1 - x, h, w
        case 8:
            return y, 1 - x, h, w
        case _:
            return x, y, w, h


def face_regions(region_info: Any, orientation: int | None) -> list[TaggedFace]:
    """The named face regions of an ``XMP-mwg-rs:RegionInfo`` structure.

    Args:
        region_info: ExifTool's ``-struct`` value of the tag (a dict with
            ``AppliedToDimensions`` and ``RegionList``), or anything else (nothing then).
        orientation: The file's EXIF orientation 1..8 (None: as stored).

    Returns:
        One face per named region of type face (or without a type) with a usable area, in the
        file's order, in pixels of the displayed image (x2/y2 exclusive; an edge may lie outside
        the image when the file says so), as the repository stores it; an empty list when the
        structure has no image size or no regions.
    """
    if not isinstance(region_info, dict):
        return []
    size = region_info.get("AppliedToDimensions")
    listed = region_info.get("RegionList")
    if not isinstance(size, dict) or not isinstance(listed, list):
        return []
    width, height = _number(size.get("W")), _number(size.get("H"))
    if not width or not height or width <= 0 or height <= 0:
        return []
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    found = []
    for region in listed:
        if not isinstance(region, dict):
            continue
        name = str(region.get("Name") or "").strip()
        kind = str(region.get("Type") or "").strip().lower()
        area = region.get("Area")
        if not name or kind not in _PERSON_TYPES or not isinstance(area, dict):
            continue
        cx, cy, cw, ch = (_number(area.get(k)) for k in ("X", "Y", "W", "H"))
        if cx is None or cy is None or cw is None or ch is None:
            continue
        x, y, w, h = _oriented(cx, cy, cw, ch, orientation)
        if w <= 0 or h <= 0:
            continue
        found.append(
            TaggedFace(
                name=name,
                image_width=round(width),
                image_height=round(height),
                x1=math.floor((x - w / 2) * width),
                y1=math.floor((y - h / 2) * height),
                x2=math.floor((x + w / 2) * width),
                y2=math.floor((y + h / 2) * height),
            )
        )
    return found
