"""What a media file already says about itself: a capture time, a location, a caption.

The importer sets a field from the Takeout JSON only where the file lacks it (so a camera's own
EXIF, with its time zone, wins). Images are read with exiv2 (``pyexiv2``, the library Darkroom's
metadata service reads EXIF/XMP/IPTC with); videos with PyAV (the container's ``creation_time``
and ISO 6709 ``location`` tags). A file neither can read counts as lacking everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, Any

import av
import pyexiv2
import structlog

log = structlog.get_logger()

#: Tags holding a capture time (EXIF, XMP, IPTC), as exiv2 names them.
DATE_TAGS = (
    "Exif.Photo.DateTimeOriginal",
    "Exif.Photo.DateTimeDigitized",
    "Exif.Image.DateTimeOriginal",
    "Xmp.exif.DateTimeOriginal",
    "Xmp.photoshop.DateCreated",
    "Xmp.xmp.CreateDate",
    "Iptc.Application2.DateCreated",
)
#: Tags holding a latitude (the longitude comes with it).
GPS_TAGS = ("Exif.GPSInfo.GPSLatitude", "Xmp.exif.GPSLatitude")
#: Tags holding a caption.
DESCRIPTION_TAGS = (
    "Exif.Image.ImageDescription",
    "Xmp.dc.description",
    "Iptc.Application2.Caption",
)
#: Container tags of a video's capture time and location (QuickTime/MP4 as FFmpeg names them).
VIDEO_DATE_TAGS = ("creation_time", "com.apple.quicktime.creationdate")
VIDEO_GPS_TAGS = ("location", "com.apple.quicktime.location.ISO6709")


@dataclass(frozen=True)
class FileFacts:
    """Which fields the file itself carries.

    Attributes:
        has_date: a capture time.
        has_location: GPS coordinates.
        has_description: a caption.
    """

    has_date: bool = False
    has_location: bool = False
    has_description: bool = False


def _present(tags: dict[str, Any], keys: tuple[str, ...]) -> bool:
    for key in keys:
        value = tags.get(key)
        if isinstance(value, dict):  # XMP language alternatives: {'lang="x-default"': text}
            value = " ".join(str(v) for v in value.values())
        if value is not None and str(value).strip() not in ("", "0", "0000:00:00 00:00:00"):
            return True
    return False


def image_facts(data: bytes) -> FileFacts:
    """What an image's EXIF/XMP/IPTC carry.

    Args:
        data: the image's bytes (JPEG, HEIC, PNG, WebP, TIFF, DNG...).

    Returns:
        The fields present; all False when exiv2 cannot read the file.
    """
    pyexiv2.set_log_level(4)  # exiv2's warnings about odd files are not ours to print
    try:
        with pyexiv2.ImageData(data) as image:
            tags: dict[str, Any] = {}
            for read in (image.read_exif, image.read_xmp, image.read_iptc):
                try:
                    tags.update(read(encoding="utf-8"))
                except (RuntimeError, UnicodeDecodeError, ValueError):
                    continue
    except (RuntimeError, ValueError) as exc:
        log.info("takeout.exif_unreadable", error=str(exc))
        return FileFacts()
    return FileFacts(
        has_date=_present(tags, DATE_TAGS),
        has_location=_present(tags, GPS_TAGS),
        has_description=_present(tags, DESCRIPTION_TAGS),
    )


def video_facts(stream: IO[bytes]) -> FileFacts:
    """What a video container's tags carry.

    Args:
        stream: the video's bytes, seekable.

    Returns:
        The fields present (a video has no caption here); all False when PyAV cannot open it.
    """
    try:
        with av.open(stream, mode="r") as container:
            tags = dict(container.metadata)
            for s in container.streams:
                tags = {**dict(s.metadata), **tags}
    except (av.FFmpegError, ValueError, OSError) as exc:
        log.info("takeout.video_unreadable", error=str(exc))
        return FileFacts()
    return FileFacts(
        has_date=_present(tags, VIDEO_DATE_TAGS), has_location=_present(tags, VIDEO_GPS_TAGS)
    )
