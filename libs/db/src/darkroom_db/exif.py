"""Repository: asset_exif, one row per asset (upserted whole by metadata extraction).

The fields an owner edited are locked (``asset_exif.locked_properties``, as Immich's
``lockedProperties``): extraction writes every other column and leaves those as the user set them.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg
import msgspec


class Exif(msgspec.Struct, frozen=True, kw_only=True):
    """A row of ``asset_exif`` (all optional: files carry what they carry)."""

    make: str | None = None
    model: str | None = None
    lens_model: str | None = None
    exif_image_width: int | None = None
    exif_image_height: int | None = None
    file_size_in_byte: int | None = None
    orientation: str | None = None
    date_time_original: datetime | None = None
    modify_date: datetime | None = None
    time_zone: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    description: str = ""
    rating: int | None = None
    projection_type: str | None = None
    f_number: float | None = None
    focal_length: float | None = None
    iso: int | None = None
    exposure_time: str | None = None
    live_photo_cid: str | None = None
    fps: float | None = None
    duration_s: float | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    bitrate: int | None = None
    rotation: int | None = None


_COLS = list(Exif.__struct_fields__)

#: The columns an owner can edit (PUT /api/assets): an edit locks them against extraction.
#: Immich's lockable properties (``asset_exif."lockedProperties"``: description, dateTimeOriginal,
#: latitude, longitude, rating, timeZone), named by their column here.
LOCKABLE = ("description", "rating", "latitude", "longitude", "date_time_original", "time_zone")

#: Columns that stay with a locked column: the place named by a locked location.
_LOCKED_WITH = {"city": "latitude", "state": "latitude", "country": "latitude"}


def _update_clause(column: str) -> str:
    """``column = ...`` of the upsert: the extracted value unless the column is locked."""
    lock = column if column in LOCKABLE else _LOCKED_WITH.get(column)
    if lock is None:
        return f"{column} = excluded.{column}"
    return (
        f"{column} = CASE WHEN '{lock}' = ANY(asset_exif.locked_properties) "
        f"THEN asset_exif.{column} ELSE excluded.{column} END"
    )


async def upsert_exif(
    pool: asyncpg.Pool | asyncpg.Connection, asset_id: uuid.UUID, owner_id: uuid.UUID, exif: Exif
) -> None:
    """Insert or replace the EXIF row of an asset (idempotent), keeping the owner's edits.

    A column in the row's ``locked_properties`` (:data:`LOCKABLE`, set by
    :func:`darkroom_db.assets.edit_exif`) keeps its value; a locked latitude also keeps the
    place (city, state, country) reverse-geocoded from the edited location.

    Lock order: the asset's row is locked first, then its EXIF row, as an owner's edit
    (``PUT /api/assets``: ``assets`` then ``asset_exif``) takes them; the other order deadlocked
    an edit made while the asset's metadata was being extracted (an importer setting the date
    right after its upload).

    Args:
        pool: Pool or connection (inside the extraction's transaction).
        asset_id: The asset.
        owner_id: Its owner.
        exif: What extraction read from the file.
    """
    values = [getattr(exif, c) for c in _COLS]
    placeholders = ", ".join(f"${i + 3}" for i in range(len(_COLS)))
    updates = ", ".join(_update_clause(c) for c in _COLS)
    await pool.execute("SELECT 1 FROM assets WHERE id = $1 FOR UPDATE", asset_id)
    await pool.execute(
        f"INSERT INTO asset_exif (asset_id, owner_id, {', '.join(_COLS)}) "
        f"VALUES ($1, $2, {placeholders}) ON CONFLICT (asset_id) DO UPDATE SET {updates}, "
        "updated_at = now()",
        asset_id,
        owner_id,
        *values,
    )


async def get_exif(pool: asyncpg.Pool, owner_id: uuid.UUID, asset_id: uuid.UUID) -> Exif | None:
    """The EXIF row of ``owner_id``'s asset, or None when not extracted yet."""
    row = await pool.fetchrow(
        f"SELECT {', '.join(_COLS)} FROM asset_exif WHERE asset_id = $1 AND owner_id = $2",
        asset_id,
        owner_id,
    )
    return None if row is None else Exif(**dict(row))


async def location_without_place(
    pool: asyncpg.Pool | asyncpg.Connection, asset_id: uuid.UUID
) -> tuple[float, float] | None:
    """The (latitude, longitude) of an asset that has a location but no place, else None.

    That is an asset whose location was edited (:func:`darkroom_db.assets.edit_exif` clears
    the place) and not reverse-geocoded since; or a point with no known place near it.
    """
    row = await pool.fetchrow(
        "SELECT latitude, longitude FROM asset_exif WHERE asset_id = $1 "
        "AND latitude IS NOT NULL AND longitude IS NOT NULL "
        "AND city IS NULL AND state IS NULL AND country IS NULL",
        asset_id,
    )
    return None if row is None else (row["latitude"], row["longitude"])


async def set_place(
    pool: asyncpg.Pool | asyncpg.Connection,
    asset_id: uuid.UUID,
    *,
    latitude: float,
    longitude: float,
    city: str | None,
    state: str | None,
    country: str | None,
) -> bool:
    """Name the place of an asset's location, unless the location changed meanwhile.

    Args:
        pool: Pool or connection.
        asset_id: The asset.
        latitude: The latitude the place was found for (degrees).
        longitude: The longitude the place was found for (degrees).
        city: Place name.
        state: First-level division.
        country: Country name.

    Returns:
        False when the row's location is no longer (``latitude``, ``longitude``): a later edit
        won, and its own reverse-geocoding names it.
    """
    status = await pool.execute(
        "UPDATE asset_exif SET city = $4, state = $5, country = $6, updated_at = now() "
        "WHERE asset_id = $1 AND latitude = $2 AND longitude = $3",
        asset_id,
        latitude,
        longitude,
        city,
        state,
        country,
    )
    return status.split()[-1] != "0"
