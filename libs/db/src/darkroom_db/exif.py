"""Repository: asset_exif, one row per asset (upserted whole by metadata extraction)."""

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


async def upsert_exif(
    pool: asyncpg.Pool | asyncpg.Connection, asset_id: uuid.UUID, owner_id: uuid.UUID, exif: Exif
) -> None:
    """Insert or replace the EXIF row of an asset (idempotent)."""
    values = [getattr(exif, c) for c in _COLS]
    placeholders = ", ".join(f"${i + 3}" for i in range(len(_COLS)))
    updates = ", ".join(f"{c} = excluded.{c}" for c in _COLS)
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
