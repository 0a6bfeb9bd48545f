"""Repository: assets, derived files (asset_files) and pipeline state (asset_job_status).

Reads made for a user take ``owner_id`` and filter by it; reads made by pipeline workers (which act
for the system) are named ``*_for_worker``.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal

import asyncpg
import msgspec

FileType = Literal[
    "preview",
    "thumbnail",
    "encoded_video",
    "sidecar",
    "fullsize",
    "edited_preview",
    "edited_thumbnail",
    "edited_fullsize",
    "hls",
]
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
    #: Near-duplicate group (migration 0006), set by the embedding service; None when unique.
    duplicate_id: uuid.UUID | None = None
    #: The stack it is in (migration 0019), or None.
    stack_id: uuid.UUID | None = None
    #: The external library it was imported from (migration 0027), or None for an upload.
    library_id: uuid.UUID | None = None


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
    visibility: str = "timeline"


async def insert_asset(
    conn: asyncpg.Connection | asyncpg.Pool, new: NewAsset, *, library_id: uuid.UUID | None = None
) -> Asset | None:
    """Insert an asset and its empty job status, unless it exists already.

    An upload (``library_id`` None) exists when its owner has an uploaded asset with this
    checksum; an external-library file (``library_id`` set: ``is_external``, the file read in
    place at ``original_path``) exists when its library has an asset at this path (a redelivered
    scan batch, or two scans at once). As Immich, library files and uploads do not count as
    each other's duplicates (migration 0027).

    ``local_date_time`` starts as ``file_created_at`` and is corrected by metadata extraction.

    Returns:
        The new row, or None when it exists already (an upload then answers "duplicate").
    """
    conflict = (
        "(owner_id, checksum) WHERE library_id IS NULL"
        if library_id is None
        else "(library_id, original_path) WHERE library_id IS NOT NULL"
    )
    row = await conn.fetchrow(
        f"""WITH ins AS (
              INSERT INTO assets (id, owner_id, device_asset_id, device_id, type, original_path,
                original_file_name, original_mime_type, checksum, file_size, file_created_at,
                file_modified_at, local_date_time, is_favorite, duration_ms, sidecar_path,
                is_external, library_id, visibility)
              VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $11, $13, $14, $15,
                $16::uuid IS NOT NULL, $16, $17)
              ON CONFLICT {conflict} DO NOTHING
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
        library_id,
        new.visibility,
    )
    return _asset(row)


async def find_by_checksum(
    pool: asyncpg.Pool, owner_id: uuid.UUID, checksum: bytes
) -> tuple[uuid.UUID, bool] | None:
    """(asset id, is trashed) of ``owner_id``'s uploaded asset with this SHA-1, or None.

    External-library assets do not count: as Immich, an upload identical to a library file is
    a new asset (migration 0027).
    """
    row = await pool.fetchrow(
        "SELECT id, status = 'trashed' AS trashed FROM assets "
        "WHERE owner_id = $1 AND checksum = $2 AND library_id IS NULL",
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


async def exists_for_worker(pool: asyncpg.Pool | asyncpg.Connection, asset_id: uuid.UUID) -> bool:
    """Whether asset ``asset_id`` still exists (trashed counts; deleted for good does not)."""
    return bool(await pool.fetchval("SELECT EXISTS (SELECT 1 FROM assets WHERE id = $1)", asset_id))


async def lock_for_worker(conn: asyncpg.Connection, asset_id: uuid.UUID) -> bool:
    """Hold asset ``asset_id`` until the transaction ends, so it cannot be deleted meanwhile.

    ``SELECT ... FOR KEY SHARE`` (PostgreSQL, "Row-Level Locks"): updates of the row go on, but
    a ``DELETE`` of it waits for this transaction; once that commits, the delete sees (and its
    caller removes) whatever this transaction recorded for the asset. Run in a transaction.

    Returns:
        False when the asset is already gone (deleted for good).
    """
    row = await conn.fetchval("SELECT 1 FROM assets WHERE id = $1 FOR KEY SHARE", asset_id)
    return row is not None


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
    """Store what metadata extraction learnt on the asset row (capture time, size, duration).

    A capture time the owner edited (``date_time_original`` locked in ``asset_exif``) keeps the
    asset's ``local_date_time`` and ``file_created_at`` as the edit set them.
    """
    await pool.execute(
        "UPDATE assets SET local_date_time = CASE WHEN locked THEN local_date_time "
        "ELSE coalesce($2, local_date_time) END, "
        "file_created_at = CASE WHEN locked THEN file_created_at "
        "ELSE coalesce($3, file_created_at) END, width = coalesce($4, width), "
        "height = coalesce($5, height), duration_ms = coalesce($6, duration_ms), "
        "updated_at = now() "
        "FROM (SELECT coalesce(bool_or('date_time_original' = ANY(locked_properties)), false) "
        "AS locked FROM asset_exif WHERE asset_id = $1) AS edit "
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


async def get_files(
    pool: asyncpg.Pool, owner_id: uuid.UUID, asset_id: uuid.UUID, types: Sequence[FileType]
) -> dict[str, AssetFile]:
    """The files of ``owner_id``'s asset among ``types``, by type (missing types are absent):
    one query where :func:`get_file` per type would make one each (the thumbnail route asks for
    the edited rendering and the plain one on every tile)."""
    rows = await pool.fetch(
        f"SELECT {_FILE_COLS} FROM asset_files "
        "WHERE asset_id = $1 AND owner_id = $2 AND type = ANY($3::text[])",
        asset_id,
        owner_id,
        list(types),
    )
    return {row["type"]: AssetFile(**dict(row)) for row in rows}


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


async def never_extracted(pool: asyncpg.Pool, asset_id: uuid.UUID) -> bool:
    """Whether the asset's metadata step has neither finished nor failed: its
    ``asset.created`` may never have been published (a crash or an outage between ingest's
    commit and its publish)."""
    return bool(
        await pool.fetchval(
            "SELECT metadata_extracted_at IS NULL AND failed_step IS NULL "
            "FROM asset_job_status WHERE asset_id = $1",
            asset_id,
        )
    )


class NewFile(msgspec.Struct, frozen=True, kw_only=True):
    """A derived file of an asset to record (see :func:`store_files_done`).

    Attributes:
        type: Which file (one per type per asset).
        path: Its storage key.
        mime_type: e.g. ``"image/webp"``.
        width: Pixels, when an image or video.
        height: Pixels, when an image or video.
        size: Bytes.
    """

    type: FileType
    path: str
    mime_type: str
    width: int | None = None
    height: int | None = None
    size: int | None = None


async def store_files_done(
    pool: asyncpg.Pool | asyncpg.Connection,
    *,
    asset_id: uuid.UUID,
    owner_id: uuid.UUID,
    files: Sequence[NewFile],
    step: Step,
    thumbhash: bytes | None = None,
) -> None:
    """Upsert ``files``, set the thumbhash (when given) and mark ``step`` done, atomically.

    The same effect as :func:`upsert_file` per file, :func:`set_thumbhash` and
    :func:`mark_step_done` in one transaction, but as one statement (data-modifying CTEs), so
    one round trip and one commit. Idempotent.

    Raises:
        ValueError: ``step`` is not a pipeline step.
        asyncpg.ForeignKeyViolationError: The asset no longer exists.
    """
    service = SERVICE_OF_STEP.get(step)
    if service is None:
        raise ValueError(f"unknown pipeline step {step!r}")
    await pool.execute(
        "WITH f AS (INSERT INTO asset_files (id, asset_id, owner_id, type, path, mime_type, "
        "width, height, size) SELECT i, $1, $2, t, p, m, w, h, s "
        "FROM unnest($3::uuid[], $4::text[], $5::text[], $6::text[], $7::int[], $8::int[], "
        "$9::bigint[]) AS u(i, t, p, m, w, h, s) "
        "ON CONFLICT (asset_id, type) DO UPDATE SET path = excluded.path, "
        "mime_type = excluded.mime_type, width = excluded.width, height = excluded.height, "
        "size = excluded.size, updated_at = now()), "
        "a AS (UPDATE assets SET thumbhash = $10, updated_at = now() "
        "WHERE id = $1 AND $10::bytea IS NOT NULL) "
        f"UPDATE asset_job_status SET {step}_at = now(), updated_at = now(), "
        "failed_step = CASE WHEN failed_step = $11 THEN NULL ELSE failed_step END, "
        "failed_reason = CASE WHEN failed_step = $11 THEN NULL ELSE failed_reason END, "
        "failed_at = CASE WHEN failed_step = $11 THEN NULL ELSE failed_at END "
        "WHERE asset_id = $1",
        asset_id,
        owner_id,
        [uuid.uuid4() for _ in files],
        [f.type for f in files],
        [f.path for f in files],
        [f.mime_type for f in files],
        [f.width for f in files],
        [f.height for f in files],
        [f.size for f in files],
        thumbhash,
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


# --- lifecycle: edits, trash, deletion for good (issue 3) --------------------------------------

Visibility = Literal["archive", "timeline", "hidden", "locked"]


class ExifEdit(msgspec.Struct, frozen=True, kw_only=True):
    """User edits of an asset's EXIF row; ``UNSET`` fields are left as they are.

    ``latitude``/``longitude`` clear ``city``/``state``/``country``: the metadata service
    reverse-geocodes the new location when it hears of the edit (``darkroom.asset.updated``).
    Every field set is locked against metadata extraction (``asset_exif.locked_properties``,
    :data:`darkroom_db.exif.LOCKABLE`).
    """

    description: str | msgspec.UnsetType = msgspec.UNSET
    rating: int | None | msgspec.UnsetType = msgspec.UNSET
    latitude: float | msgspec.UnsetType = msgspec.UNSET
    longitude: float | msgspec.UnsetType = msgspec.UNSET
    date_time_original: datetime | msgspec.UnsetType = msgspec.UNSET
    time_zone: str | None | msgspec.UnsetType = msgspec.UNSET


class DeletedAsset(msgspec.Struct, frozen=True, kw_only=True):
    """An asset removed for good: its id, owner and every storage key it used."""

    id: uuid.UUID
    owner_id: uuid.UUID
    keys: list[str]


async def owned_ids(
    pool: asyncpg.Pool | asyncpg.Connection,
    owner_id: uuid.UUID,
    ids: list[uuid.UUID],
    *,
    unlocked: bool = False,
) -> set[uuid.UUID]:
    """Which of ``ids`` are assets of ``owner_id`` (trashed included).

    Args:
        pool: Pool or connection.
        owner_id: The caller.
        ids: Asset ids asked about.
        unlocked: Count the owner's locked assets too (the caller's session is unlocked with
            the PIN code); without it a locked asset is not found, as Immich's
            ``checkOwnerAccess`` without elevated permission (issue #18).
    """
    rows = await pool.fetch(
        "SELECT id FROM assets WHERE owner_id = $1 AND id = ANY($2::uuid[]) "
        "AND status <> 'deleted' AND ($3 OR visibility <> 'locked')",
        owner_id,
        ids,
        unlocked,
    )
    return {r["id"] for r in rows}


async def get_assets(pool: asyncpg.Pool, owner_id: uuid.UUID, ids: list[uuid.UUID]) -> list[Asset]:
    """``owner_id``'s assets among ``ids`` (trashed included), in no particular order."""
    rows = await pool.fetch(
        f"SELECT {_ASSET_COLS} FROM assets WHERE owner_id = $1 AND id = ANY($2::uuid[]) "
        "AND status <> 'deleted'",
        owner_id,
        ids,
    )
    return [Asset(**dict(r)) for r in rows]


async def set_duplicate_id(
    pool: asyncpg.Pool | asyncpg.Connection,
    owner_id: uuid.UUID,
    ids: list[uuid.UUID],
    duplicate_id: uuid.UUID | None,
) -> int:
    """Put ``owner_id``'s assets ``ids`` in the duplicate group ``duplicate_id`` (None: out of
    any group), as Immich's bulk asset update does with ``duplicateId``.

    Returns:
        Number of assets changed.
    """
    status = await pool.execute(
        "UPDATE assets SET duplicate_id = $3, updated_at = now() "
        "WHERE owner_id = $1 AND id = ANY($2::uuid[]) AND status <> 'deleted' "
        "AND duplicate_id IS DISTINCT FROM $3",
        owner_id,
        ids,
        duplicate_id,
    )
    return int(status.split()[-1])


async def update_assets(
    pool: asyncpg.Pool | asyncpg.Connection,
    owner_id: uuid.UUID,
    ids: list[uuid.UUID],
    *,
    is_favorite: bool | None = None,
    visibility: Visibility | None = None,
    local_date_time: datetime | None = None,
    file_created_at: datetime | None = None,
    shift_minutes: int | None = None,
    time_zone: str | None = None,
) -> int:
    """Change flags and capture time of ``owner_id``'s assets ``ids``; None leaves a field as is.

    Args:
        pool: Pool or connection (to run inside a transaction).
        owner_id: Only this user's assets are touched.
        ids: Asset ids.
        is_favorite: New favourite flag.
        visibility: New visibility.
        local_date_time: New capture wall-clock time (stored as if UTC).
        file_created_at: New capture instant.
        shift_minutes: Move both capture times by this many minutes (after the two above).
        time_zone: IANA zone: when ``local_date_time`` is None, re-derive it as the wall clock
            of the capture instant in this zone (the instant does not move).

    The hidden motion part of a live photo follows its still into the locked folder (and back
    to ``hidden`` when the still leaves it), so it is refused and unlisted wherever the still is.

    Returns:
        Number of assets updated.
    """
    if visibility is not None:
        await pool.execute(
            "UPDATE assets m SET visibility = CASE WHEN $3 = 'locked' THEN 'locked' "
            "ELSE 'hidden' END, updated_at = now() FROM assets s "
            "WHERE s.owner_id = $1 AND s.id = ANY($2::uuid[]) AND s.live_photo_video_id = m.id "
            "AND m.owner_id = $1 AND ($3 = 'locked' OR m.visibility = 'locked')",
            owner_id,
            ids,
            visibility,
        )
    status = await pool.execute(
        "UPDATE assets SET is_favorite = coalesce($3, is_favorite), "
        "visibility = coalesce($4, visibility), "
        "local_date_time = CASE WHEN $5::timestamptz IS NULL AND $8::text IS NOT NULL "
        "THEN (coalesce($6, file_created_at) AT TIME ZONE $8) AT TIME ZONE 'UTC' "
        "ELSE coalesce($5, local_date_time) END + make_interval(mins => $7), "
        "file_created_at = coalesce($6, file_created_at) + make_interval(mins => $7), "
        "updated_at = now() "
        "WHERE owner_id = $1 AND id = ANY($2::uuid[]) AND status <> 'deleted'",
        owner_id,
        ids,
        is_favorite,
        visibility,
        local_date_time,
        file_created_at,
        shift_minutes or 0,
        time_zone,
    )
    return int(status.split()[-1])


async def edit_exif(
    pool: asyncpg.Pool | asyncpg.Connection,
    owner_id: uuid.UUID,
    ids: list[uuid.UUID],
    edit: ExifEdit,
    *,
    shift_minutes: int | None = None,
) -> None:
    """Apply ``edit`` to the EXIF rows of ``owner_id``'s assets ``ids`` (created when missing).

    Args:
        pool: Pool or connection.
        owner_id: Only this user's assets are touched.
        ids: Asset ids.
        edit: The fields to set (``UNSET`` ones are kept).
        shift_minutes: Also move ``date_time_original`` by this many minutes.
    """
    sets: list[str] = []
    values: list[object] = []
    locked: list[str] = []
    for name in ExifEdit.__struct_fields__:
        value = getattr(edit, name)
        if value is not msgspec.UNSET:
            values.append("" if name == "description" and value is None else value)
            sets.append(f"{name} = ${len(values) + 2}")
            locked.append(name)
    if edit.latitude is not msgspec.UNSET or edit.longitude is not msgspec.UNSET:
        sets += ["city = NULL", "state = NULL", "country = NULL"]
    if shift_minutes:
        values.append(shift_minutes)
        sets.append(
            f"date_time_original = date_time_original + make_interval(mins => ${len(values) + 2})"
        )
        locked.append("date_time_original")
    if not sets:
        return
    values.append(sorted(set(locked)))
    sets.append(
        "locked_properties = ARRAY(SELECT DISTINCT unnest(locked_properties "
        f"|| ${len(values) + 2}::text[]) ORDER BY 1)"
    )
    await pool.execute(
        "INSERT INTO asset_exif (asset_id, owner_id) SELECT id, owner_id FROM assets "
        "WHERE owner_id = $1 AND id = ANY($2::uuid[]) ON CONFLICT (asset_id) DO NOTHING",
        owner_id,
        ids,
    )
    await pool.execute(
        f"UPDATE asset_exif SET {', '.join(sets)}, updated_at = now() "
        "WHERE owner_id = $1 AND asset_id = ANY($2::uuid[])",
        owner_id,
        ids,
        *values,
    )


async def set_live_photo_video(
    conn: asyncpg.Connection,
    owner_id: uuid.UUID,
    asset_id: uuid.UUID,
    video_id: uuid.UUID | None,
) -> bool:
    """Link (or with None, unlink) the motion part of a live photo.

    The linked video is hidden from the timeline; an unlinked one shows again. Run in a
    transaction.

    Returns:
        False when ``video_id`` is not a video of ``owner_id`` (nothing changed).
    """
    if video_id is not None:
        is_video = await conn.fetchval(
            "SELECT type = 'VIDEO' FROM assets WHERE id = $1 AND owner_id = $2 "
            "AND status <> 'deleted'",
            video_id,
            owner_id,
        )
        if not is_video or video_id == asset_id:
            return False
    old = await conn.fetchval(
        "SELECT live_photo_video_id FROM assets WHERE id = $1 AND owner_id = $2",
        asset_id,
        owner_id,
    )
    if old is not None and old != video_id:
        # the motion part shows again where its still is (Immich: it takes the still's
        # visibility), so an archived still's video goes to the archive, not the timeline
        await conn.execute(
            "UPDATE assets m SET visibility = s.visibility, updated_at = now() FROM assets s "
            "WHERE m.id = $1 AND m.owner_id = $2 AND m.visibility = 'hidden' "
            "AND s.id = $3 AND s.owner_id = $2",
            old,
            owner_id,
            asset_id,
        )
    await conn.execute(
        "UPDATE assets SET live_photo_video_id = $3, updated_at = now() "
        "WHERE id = $1 AND owner_id = $2",
        asset_id,
        owner_id,
        video_id,
    )
    if video_id is not None:
        await conn.execute(
            "UPDATE assets SET visibility = 'hidden', updated_at = now() "
            "WHERE id = $1 AND owner_id = $2",
            video_id,
            owner_id,
        )
    return True


async def trash_assets(
    pool: asyncpg.Pool | asyncpg.Connection, owner_id: uuid.UUID, ids: list[uuid.UUID]
) -> int:
    """Move ``owner_id``'s active assets ``ids`` to the trash (``deleted_at`` = now).

    Returns:
        Number of assets trashed now.
    """
    status = await pool.execute(
        "UPDATE assets SET status = 'trashed', deleted_at = now(), updated_at = now() "
        "WHERE owner_id = $1 AND id = ANY($2::uuid[]) AND status = 'active'",
        owner_id,
        ids,
    )
    return int(status.split()[-1])


async def restore_assets(
    pool: asyncpg.Pool | asyncpg.Connection,
    owner_id: uuid.UUID,
    ids: list[uuid.UUID] | None = None,
) -> int:
    """Bring ``owner_id``'s trashed assets ``ids`` (all of them when None) back.

    An offline external-library asset (its file is gone) stays in the trash, as in Immich: it
    comes back when a scan finds its file (:func:`darkroom_db.libraries.set_online`).

    Returns:
        Number of assets restored.
    """
    status = await pool.execute(
        "UPDATE assets SET status = 'active', deleted_at = NULL, updated_at = now() "
        "WHERE owner_id = $1 AND status = 'trashed' AND NOT is_offline "
        "AND ($2::uuid[] IS NULL OR id = ANY($2))",
        owner_id,
        ids,
    )
    return int(status.split()[-1])


async def trashed_ids(pool: asyncpg.Pool, owner_id: uuid.UUID, *, limit: int) -> list[uuid.UUID]:
    """Up to ``limit`` ids of ``owner_id``'s trashed assets, oldest trashed first: what
    emptying or restoring the whole trash acts on.

    Offline external-library assets (their file is gone) are left out, as Immich's
    ``TrashRepository.empty``/``restore`` touch only assets the user trashed (status
    ``trashed``, not the library scan's offline ones): they stay in the trash until a scan finds
    their file or the nightly ``trash.days`` purge removes them (Immich's trash e2e: "should not
    delete offline-trashed assets from disk", "should not restore offline-trashed assets").
    """
    rows = await pool.fetch(
        "SELECT id FROM assets WHERE owner_id = $1 AND status = 'trashed' AND NOT is_offline "
        "ORDER BY deleted_at, id LIMIT $2",
        owner_id,
        limit,
    )
    return [r["id"] for r in rows]


async def owned_asset_ids(
    pool: asyncpg.Pool, owner_id: uuid.UUID, *, limit: int
) -> list[uuid.UUID]:
    """Up to ``limit`` ids of ``owner_id``'s assets, trashed or not (a user's removal)."""
    rows = await pool.fetch(
        "SELECT id FROM assets WHERE owner_id = $1 AND status <> 'deleted' ORDER BY id LIMIT $2",
        owner_id,
        limit,
    )
    return [r["id"] for r in rows]


async def expired_trash(
    pool: asyncpg.Pool, older_than: timedelta, *, limit: int
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Up to ``limit`` (owner id, asset id) of assets trashed more than ``older_than`` ago,
    oldest first (the nightly trash purge, Immich's ``trash.days``)."""
    rows = await pool.fetch(
        "SELECT owner_id, id FROM assets WHERE status = 'trashed' "
        "AND deleted_at < now() - $1::interval ORDER BY deleted_at, id LIMIT $2",
        older_than,
        limit,
    )
    return [(r["owner_id"], r["id"]) for r in rows]


async def delete_for_good(
    pool: asyncpg.Pool | asyncpg.Connection, owner_id: uuid.UUID, ids: list[uuid.UUID]
) -> list[DeletedAsset]:
    """Remove ``owner_id``'s assets ``ids`` and everything hanging off them, in one transaction.

    An asset owns its live photo's motion video (the hidden ``live_photo_video_id``): it is
    deleted too unless another asset that stays links to it, as Immich does. Rows in
    asset_exif, asset_files, asset_job_status, job_failures, album_assets, smart_search,
    asset_ocr, asset_faces (and their face_search rows) go with the asset (ON DELETE
    CASCADE); one ``asset_audit`` row per asset records the deletion. The caller deletes the
    returned storage keys afterwards (objects outlive rows on failure, never the reverse).
    A pipeline job that is storing files for one of these assets holds its row
    (:func:`lock_for_worker`), so this waits for it and returns its files too.

    Args:
        pool: Database; a connection runs it inside the caller's transaction (whose outbox
            then carries the ``asset.deleted`` events, :mod:`darkroom_runtime.outbox`).
        owner_id: The owner.
        ids: The assets.

    Returns:
        The deleted assets (motion videos included) with their storage keys (original,
        sidecar, derived files).
    """
    async with contextlib.AsyncExitStack() as stack:
        conn = (
            await stack.enter_async_context(pool.acquire())
            if isinstance(pool, asyncpg.Pool)
            else pool
        )
        await stack.enter_async_context(conn.transaction())
        motion = await conn.fetch(
            "SELECT DISTINCT s.live_photo_video_id AS id FROM assets s "
            "WHERE s.owner_id = $1 AND s.id = ANY($2::uuid[]) "
            "AND s.live_photo_video_id IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM assets o WHERE o.live_photo_video_id = "
            "s.live_photo_video_id AND NOT (o.id = ANY($2::uuid[])))",
            owner_id,
            ids,
        )
        ids = list(dict.fromkeys([*ids, *(r["id"] for r in motion)]))
        rows = await conn.fetch(
            "DELETE FROM assets a WHERE owner_id = $1 AND id = ANY($2::uuid[]) "
            "RETURNING id, owner_id, original_path, sidecar_path, is_external, "
            "(SELECT coalesce(array_agg(f.path), '{}') FROM asset_files f "
            " WHERE f.asset_id = a.id) AS files",
            owner_id,
            ids,
        )
        if rows:
            await conn.execute(
                "INSERT INTO asset_audit (asset_id, owner_id) SELECT unnest($1::uuid[]), $2",
                [r["id"] for r in rows],
                owner_id,
            )
    deleted = []
    for r in rows:
        keys = list(r["files"])
        if not r["is_external"]:  # files of external libraries are the user's, never ours
            keys.append(r["original_path"])
            if r["sidecar_path"]:
                keys.append(r["sidecar_path"])
        deleted.append(DeletedAsset(id=r["id"], owner_id=r["owner_id"], keys=keys))
    return deleted


async def statistics(
    pool: asyncpg.Pool,
    owner_id: uuid.UUID,
    *,
    is_favorite: bool | None = None,
    is_trashed: bool | None = None,
    visibility: Visibility | None = None,
) -> tuple[int, int, int]:
    """(images, videos, total) of ``owner_id``'s assets.

    Args:
        pool: Pool.
        owner_id: Whose assets.
        is_favorite: Only favourites (True) or only others (False); None: both.
        is_trashed: Count the trash instead of the library when True.
        visibility: Only this visibility; None: archive and timeline (Immich's default).
    """
    row = await pool.fetchrow(
        "SELECT count(*) FILTER (WHERE type = 'IMAGE') AS images, "
        "count(*) FILTER (WHERE type = 'VIDEO') AS videos, count(*) AS total "
        "FROM assets WHERE owner_id = $1 AND status = $2 "
        "AND visibility = ANY($3::text[]) AND ($4::boolean IS NULL OR is_favorite = $4)",
        owner_id,
        "trashed" if is_trashed else "active",
        [visibility] if visibility else ["archive", "timeline"],
        is_favorite,
    )
    return int(row["images"]), int(row["videos"]), int(row["total"])


#: The ``assets`` columns that make an :class:`Asset`, comma-separated (for other repositories).
ASSET_COLUMNS = _ASSET_COLS


# --- video: transcode progress and decision, live photos (issue 6) -----------------------------


async def set_transcode_progress(
    pool: asyncpg.Pool | asyncpg.Connection, asset_id: uuid.UUID, percent: float
) -> None:
    """Store how far the running transcode of an asset is (percent, 0..100)."""
    await pool.execute(
        "UPDATE asset_job_status SET transcode_progress = $2, updated_at = now() "
        "WHERE asset_id = $1",
        asset_id,
        percent,
    )


async def record_transcode_decision(
    pool: asyncpg.Pool | asyncpg.Connection, asset_id: uuid.UUID, decision: str
) -> None:
    """Store what the transcode service decided ("transcoded", "skipped: <why>")."""
    await pool.execute(
        "UPDATE asset_job_status SET transcode_decision = $2, updated_at = now() "
        "WHERE asset_id = $1",
        asset_id,
        decision,
    )


async def transcode_state(
    pool: asyncpg.Pool | asyncpg.Connection, asset_id: uuid.UUID
) -> tuple[datetime | None, datetime | None, float | None, str | None]:
    """(metadata_extracted_at, transcoded_at, transcode_progress, transcode_decision) of an
    asset; all None when it has no job status row."""
    row = await pool.fetchrow(
        "SELECT metadata_extracted_at, transcoded_at, transcode_progress, transcode_decision "
        "FROM asset_job_status WHERE asset_id = $1",
        asset_id,
    )
    if row is None:
        return None, None, None, None
    return (
        row["metadata_extracted_at"],
        row["transcoded_at"],
        row["transcode_progress"],
        row["transcode_decision"],
    )


async def delete_file(
    pool: asyncpg.Pool | asyncpg.Connection, asset_id: uuid.UUID, type: FileType
) -> str | None:
    """Remove the ``type`` file row of an asset (pipeline workers); returns its storage key."""
    return await pool.fetchval(
        "DELETE FROM asset_files WHERE asset_id = $1 AND type = $2 RETURNING path", asset_id, type
    )


async def live_photo_partners(
    conn: asyncpg.Connection, owner_id: uuid.UUID, asset_id: uuid.UUID, cid: str, type: str
) -> list[uuid.UUID]:
    """``owner_id``'s other assets of ``type`` ("IMAGE"/"VIDEO") sharing the live-photo content
    identifier ``cid`` (asset_exif.live_photo_cid), oldest first."""
    rows = await conn.fetch(
        "SELECT a.id FROM assets a JOIN asset_exif e ON e.asset_id = a.id "
        "WHERE a.owner_id = $1 AND a.id <> $2 AND e.live_photo_cid = $3 AND a.type = $4 "
        "AND a.status <> 'deleted' ORDER BY a.created_at, a.id",
        owner_id,
        asset_id,
        cid,
        type,
    )
    return [r["id"] for r in rows]
