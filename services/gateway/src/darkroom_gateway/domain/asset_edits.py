"""Asset edits: the request bodies of PUT /api/assets(/{id}) and DELETE /api/assets, and how an
edit is applied (the routes are in :mod:`darkroom_gateway.domain.assets`).

Edits of description, rating, capture time and location are stored in ``asset_exif`` (created
when the metadata service has not written it yet); capture time edits also move the asset's
``local_date_time`` (its timeline month) and ``file_created_at``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from darkroom_db import albums, assets

from darkroom_gateway.deps import Deps
from darkroom_gateway.errors import BadRequest

Visibility = Literal["archive", "timeline", "hidden", "locked"]
Latitude = Annotated[float, msgspec.Meta(ge=-90, le=90)]
Longitude = Annotated[float, msgspec.Meta(ge=-180, le=180)]
Rating = Annotated[int, msgspec.Meta(ge=-1, le=5)]
UNSET = msgspec.UNSET
Unset = msgspec.UnsetType


class UpdateAsset(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: UpdateAssetDto (absent fields are left as they are)."""

    is_favorite: bool | Unset = UNSET
    visibility: Visibility | Unset = UNSET
    description: str | Unset = UNSET
    date_time_original: str | Unset = UNSET
    latitude: Latitude | Unset = UNSET
    longitude: Longitude | Unset = UNSET
    rating: Rating | None | Unset = UNSET
    live_photo_video_id: uuid.UUID | None | Unset = UNSET


class BulkUpdate(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: AssetBulkUpdateDto."""

    ids: list[uuid.UUID]
    is_favorite: bool | Unset = UNSET
    visibility: Visibility | Unset = UNSET
    description: str | Unset = UNSET
    date_time_original: str | Unset = UNSET
    date_time_relative: int | Unset = UNSET
    time_zone: str | Unset = UNSET
    latitude: Latitude | Unset = UNSET
    longitude: Longitude | Unset = UNSET
    rating: Rating | None | Unset = UNSET
    duplicate_id: str | None | Unset = UNSET


class BulkDelete(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: AssetBulkDeleteDto: trash by default, delete for good with ``force``."""

    ids: list[uuid.UUID]
    force: bool = False


class AssetStats(msgspec.Struct, frozen=True):
    """Spec: AssetStatsResponseDto."""

    images: int
    videos: int
    total: int


class CaptureTime(msgspec.Struct, frozen=True, kw_only=True):
    """A capture time edit resolved: the instant, the wall clock (as UTC) and the zone label."""

    instant: datetime
    local: datetime
    zone: str | None


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise BadRequest(f"Invalid time zone {name!r}") from exc


def _offset_label(offset: timedelta) -> str:
    """A UTC offset's zone name as Immich stores it (and the metadata service does): luxon's
    fixed-offset name, ``UTC+9``, ``UTC-4``, ``UTC+5:30``, ``UTC`` (asset.service
    ``updateExif``: ``extractTimeZone(dateTimeOriginal)?.name``)."""
    minutes = int(offset.total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def capture_time(value: str, time_zone: str | None = None) -> CaptureTime:
    """Resolve a ``dateTimeOriginal`` edit (ISO 8601, with or without an offset).

    With ``time_zone`` (IANA) a value without offset is a wall-clock time in that zone and one
    with an offset is shown in that zone; without it, an offset is kept as given and a value
    without offset is taken as UTC (as Immich does for files without a zone).

    Raises:
        BadRequest: Not a date-time, or an unknown zone.
    """
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadRequest("dateTimeOriginal must be an ISO 8601 date-time") from exc
    label: str | None
    if time_zone:
        zone = _zone(time_zone)
        aware = parsed.replace(tzinfo=zone) if parsed.tzinfo is None else parsed.astimezone(zone)
        label = time_zone
    elif parsed.tzinfo is not None:
        aware = parsed
        label = _offset_label(parsed.utcoffset() or timedelta())
    else:
        aware = parsed.replace(tzinfo=UTC)
        label = None
    return CaptureTime(
        instant=aware.astimezone(UTC),
        local=aware.replace(tzinfo=None).replace(tzinfo=UTC),
        zone=label,
    )


def _rating(value: int | None | Unset) -> int | None | Unset:
    """0 meant "unrated" before Immich v3; it is taken as null rather than refused."""
    return None if value == 0 else value


async def apply_edits(
    deps: Deps,
    owner_id: uuid.UUID,
    ids: list[uuid.UUID],
    *,
    is_favorite: bool | Unset,
    visibility: Visibility | Unset,
    description: str | Unset,
    date_time_original: str | Unset,
    time_zone: str | Unset,
    shift_minutes: int | Unset,
    latitude: float | Unset,
    longitude: float | Unset,
    rating: int | None | Unset,
) -> None:
    """Apply one edit to ``owner_id``'s assets ``ids`` in one transaction.

    Raises:
        BadRequest: Invalid date-time or zone, or only one of latitude/longitude.
    """
    if (latitude is UNSET) != (longitude is UNSET):
        raise BadRequest("latitude and longitude must be given together")
    when = None
    if date_time_original is not UNSET:
        when = capture_time(date_time_original, time_zone or None)
    zone_only = None
    if when is None and time_zone is not UNSET and time_zone:
        _zone(time_zone)
        zone_only = time_zone
    exif_edit = assets.ExifEdit(
        description=description,
        rating=_rating(rating),
        latitude=latitude,
        longitude=longitude,
        date_time_original=when.instant if when else UNSET,
        time_zone=when.zone if when else (zone_only if zone_only else UNSET),
    )
    shift = 0 if shift_minutes is UNSET else shift_minutes
    async with deps.pool.acquire() as conn, conn.transaction():
        if visibility == "locked":  # a locked asset is never shared (Immich's updateAll)
            await albums.remove_from_every_album(conn, owner_id, ids)
        await assets.update_assets(
            conn,
            owner_id,
            ids,
            is_favorite=None if is_favorite is UNSET else is_favorite,
            visibility=None if visibility is UNSET else visibility,
            local_date_time=when.local if when else None,
            file_created_at=when.instant if when else None,
            shift_minutes=shift or None,
            time_zone=zone_only,
        )
        await assets.edit_exif(conn, owner_id, ids, exif_edit, shift_minutes=shift or None)
