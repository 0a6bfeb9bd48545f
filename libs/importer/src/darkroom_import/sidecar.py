"""The JSON files of a Google Takeout export, decoded with msgspec.

A media sidecar (``IMG_1234.jpg.supplemental-metadata.json``) carries what Google Photos knew of
the item: ``title`` (the original file name), ``description``, ``photoTakenTime`` (Unix seconds,
UTC, as a string), ``geoData`` (what the user or Google set; 0/0 when unknown) and
``geoDataExif`` (what the file said), ``favorited``, ``archived``, ``trashed``. An album folder's
``metadata.json`` carries the album's ``title`` and ``description``. Unknown fields are ignored.
"""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec


class _Time(msgspec.Struct, frozen=True):
    timestamp: str = ""


class _Geo(msgspec.Struct, frozen=True):
    latitude: float = 0.0
    longitude: float = 0.0


class TakeoutJson(msgspec.Struct, frozen=True, rename="camel"):
    """Any JSON file of the export, with the fields the importer reads (all optional).

    Attributes:
        title: the media's original name, or an album's name.
        description: the caption the user wrote.
        photo_taken_time: capture time (``{"timestamp": "<Unix seconds>"}``); media only.
        creation_time: when the item reached Google Photos.
        geo_data: location set in Google Photos (0/0: none).
        geo_data_exif: location read from the file (0/0: none).
        favorited: starred in Google Photos.
        archived: in the archive.
        trashed: in the bin when exported.
    """

    title: str | None = None
    description: str | None = None
    photo_taken_time: _Time | None = None
    creation_time: _Time | None = None
    geo_data: _Geo | None = None
    geo_data_exif: _Geo | None = None
    favorited: bool = False
    archived: bool = False
    trashed: bool = False

    @property
    def is_media(self) -> bool:
        """Whether this describes a photo or video (an album's metadata.json has no capture
        time)."""
        return self.photo_taken_time is not None

    @property
    def taken_at(self) -> datetime | None:
        """The capture time (UTC), or None when absent or not a number."""
        stamp = self.photo_taken_time.timestamp if self.photo_taken_time else ""
        try:
            return datetime.fromtimestamp(int(stamp), UTC) if stamp else None
        except (ValueError, OverflowError, OSError):
            return None

    @property
    def location(self) -> tuple[float, float] | None:
        """Latitude and longitude in degrees: ``geoData``, else ``geoDataExif``; None when
        both are 0/0 (Takeout's "unknown") or out of range."""
        for geo in (self.geo_data, self.geo_data_exif):
            if geo is None or (geo.latitude == 0 and geo.longitude == 0):
                continue
            if -90 <= geo.latitude <= 90 and -180 <= geo.longitude <= 180:
                return geo.latitude, geo.longitude
        return None


def decode(data: bytes) -> TakeoutJson | None:
    """Decode one JSON file of the export; None when it is not a JSON object of that shape."""
    try:
        return msgspec.json.decode(data, type=TakeoutJson)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
