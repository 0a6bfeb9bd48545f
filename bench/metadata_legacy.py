"""The exiv2/PyAV metadata extractor that ExifTool replaced (#24), kept ONLY for the comparison
in :mod:`bench.metadata`; not used by any service. Its original docstring follows.

Metadata of one original: capture time, camera, exposure, size, orientation, GPS, video facts.

Pure functions over a local file: no NATS, database or storage here. Images are read with
exiv2 (through ``pyexiv2``: EXIF, XMP, IPTC; JPEG, PNG, WebP, HEIC/HEIF/AVIF, TIFF, DNG and the
other TIFF- or BMFF-based camera RAWs, GIF), videos with FFmpeg (through PyAV). An XMP sidecar,
when given, overrides what the file itself says.

Where a rule is a judgment call, Immich's behaviour is the reference (its metadata service,
``server/src/services/metadata.service.ts``, on top of exiftool-vendored), so a library moved
from Immich shows the same dates and places:

* capture time: the first of DateTimeOriginal, CreateDate, DateTimeCreated, GPS date/time
  (Immich's ``EXIF_DATE_TAGS`` order), then EXIF ModifyDate, then the file's modification time;
* a wall-clock time with a known UTC offset is an exact instant; without one, the time zone of
  the GPS position is used (exiftool-vendored's ``geoTz``, here ``tzfpy``), and without a
  position the wall clock is taken as UTC;
* GPS at exactly (0, 0), NaN or out of range is dropped;
* video rotation is ffprobe's (counter-clockwise degrees, e.g. -90 for a phone held upright)
  and is also given as the equivalent EXIF orientation.
"""

from __future__ import annotations

import dataclasses
import math
import re
import struct
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import av
import av.error
import msgspec
import PIL.Image
import pillow_heif
import pyexiv2
import structlog
import tzfpy
from darkroom_media.errors import CorruptMediaError, UnsupportedMediaError
from darkroom_metadata.geocode import Geocoder
from darkroom_metadata.keywords import tag_paths

__all__ = [
    "ExtractedMetadata",
    "extract_metadata",
    "format_exposure_time",
    "parse_iso6709",
    "valid_gps",
]

log = structlog.get_logger()

# exiv2 says this when it has no reader for a format at all (not a damaged file).
_EXIV2_UNKNOWN_TYPE = "unknown image type"

#: Image types exiv2 0.28 cannot read at all: these get the file-level facts only, instead of
#: failing as corrupt (the thumbnail service still decodes them).
_EXIV2_UNREADABLE_TYPES = frozenset(
    {"image/jxl", "image/bmp", "image/x-ms-bmp", "image/vnd.microsoft.icon"}
)

#: EXIF orientation for a video's ffprobe rotation (counter-clockwise degrees), as Immich maps it
#: (``metadata.service.ts``: -90 -> Rotate90CW, 90 -> Rotate270CW, 180 -> Rotate180).
_ROTATION_TO_ORIENTATION = {0: 1, -90: 6, 90: 8, 180: 3}

#: The largest UTC offset in use (Kiribati, +14:00); beyond it an offset tag is garbage.
_MAX_OFFSET = timedelta(hours=14)

#: At most this many packets are demuxed looking for the first video frame (for its rotation).
_MAX_PACKETS_FOR_FIRST_FRAME = 64


class ExtractedMetadata(msgspec.Struct, frozen=True, kw_only=True):
    """Everything Darkroom stores about one original (Immich's ``asset_exif`` row, plus video).

    Every field is None when the file does not say (or says something invalid).

    Attributes:
        mime_type: the media type the extraction was run as (the caller's sniffed type).
        date_time_original: capture instant, tz-aware, in UTC. Exact when the file gives a UTC
            offset (or a GPS position gives the time zone); otherwise the wall-clock time read
            as if it were UTC (as Immich does). Falls back to the file's modification time.
        local_date_time: wall-clock time at the place of capture, naive (for timeline grouping).
        time_zone: ``"+02:00"`` when the file gives an offset, an IANA name (``"Europe/Rome"``)
            when it comes from the GPS position, else None.
        modify_date: last edit time (EXIF ModifyDate / XMP ModifyDate, else the file's
            modification time), tz-aware in UTC.
        make: camera maker, e.g. ``"Apple"``.
        model: camera model, e.g. ``"iPhone 11 Pro Max"``.
        lens_model: lens name.
        f_number: aperture as the f-number, e.g. 1.8.
        focal_length: focal length in mm (real, not 35 mm equivalent).
        iso: ISO speed.
        exposure_time: exposure as exiftool prints it, e.g. ``"1/125"`` or ``"2.5"`` (seconds).
        width: stored width in pixels, before orientation is applied.
        height: stored height in pixels, before orientation is applied.
        orientation: EXIF orientation 1..8 (for videos, the one equivalent to ``rotation``).
        projection_type: panorama projection in upper case, e.g. ``"EQUIRECTANGULAR"``.
        description: caption (XMP dc:description, EXIF ImageDescription, IPTC Caption).
        rating: star rating -1..5 (-1 = rejected).
        latitude: degrees, WGS 84, -90..90.
        longitude: degrees, WGS 84, -180..180.
        city: nearest place name (reverse geocoded, see ``darkroom_metadata.geocode``).
        state: its first-level administrative division.
        country: its country, full English name.
        live_photo_cid: Apple ContentIdentifier shared by the photo and the video of a Live
            Photo (photo: Apple MakerNote tag 0x0011; video: QuickTime key
            ``com.apple.quicktime.content.identifier``).
        burst_id: Apple BurstUUID shared by the photos of one iPhone burst (MakerNote tag
            0x000B); automatic stacking groups them (:mod:`darkroom_metadata.stacking`).
        duration: video length in seconds.
        fps: average frame rate of the video stream, frames per second.
        video_codec: FFmpeg codec name of the first video stream, e.g. ``"h264"``, ``"hevc"``.
        audio_codec: FFmpeg codec name of the first audio stream, e.g. ``"aac"``.
        bitrate: overall bit rate in bit/s.
        rotation: display rotation of the video, counter-clockwise degrees as ffprobe reports
            it (-90, 90 or 180; 0 when upright).
        metadata_error: why the file's EXIF/XMP could not be read although the image itself
            decodes (a corrupt EXIF block); the other fields then come from the pixels and the
            file dates. None when the metadata was read.
        tags: keyword tag paths (``Travel/2024/Japan``) from digiKam TagsList, Lightroom
            hierarchicalSubject or IPTC Keywords / dc:subject
            (:func:`darkroom_metadata.keywords.tag_paths`); a sidecar's replace the file's.
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
    burst_id: str | None = None


# --------------------------------------------------------------------------------------------
# Intermediate values
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Stamp:
    """A date/time as a file states it, before time zones are resolved.

    ``wall`` is naive. ``offset`` is its UTC offset when the file gives one. ``offset_is_local``
    is False for a UTC timestamp ("Z", GPS time, QuickTime creation_time): the instant is known
    but the local time zone is not.
    """

    wall: datetime
    offset: timedelta | None = None
    offset_is_local: bool = True


@dataclass(frozen=True, slots=True)
class _Raw:
    """Fields as read from one source (the file, or the sidecar), before merging."""

    capture: _Stamp | None = None
    modify: _Stamp | None = None
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
    live_photo_cid: str | None = None
    duration: float | None = None
    fps: float | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    bitrate: int | None = None
    rotation: int | None = None
    problem: str | None = None
    tags: list[str] | None = None
    burst_id: str | None = None


def _overlay(base: _Raw, top: _Raw) -> _Raw:
    """``base`` with every field that ``top`` has (not None) taken from ``top``.

    GPS moves as a pair: a sidecar position replaces the file's position whole.
    """
    changes = {
        f.name: getattr(top, f.name)
        for f in dataclasses.fields(top)
        if getattr(top, f.name) is not None and f.name not in ("latitude", "longitude")
    }
    if top.latitude is not None and top.longitude is not None:
        changes["latitude"], changes["longitude"] = top.latitude, top.longitude
    return dataclasses.replace(base, **changes)


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


def extract_metadata(
    path: Path,
    *,
    mime_type: str,
    sidecar: bytes | None = None,
    file_modified_at: datetime | None = None,
    geocoder: Geocoder | None = None,
) -> ExtractedMetadata:
    """Read the metadata of one original file.

    Blocking (file I/O and C libraries); run it in a worker thread from async code. Typical cost:
    about 1 ms for a photo, 5-50 ms for a video (the first frame is decoded for its rotation),
    plus about 1 s once per ``geocoder`` for loading its data.

    Args:
        path: the original, on a local file system.
        mime_type: its sniffed media type (``image/...`` or ``video/...``); chooses the reader.
        sidecar: the bytes of an XMP sidecar (``IMG_1.jpg.xmp``) whose values (capture time,
            GPS, description, rating, camera...) override the file's own; an unreadable sidecar
            is logged and ignored.
        file_modified_at: the file's modification time, the capture time of last resort (a
            naive value is taken as UTC).
        geocoder: fills ``city``/``state``/``country`` from valid GPS; None leaves them empty.

    Returns:
        The metadata; fields the file does not give are None.

    Raises:
        FileNotFoundError: ``path`` does not exist (a storage problem, worth retrying).
        CorruptMediaError: the file is empty, truncated or damaged so that its metadata
            cannot be read.
        UnsupportedMediaError: ``mime_type`` is neither an image nor a video type.
    """
    size = path.stat().st_size
    if size == 0:
        raise CorruptMediaError(f"empty file: {path.name}")
    if mime_type.startswith("image/"):
        raw = _read_image(path, mime_type)
    elif mime_type.startswith("video/"):
        raw = _read_video(path, mime_type)
    else:
        raise UnsupportedMediaError(f"no metadata reader for {mime_type}")

    if sidecar:
        side = _read_sidecar(sidecar)
        if side is not None:
            raw = _overlay(raw, side)

    latitude, longitude = valid_gps(raw.latitude, raw.longitude)
    zone = _zone_at(latitude, longitude)

    if raw.capture is not None:
        capture = _resolve(raw.capture, zone)
    elif file_modified_at is not None:
        capture = _resolve(_instant(file_modified_at), zone)
    else:
        capture = None
    if raw.modify is not None:
        modify_date: datetime | None = _resolve(raw.modify, zone)[0]
    elif file_modified_at is not None:
        modify_date = _as_utc(file_modified_at)
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
    )


# --------------------------------------------------------------------------------------------
# Time zones
# --------------------------------------------------------------------------------------------


def _zone_at(latitude: float | None, longitude: float | None) -> ZoneInfo | None:
    """IANA time zone at a position (tzfpy's polygons, from timezone-boundary-builder)."""
    if latitude is None or longitude is None:
        return None
    name = tzfpy.get_tz(longitude, latitude)
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("metadata.unknown_time_zone", zone=name)
        return None


def _resolve(stamp: _Stamp, zone: ZoneInfo | None) -> tuple[datetime, datetime, str | None]:
    """Turn a stamp into (instant in UTC, local wall clock, time zone label)."""
    if stamp.offset is not None and stamp.offset_is_local:
        instant = stamp.wall.replace(tzinfo=timezone(stamp.offset)).astimezone(UTC)
        return instant, stamp.wall, format_offset(stamp.offset)
    if stamp.offset is not None:
        instant = (stamp.wall - stamp.offset).replace(tzinfo=UTC)
        if zone is not None:
            return instant, instant.astimezone(zone).replace(tzinfo=None), zone.key
        return instant, instant.replace(tzinfo=None), None
    if zone is not None:
        # fold=0: an ambiguous wall-clock time (the repeated hour) is read as the first one.
        return stamp.wall.replace(tzinfo=zone).astimezone(UTC), stamp.wall, zone.key
    return stamp.wall.replace(tzinfo=UTC), stamp.wall, None


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _instant(value: datetime) -> _Stamp:
    """A stamp for an exact instant whose local time zone is unknown."""
    utc = _as_utc(value)
    return _Stamp(utc.replace(tzinfo=None), timedelta(0), offset_is_local=False)


def format_offset(offset: timedelta) -> str:
    """``timedelta(hours=-5)`` -> ``"-05:00"``, ``timedelta(0)`` -> ``"+00:00"``."""
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


# --------------------------------------------------------------------------------------------
# Parsing of values
# --------------------------------------------------------------------------------------------

_DATETIME_RE = re.compile(
    r"^\s*(\d{4})[:\-](\d{2})[:\-](\d{2})"
    r"(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?(?:[.,](\d+))?)?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?\s*$"
)
_OFFSET_RE = re.compile(r"^\s*([+-])(\d{1,2})(?::?(\d{2}))?\s*$")


def parse_offset(text: str | None) -> timedelta | None:
    """``"+02:00"``, ``"-0530"``, ``"+01"`` -> a timedelta; blank or beyond +-14 h -> None."""
    if not text:
        return None
    match = _OFFSET_RE.match(text)
    if match is None:
        return None
    sign, hours, minutes = match.groups()
    offset = timedelta(hours=int(hours), minutes=int(minutes or 0))
    if offset > _MAX_OFFSET or (minutes is not None and int(minutes) >= 60):
        return None
    return -offset if sign == "-" else offset


def _subsec_micro(text: str | None) -> int:
    """EXIF SubSecTime ``"054"`` (a decimal fraction of a second) -> 54000 microseconds."""
    digits = (text or "").strip().split(" ")[0]
    if not digits.isdigit():
        return 0
    return int((digits + "000000")[:6])


def parse_datetime(
    text: str | None, subsec: str | None = None, offset: str | None = None
) -> _Stamp | None:
    """Parse an EXIF (``2021:04:11 15:47:53``), XMP/ISO 8601 or QuickTime date-time.

    Args:
        text: the value; a trailing ``Z`` or ``+hh:mm`` is honoured. A date without a time
            (XMP allows ``2021-04-11``) is taken as midnight.
        subsec: EXIF SubSecTime* digits, used when ``text`` has no fraction.
        offset: EXIF OffsetTime* value, used when ``text`` has no offset.

    Returns:
        The stamp, or None for an empty, zeroed (``0000:00:00``) or impossible value.
    """
    if not text:
        return None
    match = _DATETIME_RE.match(text.replace("\x00", ""))
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction + "000000")[:6]) if fraction else _subsec_micro(subsec)
    try:
        wall = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            micro,
        )
    except ValueError:
        return None
    if wall.year < 1800:  # zeroed or placeholder dates (QuickTime's 1904 epoch, "0001:01:01")
        return None
    if zone == "Z":
        return _Stamp(wall, timedelta(0), offset_is_local=False)
    if zone:
        parsed = parse_offset(zone)
        return _Stamp(wall, parsed) if parsed is not None else _Stamp(wall)
    return _Stamp(wall, parse_offset(offset))


def _rationals(text: str | None) -> list[float]:
    """``"43/1 28/1 281400000/100000000"`` -> ``[43.0, 28.0, 2.814]``; x/0 -> NaN."""
    values: list[float] = []
    for part in (text or "").replace(",", " ").split():
        num, _, den = part.partition("/")
        try:
            if den:
                values.append(float(num) / float(den) if float(den) != 0 else math.nan)
            else:
                values.append(float(num))
        except ValueError:
            return []
    return values


def _number(text: Any) -> float | None:
    """First finite number of a rational/decimal value, or None."""
    if isinstance(text, list):
        text = text[0] if text else None
    values = _rationals(text if isinstance(text, str) else None)
    if not values or not math.isfinite(values[0]):
        return None
    return values[0]


def _integer(text: Any) -> int | None:
    value = _number(text)
    return int(value) if value is not None else None


def _text(value: Any) -> str | None:
    """A tag's text without padding, NULs or a LangAlt wrapper; None if blank."""
    if isinstance(value, dict):  # XMP LangAlt: {'lang="x-default"': 'text', ...}
        value = value.get('lang="x-default"') or next(iter(value.values()), None)
    elif isinstance(value, list):
        value = value[0] if value else None
    if not isinstance(value, str):
        return None
    value = value.replace("\x00", " ").strip()
    if value.startswith('type="'):  # an XMP container with no value of its own
        return None
    return value or None


def format_exposure_time(seconds: float) -> str:
    """Exposure time as exiftool prints it (``Image::ExifTool::Exif::PrintExposureTime``).

    Args:
        seconds: exposure in seconds.

    Returns:
        ``"1/<n>"`` (n rounded) up to 0.25 s, else the seconds with one decimal and no ``.0``:
        ``0.008`` -> ``"1/125"``, ``2.5`` -> ``"2.5"``, ``30`` -> ``"30"``.
    """
    if 0 < seconds < 0.25001:
        return f"1/{int(0.5 + 1 / seconds)}"
    text = f"{seconds:.1f}"
    return text[:-2] if text.endswith(".0") else text


def valid_gps(lat: float | None, lon: float | None) -> tuple[float | None, float | None]:
    """Keep a position only if both parts are finite, in range, and not exactly (0, 0).

    (0, 0) is what many cameras write when they have no fix; Immich drops it too.

    Args:
        lat: latitude in degrees.
        lon: longitude in degrees.

    Returns:
        ``(lat, lon)`` rounded to 7 decimals (about 1 cm), or ``(None, None)``.
    """
    if lat is None or lon is None:
        return None, None
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return None, None
    if abs(lat) > 90 or abs(lon) > 180 or (lat == 0 and lon == 0):
        return None, None
    return round(lat, 7), round(lon, 7)


def _dms(text: str | None, ref: str | None) -> float | None:
    """EXIF GPS degrees/minutes/seconds rationals plus N/S/E/W reference -> signed degrees."""
    values = _rationals(text)
    if not values:
        return None
    degrees = sum(v / 60**i for i, v in enumerate(values[:3]))
    return -degrees if (ref or "").strip().upper()[:1] in ("S", "W") else degrees


_XMP_GPS_RE = re.compile(
    r"^\s*(-?\d+(?:\.\d+)?)(?:,(\d+(?:\.\d+)?))?(?:,(\d+(?:\.\d+)?))?\s*([NSEWnsew])?\s*$"
)


def _xmp_coordinate(text: Any) -> float | None:
    """XMP GPS coordinate (``"43,28.0469N"``, ``"43,28,16.8N"`` or decimal) -> signed degrees."""
    text = _text(text)
    if text is None:
        return None
    match = _XMP_GPS_RE.match(text)
    if match is None:
        return None
    deg, minutes, seconds, ref = match.groups()
    value = abs(float(deg)) + float(minutes or 0) / 60 + float(seconds or 0) / 3600
    negative = deg.startswith("-") or (ref or "").upper() in ("S", "W")
    return -value if negative else value


_ISO6709_RE = re.compile(
    r"^([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)?(?:CRS.*)?/?$"
)


def _iso6709_part(text: str, degree_digits: int) -> float:
    sign = -1.0 if text[0] == "-" else 1.0
    body = text[1:]
    whole, _, fraction = body.partition(".")
    fraction = "0." + (fraction or "0")
    n = len(whole)
    if n <= degree_digits:  # (D)DD.ddd
        value = float(whole) + float(fraction)
    elif n <= degree_digits + 2:  # DDMM.mmm
        value = float(whole[:-2]) + (float(whole[-2:]) + float(fraction)) / 60
    else:  # DDMMSS.sss
        value = (
            float(whole[:-4])
            + float(whole[-4:-2]) / 60
            + (float(whole[-2:]) + float(fraction)) / 3600
        )
    return sign * value


def parse_iso6709(text: str | None) -> tuple[float, float] | None:
    """Parse an ISO 6709 point as QuickTime/MP4 store it.

    Accepts decimal degrees (``"+37.3317-122.0307+010.000/"``) and the degrees-minutes(-seconds)
    forms of ISO 6709 Annex H (``"+4042.5-07400.3/"``: latitude ``±DD``, ``±DDMM``, ``±DDMMSS``
    and longitude ``±DDD``, ``±DDDMM``, ``±DDDMMSS``, each with an optional fraction). The
    altitude, if any, is ignored.

    Args:
        text: the string.

    Returns:
        ``(latitude, longitude)`` in degrees (unvalidated), or None if it does not parse.
    """
    if not text:
        return None
    match = _ISO6709_RE.match(text.strip())
    if match is None:
        return None
    return _iso6709_part(match.group(1), 2), _iso6709_part(match.group(2), 3)


def _first(candidates: Iterable[Callable[[], Any]]) -> Any:
    """The first non-None result of a chain of lookups."""
    for candidate in candidates:
        value = candidate()
        if value is not None:
            return value
    return None


# --------------------------------------------------------------------------------------------
# Images (exiv2)
# --------------------------------------------------------------------------------------------


def _fix_mojibake(value: Any) -> Any:
    """Undo a Latin-1 decode of what was really UTF-8 (strings only; see ``_read_tags``)."""
    if isinstance(value, str):
        try:
            return value.encode("latin-1").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            return value
    if isinstance(value, list):
        return [_fix_mojibake(v) for v in value]
    if isinstance(value, dict):
        return {k: _fix_mojibake(v) for k, v in value.items()}
    return value


def _read_tags(read: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """Call a pyexiv2 ``read_*`` as UTF-8; if some value is not UTF-8 (old cameras write
    Latin-1 or binary junk), read all as Latin-1 (never fails) and repair the UTF-8 ones."""
    try:
        return read(encoding="utf-8")
    except UnicodeDecodeError:
        return {k: _fix_mojibake(v) for k, v in read(encoding="latin-1").items()}


@dataclass(frozen=True, slots=True)
class _Tags:
    exif: Mapping[str, Any]
    xmp: Mapping[str, Any]
    iptc: Mapping[str, Any]
    width: int
    height: int
    #: Why the tags could not be read although the image itself decodes; None when they could.
    problem: str | None = None


def _open_exiv2(path: Path, mime_type: str) -> _Tags | None:
    """EXIF/XMP/IPTC and stored size of an image, read with exiv2.

    When exiv2 rejects a file (it refuses a whole HEIC over one malformed ICC box, for one),
    the image is decoded with Pillow / pillow-heif instead: if that works, its EXIF and XMP are
    read through exiv2 after all (wrapped in a minimal JPEG), and only if that fails too is the
    file corrupt. A type exiv2 has no reader for gets None when Pillow cannot read it either.
    """
    # exiv2 reports recoverable problems (an odd maker note...) through its log handler, which
    # pyexiv2 turns into exceptions at "error" level; muted, those files still read, while
    # unreadable ones still raise. A process-wide, idempotent libexiv2 setting.
    pyexiv2.set_log_level(4)
    try:
        with pyexiv2.Image(str(path)) as image:
            return _Tags(
                exif=_read_tags(image.read_exif),
                xmp=_read_tags(image.read_xmp),
                iptc=_read_tags(image.read_iptc),
                width=image.get_pixel_width(),
                height=image.get_pixel_height(),
            )
    except RuntimeError as error:
        message = str(error).strip()
        if not path.exists():
            raise FileNotFoundError(str(path)) from error
        unreadable_type = _EXIV2_UNKNOWN_TYPE in message and mime_type in _EXIV2_UNREADABLE_TYPES
        try:
            tags = _fallback_tags(path, mime_type, decode=not unreadable_type)
        except Exception as fallback_error:  # noqa: BLE001 - any failure here means "unreadable"
            if unreadable_type:
                log.info("metadata.format_without_reader", mime_type=mime_type)
                return None
            raise CorruptMediaError(
                f"cannot read the metadata of this {mime_type} file: {message}"
            ) from fallback_error
        log.info("metadata.exiv2_fallback", mime_type=mime_type, exiv2_error=message)
        return tags


_HEIF_TYPES = frozenset({"image/heic", "image/heif", "image/heic-sequence", "image/heif-sequence"})
_XMP_APP1_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
_MAX_SEGMENT = 65533


_BMFF_TYPES = frozenset(
    {"image/heic", "image/heif", "image/heic-sequence", "image/heif-sequence", "image/avif"}
    | {"video/mp4", "video/quicktime", "video/3gpp", "video/3gpp2", "video/x-m4v"}
)


def bmff_truncated(path: Path) -> bool:
    """Whether an ISO BMFF / QuickTime file (HEIC, AVIF, MP4, MOV) was cut short.

    Walks the top-level boxes (ISO/IEC 14496-12 §4.2: 32-bit size and type, size 1 = 64-bit
    size follows, size 0 = to the end of the file) and reports a box that claims more bytes
    than the file has left. Decoders often do not notice: libheif decodes a HEIC cut in its
    image data without error, and FFmpeg opens an MP4 cut in its ``mdat``. A few trailing
    bytes too short for a box header are tolerated.

    Args:
        path: the file.

    Returns:
        True if the last box is incomplete.
    """
    size = path.stat().st_size
    position = 0
    with path.open("rb") as fh:
        while size - position >= 8:
            fh.seek(position)
            header = fh.read(16)
            box_size = int.from_bytes(header[:4], "big")
            if box_size == 1:
                if len(header) < 16:
                    return True
                box_size = int.from_bytes(header[8:16], "big")
            elif box_size == 0:
                return False
            if box_size < 8:
                return False  # not a box: trailing data that is none of our business
            if position + box_size > size:
                return True
            position += box_size
    return False


def _fallback_tags(path: Path, mime_type: str, *, decode: bool) -> _Tags:
    """Size, EXIF and XMP of an image exiv2 rejected, through Pillow (pillow-heif for HEIF).

    Args:
        path: the image.
        mime_type: its type; HEIF goes to pillow-heif.
        decode: decode the pixels too, so that a damaged file still fails here.

    Raises:
        Exception: whatever Pillow / pillow-heif raise for a file they cannot read.
    """
    if mime_type in _HEIF_TYPES:
        if bmff_truncated(path):
            raise CorruptMediaError("truncated HEIF file")
        heif = pillow_heif.open_heif(str(path), convert_hdr_to_8bit=False)
        if decode:
            _ = heif.data  # decodes the primary image
        (width, height), exif, xmp = heif.size, heif.info.get("exif"), heif.info.get("xmp")
    else:
        with PIL.Image.open(path) as image:
            if decode:
                image.load()
            (width, height), exif = image.size, image.info.get("exif")
            xmp = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp")
    # A minimal JPEG (SOI, APP1 Exif, APP1 XMP, EOI) that exiv2 parses like any other.
    jpeg = bytearray(b"\xff\xd8")
    if isinstance(exif, bytes) and exif:
        blob = exif if exif.startswith(b"Exif\x00\x00") else b"Exif\x00\x00" + exif
        if len(blob) <= _MAX_SEGMENT:
            jpeg += b"\xff\xe1" + struct.pack(">H", len(blob) + 2) + blob
    if isinstance(xmp, str):
        xmp = xmp.encode("utf-8")
    if isinstance(xmp, bytes) and xmp and len(xmp) + len(_XMP_APP1_HEADER) <= _MAX_SEGMENT:
        blob = _XMP_APP1_HEADER + xmp
        jpeg += b"\xff\xe1" + struct.pack(">H", len(blob) + 2) + blob
    jpeg += b"\xff\xd9"
    try:
        with pyexiv2.ImageData(bytes(jpeg)) as wrapped:
            return _Tags(
                exif=_read_tags(wrapped.read_exif),
                xmp=_read_tags(wrapped.read_xmp),
                iptc={},
                width=width,
                height=height,
            )
    except RuntimeError as error:
        if not decode:  # the pixels were not checked: nothing says this file is usable
            raise
        # The pixels decoded, only the EXIF/XMP blocks are damaged: the image is usable
        # without them (its dates come from the file dates), so say what was lost and go on.
        problem = f"unreadable EXIF/XMP in this {mime_type} file: {str(error).strip()}"
        return _Tags(exif={}, xmp={}, iptc={}, width=width, height=height, problem=problem)


def _read_image(path: Path, mime_type: str) -> _Raw:
    tags = _open_exiv2(path, mime_type)
    if tags is None:
        return _Raw()
    raw = _from_tags(tags.exif, tags.xmp, tags.iptc)
    width = tags.width or raw.width
    height = tags.height or raw.height
    return dataclasses.replace(
        raw,
        width=width if width and width > 0 else None,
        height=height if height and height > 0 else None,
        live_photo_cid=apple_content_identifier(tags.exif.get("Exif.Photo.MakerNote")),
        burst_id=apple_burst_uuid(tags.exif.get("Exif.Photo.MakerNote")),
        problem=tags.problem,
    )


def _read_sidecar(data: bytes) -> _Raw | None:
    """Fields of an XMP sidecar, or None (logged) when it cannot be parsed."""
    pyexiv2.set_log_level(4)
    try:
        with pyexiv2.ImageData(data) as image:
            xmp = _read_tags(image.read_xmp)
    except (RuntimeError, ValueError) as error:
        log.warning("metadata.sidecar_unreadable", error=str(error).strip())
        return None
    # Only what the sidecar itself says: no width/height (exiv2's size of an .xmp is 0).
    return dataclasses.replace(_from_tags({}, xmp, {}), width=None, height=None)


def _exif_datetime(
    exif: Mapping[str, Any], key: str, subsec: str, offsets: tuple[str, ...]
) -> _Stamp | None:
    offset = next((exif[k] for k in offsets if parse_offset(exif.get(k)) is not None), None)
    stamp = parse_datetime(exif.get(key), exif.get(subsec), offset)
    if stamp is not None and stamp.offset is None:
        # TIFF/EP TimeZoneOffset (0x882a): whole hours, written by some older cameras.
        hours = _integer(exif.get("Exif.Image.TimeZoneOffset"))
        if hours is not None and abs(hours) <= 14:
            stamp = _Stamp(stamp.wall, timedelta(hours=hours))
    return stamp


def _xmp_datetime(xmp: Mapping[str, Any], key: str) -> _Stamp | None:
    return parse_datetime(_text(xmp.get(key)))


def _iptc_datetime(iptc: Mapping[str, Any]) -> _Stamp | None:
    """IPTC DateCreated (``2009-08-29``) + TimeCreated (``13:18:08+00:00``); both needed."""
    day, time = (
        _text(iptc.get("Iptc.Application2.DateCreated")),
        _text(iptc.get("Iptc.Application2.TimeCreated")),
    )
    if not day or not time:
        return None
    return parse_datetime(f"{day}T{time}")


def _gps_datetime(exif: Mapping[str, Any], xmp: Mapping[str, Any]) -> _Stamp | None:
    """GPS date and time, which are UTC by definition (EXIF 2.32, GPSTimeStamp)."""
    xmp_stamp = _xmp_datetime(xmp, "Xmp.exif.GPSTimeStamp")
    if xmp_stamp is not None:
        wall = xmp_stamp.wall - (xmp_stamp.offset or timedelta(0))
        return _Stamp(wall, timedelta(0), offset_is_local=False)
    day = _text(exif.get("Exif.GPSInfo.GPSDateStamp"))
    hms = _rationals(exif.get("Exif.GPSInfo.GPSTimeStamp"))
    if not day or len(hms) != 3 or not all(math.isfinite(v) for v in hms):
        return None
    match = re.match(r"^(\d{4})[:\-](\d{2})[:\-](\d{2})", day)
    if match is None:
        return None
    try:
        year, month, day_of_month = (int(g) for g in match.groups())
        midnight = datetime(year, month, day_of_month)
    except ValueError:
        return None
    if midnight.year < 1800:
        return None
    wall = midnight + timedelta(hours=hms[0], minutes=hms[1], seconds=hms[2])
    return _Stamp(
        wall.replace(microsecond=wall.microsecond // 1000 * 1000),
        timedelta(0),
        offset_is_local=False,
    )


def _capture_stamp(
    exif: Mapping[str, Any], xmp: Mapping[str, Any], iptc: Mapping[str, Any]
) -> _Stamp | None:
    """Capture time in Immich's order (its ``EXIF_DATE_TAGS``), then EXIF ModifyDate."""
    original_offsets = (
        "Exif.Photo.OffsetTimeOriginal",
        "Exif.Photo.OffsetTime",
        "Exif.Photo.OffsetTimeDigitized",
    )
    digitized_offsets = (
        "Exif.Photo.OffsetTimeDigitized",
        "Exif.Photo.OffsetTimeOriginal",
        "Exif.Photo.OffsetTime",
    )
    return _first(
        (
            lambda: _exif_datetime(
                exif,
                "Exif.Photo.DateTimeOriginal",
                "Exif.Photo.SubSecTimeOriginal",
                original_offsets,
            ),
            lambda: _xmp_datetime(xmp, "Xmp.exif.DateTimeOriginal"),
            lambda: _exif_datetime(
                exif,
                "Exif.Photo.DateTimeDigitized",
                "Exif.Photo.SubSecTimeDigitized",
                digitized_offsets,
            ),
            lambda: _xmp_datetime(xmp, "Xmp.xmp.CreateDate"),
            lambda: _xmp_datetime(xmp, "Xmp.exif.DateTimeDigitized"),
            lambda: _xmp_datetime(xmp, "Xmp.photoshop.DateCreated"),
            lambda: _iptc_datetime(iptc),
            lambda: _gps_datetime(exif, xmp),
            lambda: _exif_datetime(
                exif, "Exif.Image.DateTime", "Exif.Photo.SubSecTime", ("Exif.Photo.OffsetTime",)
            ),
        )
    )


def _modify_stamp(exif: Mapping[str, Any], xmp: Mapping[str, Any]) -> _Stamp | None:
    return _first(
        (
            lambda: _exif_datetime(
                exif, "Exif.Image.DateTime", "Exif.Photo.SubSecTime", ("Exif.Photo.OffsetTime",)
            ),
            lambda: _xmp_datetime(xmp, "Xmp.xmp.ModifyDate"),
        )
    )


def _gps(exif: Mapping[str, Any], xmp: Mapping[str, Any]) -> tuple[float | None, float | None]:
    lat = _dms(exif.get("Exif.GPSInfo.GPSLatitude"), exif.get("Exif.GPSInfo.GPSLatitudeRef"))
    lon = _dms(exif.get("Exif.GPSInfo.GPSLongitude"), exif.get("Exif.GPSInfo.GPSLongitudeRef"))
    if lat is not None and lon is not None:
        return lat, lon
    lat, lon = (
        _xmp_coordinate(xmp.get("Xmp.exif.GPSLatitude")),
        _xmp_coordinate(xmp.get("Xmp.exif.GPSLongitude")),
    )
    if lat is not None and lon is not None:
        return lat, lon
    return None, None


def _iso(exif: Mapping[str, Any], xmp: Mapping[str, Any]) -> int | None:
    # 65535 is EXIF's "the real value does not fit"; the later tags then have it.
    for value in (
        exif.get("Exif.Photo.ISOSpeedRatings"),
        exif.get("Exif.Photo.ISOSpeed"),
        exif.get("Exif.Photo.RecommendedExposureIndex"),
        exif.get("Exif.Image.ISOSpeedRatings"),
        xmp.get("Xmp.exif.ISOSpeedRatings"),
        xmp.get("Xmp.exifEX.PhotographicSensitivity"),
    ):
        iso = _integer(value)
        if iso is not None and 0 < iso < 65535:
            return iso
    return None


def _f_number(exif: Mapping[str, Any], xmp: Mapping[str, Any]) -> float | None:
    value = _number(exif.get("Exif.Photo.FNumber")) or _number(xmp.get("Xmp.exif.FNumber"))
    if value is None:
        # APEX aperture value Av: N = 2^(Av/2) (EXIF 2.32, ApertureValue).
        apex = _number(exif.get("Exif.Photo.ApertureValue")) or _number(
            xmp.get("Xmp.exif.ApertureValue")
        )
        value = 2 ** (apex / 2) if apex is not None and apex < 64 else None
    return round(value, 2) if value and value > 0 else None


def _exposure(exif: Mapping[str, Any], xmp: Mapping[str, Any]) -> str | None:
    seconds = _number(exif.get("Exif.Photo.ExposureTime")) or _number(
        xmp.get("Xmp.exif.ExposureTime")
    )
    if seconds is None:
        # APEX shutter speed value Tv: t = 2^-Tv seconds (EXIF 2.32, ShutterSpeedValue).
        apex = _number(exif.get("Exif.Photo.ShutterSpeedValue")) or _number(
            xmp.get("Xmp.exif.ShutterSpeedValue")
        )
        seconds = 2 ** (-apex) if apex is not None and abs(apex) < 64 else None
    return format_exposure_time(seconds) if seconds and seconds > 0 else None


def _ranged(value: int | None, low: int, high: int) -> int | None:
    return value if value is not None and low <= value <= high else None


def _from_tags(exif: Mapping[str, Any], xmp: Mapping[str, Any], iptc: Mapping[str, Any]) -> _Raw:
    """The fields of one set of EXIF/XMP/IPTC tags (pyexiv2 key -> value)."""
    latitude, longitude = _gps(exif, xmp)
    focal = _number(exif.get("Exif.Photo.FocalLength")) or _number(xmp.get("Xmp.exif.FocalLength"))
    return _Raw(
        capture=_capture_stamp(exif, xmp, iptc),
        modify=_modify_stamp(exif, xmp),
        make=_text(exif.get("Exif.Image.Make")) or _text(xmp.get("Xmp.tiff.Make")),
        model=_text(exif.get("Exif.Image.Model")) or _text(xmp.get("Xmp.tiff.Model")),
        lens_model=_first(
            (
                lambda: _text(exif.get("Exif.Photo.LensModel")),
                lambda: _text(xmp.get("Xmp.exifEX.LensModel")),
                lambda: _text(xmp.get("Xmp.aux.Lens")),
                lambda: _text(exif.get("Exif.Canon.LensModel")),
            )
        ),
        f_number=_f_number(exif, xmp),
        focal_length=round(focal, 2) if focal and focal > 0 else None,
        iso=_iso(exif, xmp),
        exposure_time=_exposure(exif, xmp),
        width=_integer(exif.get("Exif.Photo.PixelXDimension"))
        or _integer(xmp.get("Xmp.exif.PixelXDimension")),
        height=_integer(exif.get("Exif.Photo.PixelYDimension"))
        or _integer(xmp.get("Xmp.exif.PixelYDimension")),
        orientation=_ranged(
            _integer(exif.get("Exif.Image.Orientation"))
            or _integer(xmp.get("Xmp.tiff.Orientation")),
            1,
            8,
        ),
        projection_type=(_text(xmp.get("Xmp.GPano.ProjectionType")) or "").upper() or None,
        description=_first(
            (
                lambda: _text(xmp.get("Xmp.dc.description")),
                lambda: _text(exif.get("Exif.Image.ImageDescription")),
                lambda: _text(iptc.get("Iptc.Application2.Caption")),
            )
        ),
        rating=_ranged(
            _integer(xmp["Xmp.xmp.Rating"])
            if "Xmp.xmp.Rating" in xmp
            else _integer(exif.get("Exif.Image.Rating")),
            -1,
            5,
        ),
        latitude=latitude,
        longitude=longitude,
        tags=tag_paths(xmp, iptc),
    )


def apple_content_identifier(maker_note: Any) -> str | None:
    """The Live Photo ContentIdentifier from an Apple MakerNote, if it has one: tag 0x0011
    (ExifTool, ``Image::ExifTool::Apple``), the same UUID as the QuickTime
    ``com.apple.quicktime.content.identifier`` of the paired video.

    Args:
        maker_note: the ``Exif.Photo.MakerNote`` value as pyexiv2 gives it (decimal byte values
            separated by spaces), or raw bytes.

    Returns:
        The identifier (``"E905E6C6-C747-4805-942F-9904A0281F02"``), or None.
    """
    return apple_maker_note_text(maker_note, 0x0011)


def apple_burst_uuid(maker_note: Any) -> str | None:
    """The burst of an iPhone burst photo from its Apple MakerNote: tag 0x000B, BurstUUID
    (ExifTool, ``Image::ExifTool::Apple``), shared by every photo of one burst.

    Args:
        maker_note: As for :func:`apple_content_identifier`.

    Returns:
        The burst's UUID, or None.
    """
    return apple_maker_note_text(maker_note, 0x000B)


def apple_maker_note_text(maker_note: Any, tag_id: int) -> str | None:
    """An ASCII tag of an Apple MakerNote, if it has it.

    The Apple MakerNote (exiv2 does not decode it) is ``"Apple iOS\\0"``, a 2-byte version, a
    byte-order mark and then a TIFF IFD whose offsets count from the start of the note
    (ExifTool, ``Image::ExifTool::Apple``).

    Args:
        maker_note: the ``Exif.Photo.MakerNote`` value as pyexiv2 gives it (decimal byte values
            separated by spaces), or raw bytes.
        tag_id: The tag (0x0011 ContentIdentifier, 0x000B BurstUUID, ...).

    Returns:
        The tag's text up to its first NUL, stripped; None when absent or empty.
    """
    if isinstance(maker_note, str):
        try:
            data = bytes(int(b) for b in maker_note.split())
        except ValueError:
            return None
    elif isinstance(maker_note, bytes | bytearray):
        data = bytes(maker_note)
    else:
        return None
    if not data.startswith(b"Apple iOS\x00") or len(data) < 16:
        return None
    order = {b"MM": ">", b"II": "<"}.get(data[12:14])
    if order is None:
        return None
    try:
        (count,) = struct.unpack_from(order + "H", data, 14)
        for i in range(count):
            tag, kind, n, value = struct.unpack_from(order + "HHII", data, 16 + 12 * i)
            if tag == tag_id and kind == 2:
                raw = (
                    data[16 + 12 * i + 8 : 16 + 12 * i + 8 + n]
                    if n <= 4
                    else data[value : value + n]
                )
                text = raw.split(b"\x00", 1)[0].decode("ascii", "replace").strip()
                return text or None
    except struct.error:
        return None
    return None


# --------------------------------------------------------------------------------------------
# Videos (FFmpeg through PyAV)
# --------------------------------------------------------------------------------------------


def _video_rotation(container: Any, stream: Any) -> int | None:
    """ffprobe-style rotation from the display matrix, read off the first decoded frame.

    PyAV 18 exposes the display matrix only on frames (FFmpeg copies the stream's matrix onto
    every decoded frame), so one frame is decoded.
    """
    try:
        for count, packet in enumerate(container.demux(stream)):
            for frame in packet.decode():
                degrees = int(round(frame.rotation)) % 360
                return {0: 0, 90: 90, 180: 180, 270: -90}.get(degrees, degrees)
            if count >= _MAX_PACKETS_FOR_FIRST_FRAME:
                break
    except (av.error.FFmpegError, ValueError) as error:
        log.warning("metadata.video_first_frame_failed", error=str(error))
    return None


def _video_creation(tags: Mapping[str, str], stream_tags: Mapping[str, str]) -> _Stamp | None:
    """Apple's local creation date (with offset), else QuickTime/Matroska creation_time (UTC)."""
    return _first(
        (
            lambda: parse_datetime(tags.get("com.apple.quicktime.creationdate")),
            lambda: _utc_if_naive_iso(tags.get("creation_time")),
            lambda: _utc_if_naive_iso(stream_tags.get("creation_time")),
            lambda: parse_datetime(tags.get("date")),
        )
    )


def _utc_if_naive_iso(text: str | None) -> _Stamp | None:
    """FFmpeg writes MP4/MOV/MKV creation_time as ISO 8601 with ``Z``: an exact UTC instant.
    AVI's (from the IDIT chunk) has no zone and is the camera's wall clock, kept as such. A
    zero time (1970-01-01T00:00:00Z, QuickTime's unset field) is ignored."""
    stamp = parse_datetime(text)
    if stamp is None or stamp.wall == datetime(1970, 1, 1):
        return None
    return stamp


def _read_video(path: Path, mime_type: str) -> _Raw:
    if mime_type in _BMFF_TYPES and bmff_truncated(path):
        raise CorruptMediaError(f"truncated {mime_type} file")
    try:
        container = av.open(str(path), metadata_errors="replace")
    except FileNotFoundError:
        raise
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as error:
        raise CorruptMediaError(f"cannot open this video: {error}") from error
    with container:
        if not container.streams:
            raise CorruptMediaError("no audio or video stream in this file")
        tags = {k.lower(): v for k, v in container.metadata.items()}
        video = container.streams.video[0] if container.streams.video else None
        audio = container.streams.audio[0] if container.streams.audio else None
        stream_tags = {k.lower(): v for k, v in video.metadata.items()} if video is not None else {}

        location = _first(
            (
                lambda: parse_iso6709(tags.get("com.apple.quicktime.location.iso6709")),
                lambda: parse_iso6709(tags.get("location")),
                lambda: parse_iso6709(tags.get("location-eng")),
            )
        )
        duration = None
        if container.duration is not None and container.duration > 0:
            duration = container.duration / av.time_base
        elif video is not None and video.duration is not None and video.time_base is not None:
            duration = float(video.duration * video.time_base)
        fps = None
        if video is not None:
            rate = video.average_rate or video.guessed_rate
            fps = round(float(rate), 3) if rate else None
        codec = video.codec_context if video is not None else None
        rotation = _video_rotation(container, video) if video is not None else None

        return _Raw(
            capture=_video_creation(tags, stream_tags),
            make=_text(tags.get("com.apple.quicktime.make"))
            or _text(tags.get("com.android.manufacturer"))
            or _text(tags.get("make")),
            model=_text(tags.get("com.apple.quicktime.model"))
            or _text(tags.get("com.android.model"))
            or _text(tags.get("model")),
            description=_text(tags.get("com.apple.quicktime.description"))
            or _text(tags.get("description")),
            latitude=location[0] if location else None,
            longitude=location[1] if location else None,
            live_photo_cid=_text(tags.get("com.apple.quicktime.content.identifier")),
            width=codec.width or None if codec is not None else None,
            height=codec.height or None if codec is not None else None,
            duration=round(duration, 3) if duration else None,
            fps=fps,
            video_codec=codec.name if codec is not None else None,
            audio_codec=audio.codec_context.name if audio is not None else None,
            bitrate=container.bit_rate or None,
            rotation=rotation,
        )


def read_xmp(path: Path, mime_type: str) -> Mapping[str, Any]:
    """The XMP of an image as pyexiv2 reads it (``{"Xmp.GCamera.MotionPhoto": "1", ...}``),
    with the same fallbacks as extraction (:func:`_open_exiv2`); empty when unreadable.

    Args:
        path: The image.
        mime_type: Its type.
    """
    try:
        tags = _open_exiv2(path, mime_type)
    except (CorruptMediaError, OSError):
        return {}
    return {} if tags is None else tags.xmp
