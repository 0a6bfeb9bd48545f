"""Repository: external libraries (migration 0027) and the assets a scan makes of their files.

A library belongs to a user (``owner_id``); its assets have ``library_id``, ``is_external`` and
the file's absolute path as ``original_path`` (read in place through
:mod:`darkroom_storage.external`). Library management is for admins (the gateway checks), so the
functions here take a library id, not a caller.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime

import asyncpg
import msgspec

from darkroom_db.assets import ASSET_COLUMNS, Asset


class Library(msgspec.Struct, frozen=True, kw_only=True):
    """A row of ``libraries`` (Immich's LibraryResponseDto without ``assetCount``)."""

    id: uuid.UUID
    owner_id: uuid.UUID
    name: str
    import_paths: list[str]
    exclusion_patterns: list[str]
    created_at: datetime
    updated_at: datetime
    refreshed_at: datetime | None


class Stats(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: LibraryStatsResponseDto (assets not deleted for good; ``usage`` in bytes)."""

    photos: int
    videos: int
    total: int
    usage: int


class KnownFile(msgspec.Struct, frozen=True, kw_only=True):
    """What a scan compares with the file on disk: the asset of one path."""

    id: uuid.UUID
    original_path: str
    file_size: int
    file_modified_at: datetime
    is_offline: bool
    status: str
    sidecar_path: str | None


_COLS = ", ".join(Library.__struct_fields__)


def _library(row: asyncpg.Record | None) -> Library | None:
    if row is None:
        return None
    return Library(
        **{
            **dict(row),
            "import_paths": list(row["import_paths"]),
            "exclusion_patterns": list(row["exclusion_patterns"]),
        }
    )


async def create(
    pool: asyncpg.Pool,
    *,
    owner_id: uuid.UUID,
    name: str,
    import_paths: Sequence[str],
    exclusion_patterns: Sequence[str],
) -> Library:
    """Insert a library and return it."""
    row = await pool.fetchrow(
        f"INSERT INTO libraries (id, owner_id, name, import_paths, exclusion_patterns) "
        f"VALUES ($1, $2, $3, $4, $5) RETURNING {_COLS}",
        uuid.uuid4(),
        owner_id,
        name,
        list(import_paths),
        list(exclusion_patterns),
    )
    library = _library(row)
    assert library is not None
    return library


async def get(pool: asyncpg.Pool, library_id: uuid.UUID) -> Library | None:
    """The library ``library_id``, or None."""
    return _library(await pool.fetchrow(f"SELECT {_COLS} FROM libraries WHERE id = $1", library_id))


async def list_all(pool: asyncpg.Pool) -> list[Library]:
    """Every library, oldest first."""
    rows = await pool.fetch(f"SELECT {_COLS} FROM libraries ORDER BY created_at, id")
    return [lib for lib in map(_library, rows) if lib is not None]


async def update(
    pool: asyncpg.Pool,
    library_id: uuid.UUID,
    *,
    name: str | None = None,
    import_paths: Sequence[str] | None = None,
    exclusion_patterns: Sequence[str] | None = None,
) -> Library | None:
    """Change the given fields (None leaves one as it is); None when there is no such library."""
    row = await pool.fetchrow(
        f"UPDATE libraries SET name = coalesce($2, name), "
        f"import_paths = coalesce($3, import_paths), "
        f"exclusion_patterns = coalesce($4, exclusion_patterns), updated_at = now() "
        f"WHERE id = $1 RETURNING {_COLS}",
        library_id,
        name,
        None if import_paths is None else list(import_paths),
        None if exclusion_patterns is None else list(exclusion_patterns),
    )
    return _library(row)


async def mark_refreshed(pool: asyncpg.Pool, library_id: uuid.UUID) -> None:
    """Set ``refreshed_at`` to now (a scan has walked the library)."""
    await pool.execute("UPDATE libraries SET refreshed_at = now() WHERE id = $1", library_id)


async def delete(pool: asyncpg.Pool | asyncpg.Connection, library_id: uuid.UUID) -> bool:
    """Delete the library row (its assets must be purged first); False when there was none."""
    status = await pool.execute("DELETE FROM libraries WHERE id = $1", library_id)
    return status.endswith(" 1")


async def asset_counts(
    pool: asyncpg.Pool, library_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """Assets (not deleted for good) per library, for ``assetCount``."""
    rows = await pool.fetch(
        "SELECT library_id, count(*) AS n FROM assets WHERE library_id = ANY($1::uuid[]) "
        "AND status <> 'deleted' GROUP BY library_id",
        list(library_ids),
    )
    return {r["library_id"]: r["n"] for r in rows}


async def stats(pool: asyncpg.Pool, library_id: uuid.UUID) -> Stats:
    """Photos, videos, total and bytes of the library's assets (not deleted for good)."""
    row = await pool.fetchrow(
        "SELECT count(*) FILTER (WHERE type = 'IMAGE') AS photos, "
        "count(*) FILTER (WHERE type = 'VIDEO') AS videos, count(*) AS total, "
        "coalesce(sum(file_size), 0)::bigint AS usage "
        "FROM assets WHERE library_id = $1 AND status <> 'deleted'",
        library_id,
    )
    assert row is not None
    return Stats(**dict(row))


async def asset_ids(
    pool: asyncpg.Pool | asyncpg.Connection, library_id: uuid.UUID, *, limit: int | None = None
) -> list[uuid.UUID]:
    """Up to ``limit`` (None: every one) ids of the library's assets, for deleting the library
    in batches."""
    rows = await pool.fetch(
        "SELECT id FROM assets WHERE library_id = $1 ORDER BY id LIMIT $2", library_id, limit
    )
    return [r["id"] for r in rows]


async def lock(conn: asyncpg.Connection, library_id: uuid.UUID) -> bool:
    """Lock the library row for the rest of ``conn``'s transaction (``FOR UPDATE``): it waits
    for transactions inserting assets into the library (whose foreign key check holds the row
    ``FOR KEY SHARE``) and makes new ones wait until it ends. False when there is no row."""
    found = await conn.fetchval("SELECT true FROM libraries WHERE id = $1 FOR UPDATE", library_id)
    return bool(found)


async def known_files(
    pool: asyncpg.Pool, library_id: uuid.UUID, paths: Sequence[str]
) -> dict[str, KnownFile]:
    """The library's assets at ``paths`` (not deleted for good), by path."""
    rows = await pool.fetch(
        "SELECT id, original_path, file_size, file_modified_at, is_offline, status, sidecar_path "
        "FROM assets WHERE library_id = $1 AND original_path = ANY($2::text[]) "
        "AND status <> 'deleted'",
        library_id,
        list(paths),
    )
    return {r["original_path"]: KnownFile(**dict(r)) for r in rows}


async def iter_paths(
    pool: asyncpg.Pool, library_id: uuid.UUID, *, batch: int
) -> AsyncIterator[list[str]]:
    """Every asset path of the library, ``batch`` at a time in path order (keyset pages, so a
    library of any size is never held in memory)."""
    after = ""
    while True:
        rows = await pool.fetch(
            "SELECT original_path FROM assets WHERE library_id = $1 AND original_path > $2 "
            "AND status <> 'deleted' ORDER BY original_path LIMIT $3",
            library_id,
            after,
            batch,
        )
        if not rows:
            return
        paths = [r["original_path"] for r in rows]
        yield paths
        after = paths[-1]


async def refresh_file(
    conn: asyncpg.Connection,
    asset_id: uuid.UUID,
    *,
    checksum: bytes,
    file_size: int,
    file_modified_at: datetime,
    mime_type: str,
    sidecar_path: str | None,
) -> Asset | None:
    """Record that an external file changed (or its sidecar appeared or went); the metadata step
    is marked not done, so "run missing" picks it up if its event were lost."""
    row = await conn.fetchrow(
        f"UPDATE assets SET checksum = $2, file_size = $3, file_modified_at = $4, "
        f"original_mime_type = $5, sidecar_path = $6, updated_at = now() "
        f"WHERE id = $1 RETURNING {ASSET_COLUMNS}",
        asset_id,
        checksum,
        file_size,
        file_modified_at,
        mime_type,
        sidecar_path,
    )
    if row is None:
        return None
    await conn.execute(
        "UPDATE asset_job_status SET metadata_extracted_at = NULL WHERE asset_id = $1", asset_id
    )
    return Asset(**dict(row))


async def set_offline(
    conn: asyncpg.Connection, ids: Sequence[uuid.UUID]
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Mark assets offline and move them to the trash, as Immich does with a library file that
    is gone (v1.118+: offline assets are trashed, and restored when the file returns).

    Returns:
        (asset id, owner id) of the assets that went offline now.
    """
    rows = await conn.fetch(
        "UPDATE assets SET is_offline = true, status = 'trashed', "
        "deleted_at = coalesce(deleted_at, now()), updated_at = now() "
        "WHERE id = ANY($1::uuid[]) AND NOT is_offline AND status <> 'deleted' "
        "RETURNING id, owner_id",
        list(ids),
    )
    return [(r["id"], r["owner_id"]) for r in rows]


async def set_online(
    conn: asyncpg.Connection, ids: Sequence[uuid.UUID]
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Bring offline assets whose file is back out of the trash.

    Returns:
        (asset id, owner id) of the assets that came back now.
    """
    rows = await conn.fetch(
        "UPDATE assets SET is_offline = false, status = 'active', deleted_at = NULL, "
        "updated_at = now() WHERE id = ANY($1::uuid[]) AND is_offline AND status <> 'deleted' "
        "RETURNING id, owner_id",
        list(ids),
    )
    return [(r["id"], r["owner_id"]) for r in rows]
