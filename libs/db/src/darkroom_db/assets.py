"""Repository: assets, derived files (asset_files) and pipeline state (asset_job_status).

Reads made for a user take ``owner_id`` and filter by it; reads made by pipeline workers (which act
for the system) are named ``*_for_worker``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

import asyncpg
import msgspec

FileType = Literal["preview", "thumbnail", "encoded_video", "sidecar"]
Step = Literal["metadata_extracted", "thumbnail", "transcoded", "embedding", "faces"]
#: The service (durable consumer name) that performs each step; a failure is recorded under it.
SERVICE_OF_STEP: dict[str, str] = {
    "metadata_extracted": "metadata",
    "thumbnail": "thumbnail",
    "transcoded": "transcode",
    "embedding": "embedding",
    "faces": "face",
}


class Asset(msgspec.Struct, frozen=True, kw_only=True):
    """A row of ``assets``; ``checksum`` is the raw 20-byte SHA-1."""

    id: uuid.UUID
    owner_id: uuid.UUID
    device_asset_id: str
    device_id: str
    type: str
    status: str
    visibility: str
    original_path: str
    original_file_name: str
    original_mime_type: str
    checksum: bytes
    file_size: int
    file_created_at: datetime
    file_modified_at: datetime
    local_date_time: datetime
    is_favorite: bool
    is_offline: bool
    is_external: bool
    live_photo_video_id: uuid.UUID | None
    duration_ms: int | None
    thumbhash: bytes | None
    width: int | None
    height: int | None
    sidecar_path: str | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class AssetFile(msgspec.Struct, frozen=True, kw_only=True):
    """A row of ``asset_files``: one derived file of an asset."""

    asset_id: uuid.UUID
    owner_id: uuid.UUID
    type: str
    path: str
    mime_type: str
    width: int | None
    height: int | None
    size: int | None
    updated_at: datetime


class JobStatus(msgspec.Struct, frozen=True, kw_only=True):
    """A row of ``asset_job_status``."""

    asset_id: uuid.UUID
    owner_id: uuid.UUID
    metadata_extracted_at: datetime | None
    thumbnail_at: datetime | None
    transcoded_at: datetime | None
    embedding_at: datetime | None
    faces_at: datetime | None
    failed_step: str | None
    failed_reason: str | None
    failed_at: datetime | None


_ASSET_COLS = ", ".join(Asset.__struct_fields__)
_FILE_COLS = ", ".join(AssetFile.__struct_fields__)
_STATUS_COLS = ", ".join(JobStatus.__struct_fields__)


def _asset(row: asyncpg.Record | None) -> Asset | None:
    return None if row is None else Asset(**dict(row))


class NewAsset(msgspec.Struct, frozen=True, kw_only=True):
    """What ingest knows when it creates an asset."""

    id: uuid.UUID
    owner_id: uuid.UUID
    device_asset_id: str
    device_id: str
    type: str
    original_path: str
    original_file_name: str
    original_mime_type: str
    checksum: bytes
    file_size: int
    file_created_at: datetime
    file_modified_at: datetime
    is_favorite: bool = False
    duration_ms: int | None = None
    sidecar_path: str | None = None


async def insert_asset(conn: asyncpg.Connection | asyncpg.Pool, new: NewAsset) -> Asset | None:
    """Insert an asset and its empty job status, unless (owner, checksum) exists already.

    ``local_date_time`` starts as ``file_created_at`` and is corrected by metadata extraction.

    Returns:
        The new row, or None when the owner already has an asset with this checksum (the caller
        then answers "duplicate").
    """
    row = await conn.fetchrow(
        f"""WITH ins AS (
              INSERT INTO assets (id, owner_id, device_asset_id, device_id, type, original_path,
                original_file_name, original_mime_type, checksum, file_size, file_created_at,
                file_modified_at, local_date_time, is_favorite, duration_ms, sidecar_path)
              VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $11, $13, $14, $15)
              ON CONFLICT (owner_id, checksum) DO NOTHING
              RETURNING {_ASSET_COLS}),
            st AS (INSERT INTO asset_job_status (asset_id, owner_id)
                   SELECT id, owner_id FROM ins)
            SELECT * FROM ins""",
        new.id,
        new.owner_id,
        new.device_asset_id,
        new.device_id,
        new.type,
        new.original_path,
        new.original_file_name,
        new.original_mime_type,
        new.checksum,
        new.file_size,
        new.file_created_at,
        new.file_modified_at,
        new.is_favorite,
        new.duration_ms,
        new.sidecar_path,
    )
    return _asset(row)


async def find_by_checksum(
    pool: asyncpg.Pool, owner_id: uuid.UUID, checksum: bytes
) -> tuple[uuid.UUID, bool] | None:
    """(asset id, is trashed) of ``owner_id``'s asset with this SHA-1, or None."""
    row = await pool.fetchrow(
        "SELECT id, status = 'trashed' AS trashed FROM assets "
        "WHERE owner_id = $1 AND checksum = $2",
        owner_id,
        checksum,
    )
    return None if row is None else (row["id"], row["trashed"])


async def find_by_checksums(
    pool: asyncpg.Pool, owner_id: uuid.UUID, checksums: list[bytes]
) -> dict[bytes, tuple[uuid.UUID, bool]]:
    """Map each of the given SHA-1s that ``owner_id`` already has to (asset id, is trashed)."""
    rows = await pool.fetch(
        "SELECT checksum, id, status = 'trashed' AS trashed FROM assets "
        "WHERE owner_id = $1 AND checksum = ANY($2::bytea[])",
        owner_id,
        checksums,
    )
    return {bytes(r["checksum"]): (r["id"], r["trashed"]) for r in rows}


async def get_asset(pool: asyncpg.Pool, owner_id: uuid.UUID, asset_id: uuid.UUID) -> Asset | None:
    """``owner_id``'s asset ``asset_id`` (not deleted for good), or None."""
    return _asset(
        await pool.fetchrow(
            f"SELECT {_ASSET_COLS} FROM assets WHERE id = $1 AND owner_id = $2 "
            "AND status <> 'deleted'",
            asset_id,
            owner_id,
        )
    )


async def get_asset_for_worker(pool: asyncpg.Pool, asset_id: uuid.UUID) -> Asset | None:
    """The asset ``asset_id`` whoever owns it (pipeline workers only), or None."""
    return _asset(await pool.fetchrow(f"SELECT {_ASSET_COLS} FROM assets WHERE id = $1", asset_id))


async def list_assets(
    pool: asyncpg.Pool, owner_id: uuid.UUID, *, limit: int = 1000, offset: int = 0
) -> list[Asset]:
    """``owner_id``'s active assets, newest capture first."""
    rows = await pool.fetch(
        f"SELECT {_ASSET_COLS} FROM assets WHERE owner_id = $1 AND status = 'active' "
        "ORDER BY local_date_time DESC, id LIMIT $2 OFFSET $3",
        owner_id,
        limit,
        offset,
    )
    return [Asset(**dict(r)) for r in rows]


async def update_from_metadata(
    pool: asyncpg.Pool | asyncpg.Connection,
    asset_id: uuid.UUID,
    *,
    local_date_time: datetime | None,
    file_created_at: datetime | None,
    width: int | None,
    height: int | None,
    duration_ms: int | None,
) -> None:
    """Store what metadata extraction learnt on the asset row (capture time, size, duration)."""
    await pool.execute(
        "UPDATE assets SET local_date_time = coalesce($2, local_date_time), "
        "file_created_at = coalesce($3, file_created_at), width = coalesce($4, width), "
        "height = coalesce($5, height), duration_ms = coalesce($6, duration_ms), "
        "updated_at = now() "
        "WHERE id = $1",
        asset_id,
        local_date_time,
        file_created_at,
        width,
        height,
        duration_ms,
    )


async def set_thumbhash(
    pool: asyncpg.Pool | asyncpg.Connection, asset_id: uuid.UUID, thumbhash: bytes
) -> None:
    """Store the asset's thumbhash (raw bytes)."""
    await pool.execute(
        "UPDATE assets SET thumbhash = $2, updated_at = now() WHERE id = $1", asset_id, thumbhash
    )


async def upsert_file(
    pool: asyncpg.Pool | asyncpg.Connection,
    *,
    asset_id: uuid.UUID,
    owner_id: uuid.UUID,
    type: FileType,
    path: str,
    mime_type: str,
    width: int | None = None,
    height: int | None = None,
    size: int | None = None,
) -> None:
    """Insert or replace the ``type`` file of an asset (idempotent)."""
    await pool.execute(
        "INSERT INTO asset_files (id, asset_id, owner_id, type, path, mime_type, width, height, "
        "size) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (asset_id, type) DO UPDATE "
        "SET path = excluded.path, mime_type = excluded.mime_type, width = excluded.width, "
        "height = excluded.height, size = excluded.size, updated_at = now()",
        uuid.uuid4(),
        asset_id,
        owner_id,
        type,
        path,
        mime_type,
        width,
        height,
        size,
    )


async def get_file(
    pool: asyncpg.Pool, owner_id: uuid.UUID, asset_id: uuid.UUID, type: FileType
) -> AssetFile | None:
    """The ``type`` file of ``owner_id``'s asset, or None."""
    row = await pool.fetchrow(
        f"SELECT {_FILE_COLS} FROM asset_files WHERE asset_id = $1 AND owner_id = $2 AND type = $3",
        asset_id,
        owner_id,
        type,
    )
    return None if row is None else AssetFile(**dict(row))


async def mark_step_done(
    pool: asyncpg.Pool | asyncpg.Connection, asset_id: uuid.UUID, step: Step
) -> None:
    """Record that pipeline ``step`` finished for the asset.

    Idempotent; clears a failure recorded by the service of that step (:data:`SERVICE_OF_STEP`).

    Raises:
        ValueError: ``step`` is not a pipeline step.
    """
    service = SERVICE_OF_STEP.get(step)
    if service is None:
        raise ValueError(f"unknown pipeline step {step!r}")
    await pool.execute(
        f"UPDATE asset_job_status SET {step}_at = now(), updated_at = now(), "
        "failed_step = CASE WHEN failed_step = $2 THEN NULL ELSE failed_step END, "
        "failed_reason = CASE WHEN failed_step = $2 THEN NULL ELSE failed_reason END, "
        "failed_at = CASE WHEN failed_step = $2 THEN NULL ELSE failed_at END "
        "WHERE asset_id = $1",
        asset_id,
        service,
    )


async def mark_failed(
    pool: asyncpg.Pool | asyncpg.Connection, asset_id: uuid.UUID, *, step: str, reason: str
) -> None:
    """Record that ``step`` gave up on the asset with a readable ``reason``."""
    await pool.execute(
        "UPDATE asset_job_status SET failed_step = $2, failed_reason = $3, failed_at = now(), "
        "updated_at = now() WHERE asset_id = $1",
        asset_id,
        step,
        reason,
    )


async def get_job_status(pool: asyncpg.Pool, asset_id: uuid.UUID) -> JobStatus | None:
    """The pipeline state of an asset, or None."""
    row = await pool.fetchrow(
        f"SELECT {_STATUS_COLS} FROM asset_job_status WHERE asset_id = $1", asset_id
    )
    return None if row is None else JobStatus(**dict(row))


async def count_steps_done(pool: asyncpg.Pool, step: Step) -> int:
    """Number of assets for which pipeline ``step`` has finished.

    Raises:
        ValueError: ``step`` is not a pipeline step.
    """
    if step not in SERVICE_OF_STEP:
        raise ValueError(f"unknown pipeline step {step!r}")
    return int(
        await pool.fetchval(f"SELECT count(*) FROM asset_job_status WHERE {step}_at IS NOT NULL")
    )
