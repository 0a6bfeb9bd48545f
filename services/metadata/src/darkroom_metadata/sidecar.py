"""XMP sidecars (``IMG_1.jpg.xmp``): their values override the file's own.

The sidecar is read by the same ExifTool as the file (it is an XMP file), so a value has the
same meaning in both; merging is :func:`darkroom_metadata.normalise.overlay` (a sidecar's GPS
position replaces the file's whole; its keywords replace the file's).
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import structlog

from darkroom_metadata.exiftool import ExifTool, ExifToolError
from darkroom_metadata.normalise import Fields, fields_from_tags, overlay

__all__ = ["merge_sidecar", "read_sidecar"]

log = structlog.get_logger()


def read_sidecar(data: bytes, exiftool: ExifTool) -> Fields | None:
    """The fields an XMP sidecar gives, or None (logged) when it cannot be read.

    Args:
        data: The sidecar's bytes.
        exiftool: The reader.

    Returns:
        Only what the sidecar itself says (never a pixel size); None for a file that is not
        XMP or that ExifTool rejects.
    """
    with tempfile.TemporaryDirectory(prefix="darkroom-sidecar-") as folder:
        path = Path(folder) / "sidecar.xmp"
        path.write_bytes(data)
        try:
            tags = exiftool.read(path)
        except ExifToolError as error:
            log.warning("metadata.sidecar_unreadable", error=str(error))
            return None
    problem = tags.get("ExifTool:Error")
    if problem or tags.get("File:FileType") != "XMP":
        log.warning("metadata.sidecar_unreadable", error=str(problem or "not an XMP file"))
        return None
    return dataclasses.replace(fields_from_tags(tags), width=None, height=None)


def merge_sidecar(fields: Fields, data: bytes | None, exiftool: ExifTool) -> Fields:
    """``fields`` of a file with its sidecar's values on top (``fields`` when there is none
    or it is unreadable)."""
    if not data:
        return fields
    side = read_sidecar(data, exiftool)
    return fields if side is None else overlay(fields, side)
