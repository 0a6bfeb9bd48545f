"""Find the MP4 embedded in a motion photo (Google / Samsung), without touching the file.

Three layouts are known, as Immich reads them (its metadata service asks exiftool for
``MotionPhoto``/``ContainerDirectory``, ``MicroVideo``/``MicroVideoOffset``, the HEIC
``MotionPhotoVideo`` box and Samsung's ``EmbeddedVideoFile`` trailer; we ask ExifTool for the
same XMP tags, and check the byte ranges with a box walk):

- Google Motion Photo v1 (Pixel, newer Samsung): XMP ``GCamera:MotionPhoto=1`` and a
  ``Container:Directory`` whose ``Item:Semantic="MotionPhoto"`` item gives the video's
  ``Length`` and ``Padding``: the video is the ``Length`` bytes that end ``Padding`` bytes before
  the end of the file (https://developer.android.com/media/platform/motion-photo-format).
- Google MicroVideo (older Pixels): ``GCamera:MicroVideo=1`` and ``MicroVideoOffset``, the
  video's distance from the end of the file.
- Samsung: a HEIC holds the video in a top-level ``mpvd`` box; a JPEG carries it after the
  ``MotionPhoto_Data`` marker of its trailer. Samsung's HEIC directory lengths do not always
  match the box (one sample says 80 bytes), so the box wins for HEIC.

Every candidate is checked: it must start with an ISO BMFF ``ftyp`` box and the slice is cut at
the end of its last whole top-level box (a Samsung trailer after the video is left out). The
result is a byte range of the original, which is never modified.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from darkroom_metadata.exiftool import ExifTool, ExifToolError, read_tags

#: Samsung's trailer marker before the embedded video of a JPEG motion photo.
SAMSUNG_MARKER = b"MotionPhoto_Data"


@dataclass(frozen=True, slots=True)
class Embedded:
    """Where the video of a motion photo lies in the original.

    Attributes:
        start: Offset of the video's first byte in the original, bytes.
        length: Its length, bytes.
    """

    start: int
    length: int


@dataclass(frozen=True, slots=True)
class NotExtracted:
    """A file that says it is a motion photo but holds no usable video.

    Attributes:
        reason: Why (recorded on the asset for an admin).
    """

    reason: str


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _directory_item(tags: Mapping[str, Any]) -> tuple[int, int] | None:
    """(Length, Padding) of the ``MotionPhoto`` item of the XMP ``Container:Directory``
    (ExifTool's ``XMP-GContainer:ContainerDirectory`` read with ``-struct``: a list of
    ``{"Item": {"Semantic": ..., "Length": ..., "Padding": ...}}``), or None."""
    directory = tags.get("XMP-GContainer:ContainerDirectory")
    if not isinstance(directory, list):
        return None
    for entry in directory:
        item = entry.get("Item") if isinstance(entry, dict) else None
        if isinstance(item, dict) and str(item.get("Semantic")) == "MotionPhoto":
            return (_int(item.get("Length")) or 0, _int(item.get("Padding")) or 0)
    return None


def mp4_end(data: bytes, start: int, stop: int) -> int | None:
    """End offset of the ISO BMFF file starting at ``start`` (its last whole top-level box).

    Walks the boxes (ISO/IEC 14496-12 §4.2: 32-bit size and type; size 1 = 64-bit size follows;
    size 0 = to ``stop``) and stops at the first thing that is not a whole box.

    Args:
        data: The bytes holding the file.
        start: Where it is said to start.
        stop: Where it must end at the latest (exclusive).

    Returns:
        The end offset, or None when no ``ftyp`` box starts at ``start``.
    """
    if start < 0 or stop - start < 16 or data[start + 4 : start + 8] != b"ftyp":
        return None
    position = start
    while stop - position >= 8:
        size = int.from_bytes(data[position : position + 4], "big")
        kind = data[position + 4 : position + 8]
        if size == 1:
            if stop - position < 16:
                break
            size = int.from_bytes(data[position + 8 : position + 16], "big")
        elif size == 0:
            return stop
        if size < 8 or position + size > stop or not kind.isascii() or not kind.isalnum():
            break
        position += size
    return position


def _mpvd_box(data: bytes) -> tuple[int, int] | None:
    """(payload start, payload end) of a HEIC's top-level ``mpvd`` box (Samsung), or None."""
    position = 0
    while len(data) - position >= 8:
        size = int.from_bytes(data[position : position + 4], "big")
        header = 8
        if size == 1:
            size = int.from_bytes(data[position + 8 : position + 16], "big")
            header = 16
        elif size == 0:
            size = len(data) - position
        if size < header:
            return None
        if data[position + 4 : position + 8] == b"mpvd":
            return position + header, min(position + size, len(data))
        position += size
    return None


def _samsung_trailer(path: Path) -> bool:
    """Whether the file ends with Samsung's trailer (its last 4 bytes are ``SEFT``, as
    exiftool's Samsung trailer reader expects), which holds ``MotionPhoto_Data``."""
    with path.open("rb") as fh:
        fh.seek(0, 2)
        if fh.tell() < 8:
            return False
        fh.seek(-4, 2)
        return fh.read(4) == b"SEFT"


def _checked(data: bytes, start: int, stop: int) -> Embedded | None:
    end = mp4_end(data, start, stop)
    if end is None:
        return None
    return Embedded(start=start, length=end - start)


def locate(path: Path, tags: Mapping[str, Any], mime_type: str) -> Embedded | NotExtracted | None:
    """Where the video of a motion photo is, if the file is one.

    Args:
        path: The original (read, never written).
        tags: Its tags as ExifTool reads them (``-G1 -struct``: ``XMP-GCamera:MotionPhoto``,
            ``XMP-GCamera:MicroVideoOffset``, ``XMP-GContainer:ContainerDirectory``).
        mime_type: Its type; HEIC/HEIF are searched for an ``mpvd`` box, JPEG for Samsung's
            trailer.

    Returns:
        The video's byte range; a :class:`NotExtracted` with the reason when the file says it
        is a motion photo but no MP4 is where it says; None for an ordinary photo.
    """
    motion = str(tags.get("XMP-GCamera:MotionPhoto", "")).strip() == "1"
    micro = str(tags.get("XMP-GCamera:MicroVideo", "")).strip() == "1"
    heif = mime_type in {"image/heic", "image/heif"}
    if not (heif or motion or micro or _samsung_trailer(path)):
        return None  # an ordinary JPEG is not read whole
    data = path.read_bytes()
    size = len(data)
    if heif:
        box = _mpvd_box(data)
        if box is not None:
            found = _checked(data, box[0], box[1])
            if found is not None:
                return found
    # the first marker followed by an MP4 (the video may hold the string again: its own trailer)
    marker = data.find(SAMSUNG_MARKER) if not heif else -1
    while marker >= 0:
        found = _checked(data, marker + len(SAMSUNG_MARKER), size)
        if found is not None:
            return found
        marker = data.find(SAMSUNG_MARKER, marker + 1)
    claimed: str | None = None
    if motion:
        item = _directory_item(tags)
        if item is not None and item[0] > 0:
            length, padding = item
            found = _checked(data, size - length - padding, size - padding)
            if found is not None:
                return found
            claimed = f"no MP4 where the XMP Container:Directory says ({length} bytes)"
    if micro:
        offset = _int(tags.get("XMP-GCamera:MicroVideoOffset"))
        if offset and 0 < offset <= size:
            found = _checked(data, size - offset, size)
            if found is not None:
                return found
            claimed = f"no MP4 at GCamera:MicroVideoOffset ({offset} bytes from the end)"
        else:
            claimed = "GCamera:MicroVideo without a usable MicroVideoOffset"
    if claimed is None and (motion or micro):
        claimed = "a motion photo without an embedded MP4"
    return NotExtracted(reason=claimed) if claimed else None


#: Types that can carry an embedded motion video.
MOTION_TYPES = frozenset({"image/jpeg", "image/heic", "image/heif"})


#: The ExifTool groups (``-G1``) of the motion-photo XMP that :func:`locate` reads.
MOTION_TAG_GROUPS = ("XMP-GCamera:", "XMP-GContainer:")


def motion_tags(tags: Mapping[str, Any]) -> dict[str, Any]:
    """The motion-photo XMP tags (:data:`MOTION_TAG_GROUPS`) of a whole-file ExifTool read.

    The same tags a read restricted with ``-XMP-GCamera:all -XMP-GContainer:all`` gives (same
    common arguments), so the metadata step reads each original once instead of twice.
    """
    return {k: v for k, v in tags.items() if k.startswith(MOTION_TAG_GROUPS)}


def extract_video(
    path: Path,
    mime_type: str,
    exiftool: ExifTool | None = None,
    tags: Mapping[str, Any] | None = None,
) -> bytes | NotExtracted | None:
    """The embedded video of a motion photo, as a byte-exact slice of the original.

    Args:
        path: The original.
        mime_type: Its type (only :data:`MOTION_TYPES` are looked at).
        exiftool: The reader of its motion-photo XMP (a temporary one when None).
        tags: Its motion-photo XMP tags when already read (:func:`motion_tags` of the metadata
            read, :attr:`darkroom_metadata.extract.ExtractedMetadata.motion_tags`); None reads
            them with ``exiftool``.

    Returns:
        The MP4's bytes; :class:`NotExtracted` with the reason for a broken motion photo; None
        for an ordinary photo.
    """
    if mime_type not in MOTION_TYPES:
        return None
    if tags is None:
        try:
            tags = read_tags(path, exiftool, "-XMP-GCamera:all", "-XMP-GContainer:all")
        except ExifToolError:
            tags = {}  # the layouts without XMP (HEIC box, Samsung trailer) are still found
    found = locate(path, tags, mime_type)
    if not isinstance(found, Embedded):
        return found
    with path.open("rb") as fh:
        fh.seek(found.start)
        return fh.read(found.length)
