"""Metadata of one original: capture time, camera, exposure, size, orientation, GPS, video facts.

Pure functions over a local file: no NATS, database or storage here. The tags are read by
ExifTool (:mod:`darkroom_metadata.exiftool`), turned into fields by
:mod:`darkroom_metadata.normalise`, an XMP sidecar laid over them by
:mod:`darkroom_metadata.sidecar`; a video's stream facts (codecs, frame rate, bit rate) come
from FFmpeg (:mod:`darkroom_metadata.probe`). This module decides what is corrupt and resolves
time zones and places.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import PIL.Image
import pillow_heif
import structlog
from darkroom_db.people import TaggedFace
from darkroom_media.errors import CorruptMediaError, UnsupportedMediaError

from darkroom_metadata.exiftool import ExifTool, ExifToolError, read_tags
from darkroom_metadata.geocode import Geocoder
from darkroom_metadata.motion import motion_tags
from darkroom_metadata.normalise import (
    Fields,
    fields_from_tags,
    format_exposure_time,
    instant,
    parse_datetime,
    resolve,
    valid_gps,
    zone_at,
)
from darkroom_metadata.probe import video_streams
from darkroom_metadata.regions import face_regions
from darkroom_metadata.sidecar import merge_sidecar

__all__ = [
    "ExtractedMetadata",
    "extract_metadata",
    "format_exposure_time",
    "parse_datetime",
    "ExifToolError",
    "read_tags",
    "valid_gps",
]

log = structlog.get_logger()

#: EXIF orientation for a video's ffprobe rotation (counter-clockwise degrees), as Immich maps it
#: (-90 -> Rotate90CW, 90 -> Rotate270CW, 180 -> Rotate180).
_ROTATION_TO_ORIENTATION = {0: 1, -90: 6, 90: 8, 180: 3}

#: ISO BMFF types: libheif and FFmpeg decode these even when cut short, so ExifTool's
#: "Truncated ... data" warning alone makes them corrupt.
_BMFF_TYPES = frozenset(
    {"image/heic", "image/heif", "image/heic-sequence", "image/heif-sequence", "image/avif"}
    | {"video/mp4", "video/quicktime", "video/3gpp", "video/3gpp2", "video/x-m4v"}
)
_HEIF_TYPES = frozenset({"image/heic", "image/heif", "image/heic-sequence", "image/heif-sequence"})

#: ExifTool warnings that say the file itself is damaged (then the pixels must decode).
_DAMAGE_RE = re.compile(r"truncated|format error|corrupt|not a valid|unexpected end", re.I)

#: ExifTool warnings that say a whole EXIF/XMP block was lost ("Malformed APP1 EXIF segment",
#: "Bad ExifIFD directory"); one bad value ("Invalid EXIF text encoding for UserComment") or
#: a "[minor]" note does not count.
_LOST_BLOCK_RE = re.compile(
    r"(malformed|corrupt|bad|error reading|invalid) .*\b(EXIF|XMP|IFD0|ExifIFD|GPS)\b"
    r" (segment|directory|header|packet|block|data)",
    re.I,
)


class ExtractedMetadata(msgspec.Struct, frozen=True, kw_only=True):
    """Everything Darkroom stores about one original (Immich's ``asset_exif`` row, plus video).

    Every field is None when the file does not say (or says something invalid).

    Attributes:
        mime_type: the media type the extraction was run as (the caller's sniffed type).
        date_time_original: capture instant, tz-aware, in UTC. Exact when the file gives a UTC
            offset (or a GPS position gives the time zone); otherwise the wall-clock time read
            as if it were UTC (as Immich does). Falls back to the file's modification time.
        local_date_time: wall-clock time at the place of capture, naive (for timeline grouping).
        time_zone: ``"UTC+2"`` (exiftool-vendored's name for an offset, which Immich stores)
            when the file gives an offset, an IANA name (``"Europe/Rome"``) when it comes from
            the GPS position, else None.
        modify_date: last edit time (EXIF ModifyDate / XMP ModifyDate, else the file's
            modification time), tz-aware in UTC.
        make: camera maker, e.g. ``"Apple"``.
        model: camera model, e.g. ``"iPhone 11 Pro Max"``.
        lens_model: lens name.
        f_number: aperture as the f-number, rounded as ExifTool prints it, e.g. 1.8.
        focal_length: focal length in mm (real, not 35 mm equivalent), as the file gives it.
        iso: ISO speed.
        exposure_time: exposure as exiftool prints it, e.g. ``"1/125"`` or ``"2.5"`` (seconds).
        width: stored width in pixels, before orientation is applied.
        height: stored height in pixels, before orientation is applied.
        orientation: EXIF orientation 1..8 (for videos, the one equivalent to ``rotation``).
        projection_type: panorama projection in upper case, e.g. ``"EQUIRECTANGULAR"``.
        description: caption (XMP dc:description, EXIF ImageDescription, IPTC Caption).
        rating: star rating -1..5 (-1 = rejected), rounded when the file's is fractional.
        latitude: degrees, WGS 84, -90..90.
        longitude: degrees, WGS 84, -180..180.
        city: nearest place name (reverse geocoded, see ``darkroom_metadata.geocode``).
        state: its first-level administrative division.
        country: its country, full English name.
        live_photo_cid: Apple ContentIdentifier shared by the photo and the video of a Live
            Photo (photo: Apple MakerNote ContentIdentifier; video: QuickTime key
            ``com.apple.quicktime.content.identifier``).
        burst_id: Apple BurstUUID shared by the photos of one iPhone burst (Apple MakerNote);
            automatic stacking groups them (:mod:`darkroom_metadata.stacking`).
        duration: video length in seconds.
        fps: average frame rate of the video stream, frames per second.
        video_codec: FFmpeg codec name of the first video stream, e.g. ``"h264"``, ``"hevc"``.
        audio_codec: FFmpeg codec name of the first audio stream, e.g. ``"aac"``.
        bitrate: overall bit rate in bit/s.
        rotation: display rotation of the video, counter-clockwise degrees as ffprobe reports
            it (-90, 90 or 180; 0 when upright).
        metadata_error: why the file's tags could not be read (or only partly) although the
            image or video itself decodes; the other fields then come from the pixels and the
            file dates. None when the metadata was read.
        tags: keyword tag paths (``Travel/2024/Japan``) from digiKam TagsList, Lightroom
            hierarchicalSubject or IPTC Keywords / dc:subject
            (:func:`darkroom_metadata.keywords.tag_paths`); a sidecar's replace the file's.
        motion_tags: the file's motion-photo XMP tags (``XMP-GCamera:*``,
            ``XMP-GContainer:*``) from the same ExifTool read, for
            :func:`darkroom_metadata.motion.extract_video` (so the file is read once); None
            when ExifTool could not read the file.
        faces: the named face regions of the file (or of its sidecar, which replaces them), in
            pixels of the image as shown (:func:`darkroom_metadata.regions.face_regions`); an
            empty list when it names none. Imported as people only when the system config's
            ``metadata.faces.import`` is on.
    """

    mime_type: str | None = None
    date_time_original: datetime | None = None
    local_date_time: datetime | None = None
    time_zone: str | None = None
    modify_date: datetime | None = None
    make: str | None = None
    model: str | None = None
    lens_model: str | None = None
    f_number: float | None = None
    focal_length: float | None = None
    iso: int | None = None
    exposure_time: str | None = None
    width: int | None = None
    height: int | None = None
    orientation: int | None = None
    projection_type: str | None = None
    description: str | None = None
    rating: int | None = None
    latitude: float | None = None
    longitude: float | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    live_photo_cid: str | None = None
    duration: float | None = None
    fps: float | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    bitrate: int | None = None
    rotation: int | None = None
    metadata_error: str | None = None
    tags: list[str] | None = None
    motion_tags: dict[str, Any] | None = None
    burst_id: str | None = None
    faces: list[TaggedFace] = msgspec.field(default_factory=list)


def extract_metadata(
    path: Path,
    *,
    mime_type: str,
    sidecar: bytes | None = None,
    file_modified_at: datetime | None = None,
    geocoder: Geocoder | None = None,
    exiftool: ExifTool | None = None,
) -> ExtractedMetadata:
    """Read the metadata of one original file.

    Blocking (a pipe to ExifTool, file I/O); run it in a worker thread from async code. Typical
    cost with a running ``exiftool``: a few ms for a photo, 10-40 ms for a video (see
    ``docs/metadata.md``), plus about 1 s once per ``geocoder`` for loading its data.

    Args:
        path: the original, on a local file system.
        mime_type: its sniffed media type (``image/...`` or ``video/...``).
        sidecar: the bytes of an XMP sidecar (``IMG_1.jpg.xmp``) whose values (capture time,
            GPS, description, rating, camera...) override the file's own; an unreadable sidecar
            is logged and ignored.
        file_modified_at: the file's modification time, the capture time of last resort (a
            naive value is taken as UTC).
        geocoder: fills ``city``/``state``/``country`` from valid GPS; None leaves them empty.
        exiftool: the ExifTool to read with (the service keeps one running); None starts one
            for this call.

    Returns:
        The metadata; fields the file does not give are None. When ExifTool cannot read a file
        whose pixels (or streams) decode, ``metadata_error`` says why and the dates come from
        ``file_modified_at``.

    Raises:
        FileNotFoundError: ``path`` does not exist (a storage problem, worth retrying).
        CorruptMediaError: the file is empty, truncated or damaged.
        UnsupportedMediaError: ``mime_type`` is neither an image nor a video type.
        ExifToolError: ExifTool crashed or timed out on this file (retried by the caller).
    """
    size = path.stat().st_size
    if size == 0:
        raise CorruptMediaError(f"empty file: {path.name}")
    video = mime_type.startswith("video/")
    if not video and not mime_type.startswith("image/"):
        raise UnsupportedMediaError(f"no metadata reader for {mime_type}")
    if exiftool is None:
        with ExifTool() as own:
            return extract_metadata(
                path,
                mime_type=mime_type,
                sidecar=sidecar,
                file_modified_at=file_modified_at,
                geocoder=geocoder,
                exiftool=own,
            )

    tags = exiftool.read(path)
    error = tags.get("ExifTool:Error")
    warning = str(tags.get("ExifTool:Warning") or "")
    if mime_type in _BMFF_TYPES and warning.lower().startswith("truncated"):
        raise CorruptMediaError(f"truncated {mime_type} file: {warning}")
    fields = fields_from_tags(tags, video=video) if not error else Fields()
    problem = None
    if error:
        problem = f"ExifTool cannot read the metadata of this {mime_type} file: {error}"
    elif _LOST_BLOCK_RE.search(warning) and not warning.startswith("[minor]"):
        problem = f"unreadable EXIF/XMP in this {mime_type} file: {warning}"

    if video:
        streams = video_streams(path)  # raises CorruptMediaError when FFmpeg cannot open it
        fields = dataclasses.replace(
            fields,
            width=streams.width or fields.width,
            height=streams.height or fields.height,
            duration=streams.duration,
            fps=streams.fps,
            video_codec=streams.video_codec,
            audio_codec=streams.audio_codec,
            bitrate=streams.bitrate,
        )
    elif error or _DAMAGE_RE.search(warning):
        width, height = _decoded_size(path, mime_type)  # raises CorruptMediaError
        fields = dataclasses.replace(
            fields, width=fields.width or width, height=fields.height or height
        )
    fields = dataclasses.replace(fields, problem=problem)
    fields = merge_sidecar(fields, sidecar, exiftool)
    meta = _finish(fields, mime_type, file_modified_at, geocoder)
    return msgspec.structs.replace(meta, motion_tags=None if error else motion_tags(tags))


def _decoded_size(path: Path, mime_type: str) -> tuple[int, int]:
    """Size of an image whose tags are missing or damaged, by decoding its pixels.

    Raises:
        CorruptMediaError: the pixels do not decode either.
    """
    try:
        if mime_type in _HEIF_TYPES:
            heif = pillow_heif.open_heif(str(path), convert_hdr_to_8bit=False)
            _ = heif.data  # decodes the primary image
            return heif.size
        with PIL.Image.open(path) as image:
            image.load()
            return image.size
    except Exception as error:  # noqa: BLE001 - any failure to decode means corrupt
        raise CorruptMediaError(f"cannot decode this {mime_type} file: {error}") from error


def _finish(
    raw: Fields, mime_type: str, file_modified_at: datetime | None, geocoder: Geocoder | None
) -> ExtractedMetadata:
    """Resolve time zones, dates of last resort and the place; build the public result."""
    latitude, longitude = valid_gps(raw.latitude, raw.longitude)
    zone = zone_at(latitude, longitude)
    if raw.capture is not None:
        capture = resolve(raw.capture, zone)
    elif file_modified_at is not None:
        capture = resolve(instant(file_modified_at), zone)
    else:
        capture = None
    if raw.modify is not None:
        modify_date: datetime | None = resolve(raw.modify, zone)[0]
    elif file_modified_at is not None:
        modify_date = (
            file_modified_at.replace(tzinfo=UTC)
            if file_modified_at.tzinfo is None
            else file_modified_at.astimezone(UTC)
        )
    else:
        modify_date = None
    place = None
    if geocoder is not None and latitude is not None and longitude is not None:
        place = geocoder.place(latitude, longitude)
    orientation = raw.orientation
    if orientation is None and raw.rotation is not None:
        orientation = _ROTATION_TO_ORIENTATION.get(raw.rotation)
    return ExtractedMetadata(
        mime_type=mime_type,
        date_time_original=capture[0] if capture else None,
        local_date_time=capture[1] if capture else None,
        time_zone=capture[2] if capture else None,
        modify_date=modify_date,
        make=raw.make,
        model=raw.model,
        lens_model=raw.lens_model,
        f_number=raw.f_number,
        focal_length=raw.focal_length,
        iso=raw.iso,
        exposure_time=raw.exposure_time,
        width=raw.width,
        height=raw.height,
        orientation=orientation,
        projection_type=raw.projection_type,
        description=raw.description,
        rating=raw.rating,
        latitude=latitude,
        longitude=longitude,
        city=place.city if place else None,
        state=place.state if place else None,
        country=place.country if place else None,
        live_photo_cid=raw.live_photo_cid,
        duration=raw.duration,
        fps=raw.fps,
        video_codec=raw.video_codec,
        audio_codec=raw.audio_codec,
        bitrate=raw.bitrate,
        rotation=raw.rotation,
        metadata_error=raw.problem,
        tags=raw.tags,
        burst_id=raw.burst_id,
        faces=face_regions(raw.region_info, raw.orientation) if raw.region_info else [],
    )
