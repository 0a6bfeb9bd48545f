"""ExifTool's tags of one file -> the fields Darkroom stores, before time zones are resolved.

The tags are ExifTool's JSON with family-1 groups and numeric values (``-json -G1 -struct
-all#``, :mod:`darkroom_metadata.exiftool`), but for the lens tags, which are printed (Immich
stores them printed): ``ExifIFD:DateTimeOriginal``, ``GPS:GPSLatitude``,
``Keys:ContentIdentifier``, ``Composite:GPSLatitude`` (ExifTool's own combination of the GPS IFD
with its reference, XMP-exif, QuickTime ``Keys``/``UserData`` GPSCoordinates...).

Where a rule is a judgment call, Immich's observed behaviour (it also reads ExifTool's tags) is
the reference, so a library moved from Immich shows the same dates and places:

* capture time: DateTimeOriginal, then CreateDate / DateTimeDigitized, XMP/IPTC creation dates,
  QuickTime's Apple ``CreationDate`` (local, with offset) and ``CreateDate`` (UTC), GPS
  date/time (UTC), then the EXIF ModifyDate, then the file's modification time;
* a wall-clock time with a known UTC offset is an exact instant, its time zone named as
  exiftool-vendored names an offset (``UTC+9``, ``UTC-4``, ``UTC+5:30``, ``UTC``); without one,
  the time zone of the GPS position is used (tzfpy), and without a position the wall clock is
  taken as UTC;
* GPS at exactly (0, 0), NaN or out of range is dropped; numbers are kept as ExifTool gives
  them (Immich reads GPS and FocalLength as numbers), but the f-number is rounded as ExifTool
  prints it (Immich reads FNumber print-converted).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog
import tzfpy

from darkroom_metadata.keywords import tag_paths

__all__ = [
    "Fields",
    "Stamp",
    "fields_from_tags",
    "format_exposure_time",
    "format_f_number",
    "offset_zone_name",
    "instant",
    "overlay",
    "parse_datetime",
    "parse_offset",
    "resolve",
    "valid_gps",
    "zone_at",
]

log = structlog.get_logger()

#: The largest UTC offset in use (Kiribati, +14:00); beyond it an offset tag is garbage.
_MAX_OFFSET = timedelta(hours=14)

#: Maker codes of AVCHD/H.264 camera data (``H264:Make``, numeric under ``-n``), as ExifTool
#: names them (``%convMake`` in its ``Image::ExifTool::H264``).
_H264_MAKES = {0x0103: "Panasonic", 0x0108: "Sony", 0x1011: "Canon", 0x1104: "JVC"}

#: ExifTool's clockwise video rotation -> ffprobe's counter-clockwise degrees (what
#: ``ExtractedMetadata.rotation`` has always held: -90 for a phone held upright).
_CLOCKWISE_TO_FFPROBE = {0: 0, 90: -90, 180: 180, 270: 90}


@dataclass(frozen=True, slots=True)
class Stamp:
    """A date/time as a file states it, before time zones are resolved.

    ``wall`` is naive. ``offset`` is its UTC offset when the file gives one. ``offset_is_local``
    is False for a UTC timestamp ("Z", GPS time, QuickTime CreateDate): the instant is known
    but the local time zone is not.
    """

    wall: datetime
    offset: timedelta | None = None
    offset_is_local: bool = True


@dataclass(frozen=True, slots=True)
class Fields:
    """Fields as read from one source (the file, or its sidecar), before merging.

    Units and meanings are those of :class:`darkroom_metadata.extract.ExtractedMetadata`;
    ``capture``/``modify`` are unresolved stamps, ``problem`` why the tags could not be read.
    """

    capture: Stamp | None = None
    modify: Stamp | None = None
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
    #: ``XMP-mwg-rs:RegionInfo`` as ExifTool gives it (``-struct``): a sidecar's replaces the
    #: file's whole (:mod:`darkroom_metadata.regions` reads it)
    region_info: dict[str, Any] | None = None


# --------------------------------------------------------------------------------------------
# Looking tags up
# --------------------------------------------------------------------------------------------


def _get(tags: Mapping[str, Any], *keys: str) -> Any:
    """The first present, non-blank value among ``keys``.

    A key is ``Group:Name``, or ``*:Name`` for that name in any group (in ExifTool's order).
    """
    for key in keys:
        if key.startswith("*:"):
            suffix = key[1:]
            for tag, value in tags.items():
                if tag.endswith(suffix) and _present(value):
                    return value
        else:
            value = tags.get(key)
            if _present(value):
                return value
    return None


def _present(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.replace("\x00", "").strip())
    return not (isinstance(value, list | dict) and not value)


def _text(value: Any) -> str | None:
    """A tag's text without padding or NULs; lists give their first item; None if blank."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    return value.replace("\x00", " ").strip() or None


def _number(value: Any) -> float | None:
    """A finite number from a numeric value or its text (first of a list), else None."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.split()[0]) if value.strip() else None
        except ValueError:
            return None
    if not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _integer(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None else None


def _ranged(value: int | None, low: int, high: int) -> int | None:
    return value if value is not None and low <= value <= high else None


def _strings(value: Any) -> list[str] | None:
    if value is None:
        return None
    items = value if isinstance(value, list) else [value]
    return [str(v) for v in items if v is not None]


# --------------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------------

_DATETIME_RE = re.compile(
    r"^\s*(\d{4})[:\-](\d{2})[:\-](\d{2})"
    r"(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?(?:[.,](\d+))?)?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?(?:\s+DST)?\s*$"  # AVCHD: "+02:00 DST" (offset incl. DST)
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


def _subsec_micro(text: Any) -> int:
    """EXIF SubSecTime ``"054"`` (a decimal fraction of a second) -> 54000 microseconds.

    ExifTool gives ``054`` as the number 54 under ``-n`` only when it has no leading zero; a
    string keeps its digits. (EXIF 2.32 §4.6.5: SubSecTime is ASCII digits.)
    """
    digits = (_text(text) or "").split(" ")[0]
    if not digits.isdigit():
        return 0
    return int((digits + "000000")[:6])


def parse_datetime(text: Any, subsec: Any = None, offset: Any = None) -> Stamp | None:
    """Parse an EXIF (``2021:04:11 15:47:53``), XMP/ISO 8601 or QuickTime date-time.

    Args:
        text: the value; a trailing ``Z`` or ``+hh:mm`` is honoured. A date without a time
            (XMP allows ``2021-04-11``) is taken as midnight.
        subsec: EXIF SubSecTime* digits, used when ``text`` has no fraction.
        offset: EXIF OffsetTime* value, used when ``text`` has no offset.

    Returns:
        The stamp, or None for an empty, zeroed (``0000:00:00``) or impossible value.
    """
    text = _text(text)
    if not text:
        return None
    match = _DATETIME_RE.match(text)
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
        return Stamp(wall, timedelta(0), offset_is_local=False)
    if zone:
        parsed = parse_offset(zone)
        return Stamp(wall, parsed) if parsed is not None else Stamp(wall)
    return Stamp(wall, parse_offset(_text(offset)))


def _utc(text: Any) -> Stamp | None:
    """A date-time that is UTC by definition (QuickTime CreateDate, GPS date/time).

    QuickTime's unset field (1904-01-01, or 1970-01-01 from some muxers) is ignored. A value
    with its own offset keeps it.
    """
    stamp = parse_datetime(text)
    if stamp is None or stamp.wall == datetime(1970, 1, 1):
        return None
    if stamp.offset is not None:
        return stamp
    return Stamp(stamp.wall, timedelta(0), offset_is_local=False)


def _exif_datetime(
    tags: Mapping[str, Any], key: str, subsec: str, offsets: tuple[str, ...]
) -> Stamp | None:
    offset = next((tags[k] for k in offsets if parse_offset(_text(tags.get(k))) is not None), None)
    stamp = parse_datetime(tags.get(key), tags.get(subsec), offset)
    if stamp is not None and stamp.offset is None:
        # TIFF/EP TimeZoneOffset (0x882a): whole hours, written by some older cameras.
        hours = _integer(_get(tags, "IFD0:TimeZoneOffset", "ExifIFD:TimeZoneOffset"))
        if hours is not None and abs(hours) <= 14:
            stamp = Stamp(stamp.wall, timedelta(hours=hours))
    return stamp


_ORIGINAL_OFFSETS = (
    "ExifIFD:OffsetTimeOriginal",
    "ExifIFD:OffsetTime",
    "ExifIFD:OffsetTimeDigitized",
)
_DIGITIZED_OFFSETS = (
    "ExifIFD:OffsetTimeDigitized",
    "ExifIFD:OffsetTimeOriginal",
    "ExifIFD:OffsetTime",
)


def _capture(tags: Mapping[str, Any]) -> Stamp | None:
    """Capture time, first found of: EXIF DateTimeOriginal (with sub-seconds and offset), the
    XMP/IPTC/maker-note originals, EXIF CreateDate, XMP and PNG creation dates, IPTC
    DateTimeCreated, Apple's QuickTime CreationDate (local with offset), QuickTime CreateDate
    (UTC), GPS date/time (UTC), EXIF ModifyDate.

    ``PNG:CreateDate`` (a PNG text chunk, ``create-date``) counts as Immich counts it: its
    exiftool-vendored tags are flat, so it is the ``CreateDate`` of metadata.service's
    ``EXIF_DATE_TAGS`` (its medium test "should handle dates far in the future" reads one).
    """
    for candidate in (
        lambda: _exif_datetime(
            tags, "ExifIFD:DateTimeOriginal", "ExifIFD:SubSecTimeOriginal", _ORIGINAL_OFFSETS
        ),
        lambda: parse_datetime(_get(tags, "XMP-exif:DateTimeOriginal")),
        lambda: _exif_datetime(
            tags, "ExifIFD:CreateDate", "ExifIFD:SubSecTimeDigitized", _DIGITIZED_OFFSETS
        ),
        lambda: parse_datetime(
            _get(
                tags,
                "XMP-xmp:CreateDate",
                "XMP-exif:DateTimeDigitized",
                "XMP-photoshop:DateCreated",
                "PNG:CreateDate",
            )
        ),
        lambda: parse_datetime(_get(tags, "Composite:DateTimeCreated")),  # IPTC date + time
        lambda: parse_datetime(
            _get(
                tags,
                "Keys:CreationDate",
                "VideoKeys:CreationDate",
                "UserData:CreationDate",
                "*:CreationDate",
            )
        ),
        # AVI (RIFF IDIT), AVCHD (H264 maker data), other vendors: a local wall clock
        lambda: parse_datetime(_get(tags, "*:DateTimeOriginal")),
        lambda: _utc(_get(tags, "QuickTime:CreateDate", "*:MediaCreateDate", "*:TrackCreateDate")),
        lambda: _utc(_get(tags, "Composite:GPSDateTime", "XMP-exif:GPSDateTime")),
        lambda: _exif_datetime(
            tags, "IFD0:ModifyDate", "ExifIFD:SubSecTime", ("ExifIFD:OffsetTime",)
        ),
    ):
        stamp = candidate()
        if stamp is not None:
            return stamp
    return None


def _modify(tags: Mapping[str, Any]) -> Stamp | None:
    return _exif_datetime(
        tags, "IFD0:ModifyDate", "ExifIFD:SubSecTime", ("ExifIFD:OffsetTime",)
    ) or parse_datetime(_get(tags, "XMP-xmp:ModifyDate"))


def zone_at(latitude: float | None, longitude: float | None) -> ZoneInfo | None:
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


def resolve(stamp: Stamp, zone: ZoneInfo | None) -> tuple[datetime, datetime, str | None]:
    """Turn a stamp into (instant in UTC, local wall clock, time zone label)."""
    if stamp.offset is not None and stamp.offset_is_local:
        instant = stamp.wall.replace(tzinfo=timezone(stamp.offset)).astimezone(UTC)
        return instant, stamp.wall, offset_zone_name(stamp.offset)
    if stamp.offset is not None:
        instant = (stamp.wall - stamp.offset).replace(tzinfo=UTC)
        if zone is not None:
            return instant, instant.astimezone(zone).replace(tzinfo=None), zone.key
        return instant, instant.replace(tzinfo=None), None
    if zone is not None:
        # fold=0: an ambiguous wall-clock time (the repeated hour) is read as the first one.
        return stamp.wall.replace(tzinfo=zone).astimezone(UTC), stamp.wall, zone.key
    return stamp.wall.replace(tzinfo=UTC), stamp.wall, None


def instant(value: datetime) -> Stamp:
    """A stamp for an exact instant whose local time zone is unknown (naive = UTC)."""
    utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return Stamp(utc.replace(tzinfo=None), timedelta(0), offset_is_local=False)


def offset_zone_name(offset: timedelta) -> str:
    """The time zone name Immich stores for a UTC offset.

    Immich's ``timeZone`` is exiftool-vendored's ``tz``, which names a fixed offset with
    ``offsetMinutesToZoneName`` (luxon's fixed-offset zone names, which Immich's web and mobile
    clients parse): ``timedelta(hours=9)`` -> ``"UTC+9"``, ``-4 h`` -> ``"UTC-4"``,
    ``5 h 30 min`` -> ``"UTC+5:30"``, ``0`` -> ``"UTC"``.
    """
    minutes = int(offset.total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{minutes:02d}" if minutes else "")


# --------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------


def format_exposure_time(seconds: float) -> str:
    """Exposure time as ExifTool prints it (``Image::ExifTool::Exif::PrintExposureTime``).

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
        ``(lat, lon)`` as given (Immich stores ExifTool's numbers unrounded), or
        ``(None, None)``.
    """
    if lat is None or lon is None:
        return None, None
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return None, None
    if abs(lat) > 90 or abs(lon) > 180 or (lat == 0 and lon == 0):
        return None, None
    return lat, lon


def _gps(tags: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """Signed degrees: ExifTool's Composite (EXIF GPS with its N/S/E/W reference, XMP,
    QuickTime/MP4 ISO 6709 GPSCoordinates), else the signed XMP or GPS IFD values."""
    for lat_key, lon_key in (
        ("Composite:GPSLatitude", "Composite:GPSLongitude"),
        ("XMP-exif:GPSLatitude", "XMP-exif:GPSLongitude"),
    ):
        lat, lon = _number(tags.get(lat_key)), _number(tags.get(lon_key))
        if lat is not None and lon is not None:
            return lat, lon
    # the GPS IFD without Composite (a reference missing): sign from the reference if any
    lat, lon = _number(tags.get("GPS:GPSLatitude")), _number(tags.get("GPS:GPSLongitude"))
    if lat is None or lon is None:
        return None, None
    if (_text(tags.get("GPS:GPSLatitudeRef")) or "").upper().startswith("S"):
        lat = -abs(lat)
    if (_text(tags.get("GPS:GPSLongitudeRef")) or "").upper().startswith("W"):
        lon = -abs(lon)
    return lat, lon


def _iso(tags: Mapping[str, Any]) -> int | None:
    # 65535 is EXIF's "the real value does not fit"; the later tags then have it. Rounded as
    # ExifTool prints it, which is what Immich stores: Canon's Composite:ISO (BaseISO scaled by
    # AutoISO) is a real number printed with sprintf("%.0f"), 64.84 -> 65.
    for key in (
        "ExifIFD:ISO",
        "ExifIFD:ISOSpeed",
        "ExifIFD:RecommendedExposureIndex",
        "IFD0:ISO",
        "XMP-exif:ISO",
        "XMP-exifEX:PhotographicSensitivity",
        "*:ISO",
    ):
        number = _number(_get(tags, key))
        iso = round(number) if number is not None else None
        if iso is not None and 0 < iso < 65535:
            return iso
    return None


def format_f_number(value: float) -> float:
    """An f-number as ExifTool prints it (``Image::ExifTool::Exif::PrintFNumber``), which is
    what Immich stores: one decimal, two below 1 (``1.89`` -> ``1.9``, ``0.641`` -> ``0.64``)."""
    return round(value, 2 if value < 1 else 1)


def _f_number(tags: Mapping[str, Any]) -> float | None:
    # FNumber, else ExifTool's Aperture (FNumber or APEX ApertureValue: N = 2^(Av/2))
    value = _number(
        _get(tags, "ExifIFD:FNumber", "XMP-exif:FNumber", "*:FNumber", "Composite:Aperture")
    )
    return format_f_number(value) if value and value > 0 else None


def _exposure(tags: Mapping[str, Any]) -> str | None:
    # ExposureTime, else ExifTool's ShutterSpeed (ExposureTime or APEX ShutterSpeedValue)
    seconds = _number(
        _get(
            tags,
            "ExifIFD:ExposureTime",
            "XMP-exif:ExposureTime",
            "*:ExposureTime",
            "Composite:ShutterSpeed",
        )
    )
    return format_exposure_time(seconds) if seconds and seconds > 0 else None


def _size(tags: Mapping[str, Any]) -> tuple[int | None, int | None]:
    """Stored pixel size, before orientation: ExifTool's Composite ImageSize (the decoded
    image's size for each format: SOF for JPEG, ispe for HEIF, the video track for movies)."""
    size = _text(tags.get("Composite:ImageSize"))
    if size:
        parts = size.replace("x", " ").split()
        if len(parts) == 2 and all(p.isdigit() for p in parts):
            if int(parts[0]) > 0 and int(parts[1]) > 0:
                return int(parts[0]), int(parts[1])
    width = _integer(
        _get(tags, "File:ImageWidth", "ExifIFD:ExifImageWidth", "XMP-exif:PixelXDimension")
    )
    height = _integer(
        _get(tags, "File:ImageHeight", "ExifIFD:ExifImageHeight", "XMP-exif:PixelYDimension")
    )
    return (width if width and width > 0 else None), (height if height and height > 0 else None)


def _keywords(tags: Mapping[str, Any]) -> list[str] | None:
    """Keyword paths (:func:`darkroom_metadata.keywords.tag_paths`) from ExifTool's tags."""
    xmp = {
        "Xmp.digiKam.TagsList": _strings(tags.get("XMP-digiKam:TagsList")),
        "Xmp.lr.hierarchicalSubject": _strings(tags.get("XMP-lr:HierarchicalSubject")),
        "Xmp.dc.subject": _strings(tags.get("XMP-dc:Subject")),
    }
    iptc = {"Iptc.Application2.Keywords": _strings(tags.get("IPTC:Keywords"))}
    return tag_paths({k: v for k, v in xmp.items() if v}, {k: v for k, v in iptc.items() if v})


def _lens_model(tags: Mapping[str, Any]) -> str | None:
    """The lens as Immich names it (metadata.service ``getLensModel``): the first of LensID,
    LensType, LensSpec, LensModel that the file has, as ExifTool prints it
    (:data:`darkroom_metadata.exiftool.PRINTED_TAGS`: ``"Canon EF 28-80mm f/3.5-5.6 USM IV"``
    from Composite:LensID, not the ExifIFD:LensModel ``"EF28-80mm f/3.5-5.6 USM"``); None when
    that one is blank, ``----`` or ExifTool's ``Unknown (...)`` / ``Unknown 5-16mm``."""
    value = None
    for name in ("LensID", "LensType", "LensSpec", "LensModel"):
        value = next((v for k, v in tags.items() if k.endswith(f":{name}") and v is not None), None)
        if value is not None:
            break
    lens = _text(value)
    if lens is None or lens == "----" or lens.startswith("Unknown"):
        return None
    return lens


def _make(tags: Mapping[str, Any]) -> str | None:
    """Camera maker; a numeric one (AVCHD's maker code) by ExifTool's names, else dropped."""
    value = _get(tags, "IFD0:Make", "XMP-tiff:Make", "Keys:Make", "UserData:Make", "*:Make")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _H264_MAKES.get(int(value))
    return _text(value)


def _rotation(tags: Mapping[str, Any]) -> int | None:
    """ffprobe's rotation of a video; 0 when the file has no display matrix (AVI, MPEG-TS:
    such a video is shown as stored, which is what FFmpeg reports too)."""
    degrees = _integer(_get(tags, "Composite:Rotation", "QuickTime:Rotation"))
    if degrees is None:
        return 0
    return _CLOCKWISE_TO_FFPROBE.get(degrees % 360)


def fields_from_tags(tags: Mapping[str, Any], *, video: bool = False) -> Fields:
    """The fields of one file (or sidecar) from its ExifTool tags.

    Args:
        tags: ExifTool's JSON object for the file (``-json -n -G1 -struct``).
        video: The file is a video: its rotation is read (ExifTool's clockwise
            ``Composite:Rotation`` turned into ffprobe's counter-clockwise degrees).

    Returns:
        The fields; those the tags do not give are None. Width/height/duration of a video are
        filled later from its streams (:mod:`darkroom_metadata.probe`).
    """
    latitude, longitude = _gps(tags)
    focal = _number(_get(tags, "ExifIFD:FocalLength", "XMP-exif:FocalLength", "*:FocalLength"))
    width, height = _size(tags)
    # -1..5, then rounded half up, as Immich's validateRange (Math.round): XMP Rating is real
    rating = _number(_get(tags, "XMP-xmp:Rating", "IFD0:Rating"))
    region_info = tags.get("XMP-mwg-rs:RegionInfo")
    return Fields(
        capture=_capture(tags),
        modify=_modify(tags),
        make=_make(tags),
        model=_text(
            _get(tags, "IFD0:Model", "XMP-tiff:Model", "Keys:Model", "UserData:Model", "*:Model")
        ),
        lens_model=_lens_model(tags),
        f_number=_f_number(tags),
        focal_length=focal if focal and focal > 0 else None,
        iso=_iso(tags),
        exposure_time=_exposure(tags),
        width=width,
        height=height,
        orientation=None
        if video
        else _ranged(_integer(_get(tags, "IFD0:Orientation", "XMP-tiff:Orientation")), 1, 8),
        projection_type=(_text(tags.get("XMP-GPano:ProjectionType")) or "").upper() or None,
        description=_text(
            _get(
                tags,
                "XMP-dc:Description",
                "IFD0:ImageDescription",
                "IPTC:Caption-Abstract",
                "Keys:Description",
                "VideoKeys:Description",
                "UserData:Description",
                "ItemList:Description",
            )
        ),
        rating=math.floor(rating + 0.5) if rating is not None and -1 <= rating <= 5 else None,
        latitude=latitude,
        longitude=longitude,
        live_photo_cid=_text(
            _get(
                tags,
                "Apple:ContentIdentifier",
                "Keys:ContentIdentifier",
                "VideoKeys:ContentIdentifier",
            )
        ),
        burst_id=_text(tags.get("Apple:BurstUUID")),
        rotation=_rotation(tags) if video else None,
        tags=_keywords(tags),
        region_info=region_info if isinstance(region_info, dict) else None,
    )


def overlay(base: Fields, top: Fields) -> Fields:
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
