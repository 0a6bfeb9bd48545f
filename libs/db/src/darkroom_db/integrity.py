"""Repository: integrity reports and the rows the integrity checks read (migration
``0038_integrity_reports.sql``).

The checks themselves (storage listings, hashing) are the gateway's
(:mod:`darkroom_gateway.domain.integrity`); this module is only their SQL:

- ``integrity_reports``: the items found, one per (type, storage key), listed in key order;
- the files assets reference (originals and derived files), read in id order in batches;
- which of a batch of storage keys any row references (the untracked-files check);
- the originals whose checksum was verified least recently (``integrity_checksums``).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Literal, TypeAlias, get_args

import asyncpg
import msgspec
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt

Conn: TypeAlias = asyncpg.Pool | asyncpg.Connection

#: Spec: IntegrityReport (the report types).
ReportType = Literal["untracked_file", "missing_file", "checksum_mismatch"]
REPORT_TYPES: tuple[ReportType, ...] = get_args(ReportType)


class ReportItem(msgspec.Struct, frozen=True, kw_only=True):
    """A row of ``integrity_reports``.

    Attributes:
        id: The item's id.
        type: What is wrong.
        path: The storage key concerned.
        asset_id: The asset the file belongs to (None for an untracked file).
        created_at: When a check found it.
        file_asset_id: The derived file (``asset_files`` row) ``path`` is, when it is one of
            the asset's derived files rather than its original (Immich's ``fileAssetId``).
    """

    id: uuid.UUID
    type: ReportType
    path: str
    asset_id: uuid.UUID | None
    created_at: datetime
    file_asset_id: uuid.UUID | None = None


class TrackedFile(msgspec.Struct, frozen=True, kw_only=True):
    """A file an asset references: its original or a derived file (``asset_files``).

    Attributes:
        row_id: The id the batches are read in order of (the asset's, or the asset file's).
        asset_id: The asset.
        path: The storage key.
        checksum: The original's SHA-1 (20 bytes); None for a derived file.
    """

    row_id: uuid.UUID
    asset_id: uuid.UUID
    path: str
    checksum: bytes | None = None


#: The columns of a :class:`ReportItem`, of ``integrity_reports r``; the derived file is found
#: by the asset and the key (a file row's key is unique per asset).
_ITEM_COLS = (
    "r.id, r.type, r.path, r.asset_id, r.created_at, "
    "(SELECT f.id FROM asset_files f WHERE f.asset_id = r.asset_id AND f.path = r.path "
    "LIMIT 1) AS file_asset_id"
)


def _item(row: asyncpg.Record) -> ReportItem:
    return ReportItem(
        id=row["id"],
        type=row["type"],
        path=row["path"],
        asset_id=row["asset_id"],
        created_at=row["created_at"],
        file_asset_id=row["file_asset_id"],
    )


async def summary(pool: Conn) -> dict[ReportType, int]:
    """Items per type (every type present, 0 when none)."""
    rows = await pool.fetch("SELECT type, count(*) AS n FROM integrity_reports GROUP BY type")
    counts: dict[ReportType, int] = dict.fromkeys(REPORT_TYPES, 0)
    for row in rows:
        counts[row["type"]] = row["n"]
    return counts


async def page(pool: Conn, type_: ReportType, *, after: str | None, limit: int) -> list[ReportItem]:
    """Items of ``type_`` in path order, those after path ``after`` (keyset paging: stable while
    items come and go).

    Args:
        pool: Database pool.
        type_: The report type.
        after: The last path of the previous page; None for the first page.
        limit: Items at most.
    """
    rows = await pool.fetch(
        f"SELECT {_ITEM_COLS} FROM integrity_reports r WHERE r.type = $1 "
        "AND ($2::text IS NULL OR r.path > $2) ORDER BY r.path LIMIT $3",
        type_,
        after,
        limit,
    )
    return [_item(r) for r in rows]


async def batches(
    pool: Conn, type_: ReportType, *, size: int = 500
) -> AsyncIterator[list[ReportItem]]:
    """Every item of ``type_`` in path order, ``size`` at a time (CSV export, refresh and
    delete-all; items removed while iterating are simply not seen again)."""
    after: str | None = None
    while items := await page(pool, type_, after=after, limit=size):
        yield items
        after = items[-1].path


async def get(pool: Conn, item_id: uuid.UUID) -> ReportItem | None:
    """One item; None when there is no such id."""
    row = await pool.fetchrow(
        f"SELECT {_ITEM_COLS} FROM integrity_reports r WHERE r.id = $1", item_id
    )
    return None if row is None else _item(row)


async def delete_file_row(pool: Conn, file_asset_id: uuid.UUID) -> None:
    """Forget derived file ``file_asset_id`` (its ``asset_files`` row; the object, if any, is
    left as it is): the delete action of a missing derived file (Immich's ``deleteFiles``)."""
    await pool.execute("DELETE FROM asset_files WHERE id = $1", file_asset_id)


async def remove(pool: Conn, ids: list[uuid.UUID]) -> int:
    """Delete items ``ids``; how many there were."""
    status = await pool.execute("DELETE FROM integrity_reports WHERE id = ANY($1::uuid[])", ids)
    return int(status.split()[-1])


#: Attempts of :func:`add` and :func:`mark_checked` when an asset they name is deleted by a
#: transaction that commits while they insert (its row was still visible to their filter).
_GONE_ATTEMPTS = 3


def _retry_gone_assets() -> AsyncRetrying:
    """Retry a statement whose asset filter raced a concurrent delete (the foreign key check
    then fails): the next attempt's filter no longer sees the deleted asset."""
    return AsyncRetrying(
        retry=retry_if_exception_type(asyncpg.ForeignKeyViolationError),
        stop=stop_after_attempt(_GONE_ATTEMPTS),
        reraise=True,
    )


async def add(pool: Conn, type_: ReportType, items: Sequence[tuple[str, uuid.UUID | None]]) -> int:
    """Record ``(path, asset_id)`` items of ``type_``; one already recorded is left as it is,
    and one of an asset deleted since the check found it is left out (the report is about
    assets that exist; a purge may run while a check does).

    Returns:
        Items new in the report.
    """
    if not items:
        return 0
    async for attempt in _retry_gone_assets():
        with attempt:
            status = await pool.execute(
                "INSERT INTO integrity_reports (type, path, asset_id) "
                "SELECT $1, t.path, t.asset_id "
                "FROM unnest($2::text[], $3::uuid[]) AS t (path, asset_id) "
                "WHERE t.asset_id IS NULL "
                "OR EXISTS (SELECT 1 FROM assets a WHERE a.id = t.asset_id) "
                "ON CONFLICT (type, path) DO NOTHING",
                type_,
                [p for p, _ in items],
                [a for _, a in items],
            )
    return int(status.split()[-1])


async def originals(pool: Conn, *, after: uuid.UUID | None, limit: int) -> list[TrackedFile]:
    """Originals in storage of active assets (not trashed, not external-library files), in
    asset id order, after asset ``after``."""
    rows = await pool.fetch(
        "SELECT id, original_path, checksum FROM assets "
        "WHERE status = 'active' AND NOT is_external AND ($1::uuid IS NULL OR id > $1) "
        "ORDER BY id LIMIT $2",
        after,
        limit,
    )
    return [
        TrackedFile(
            row_id=r["id"], asset_id=r["id"], path=r["original_path"], checksum=r["checksum"]
        )
        for r in rows
    ]


async def derived_files(pool: Conn, *, after: uuid.UUID | None, limit: int) -> list[TrackedFile]:
    """Derived files (``asset_files``: previews, thumbnails, encoded videos, sidecars...) of
    active assets, in asset file id order, after ``after``."""
    rows = await pool.fetch(
        "SELECT f.id, f.asset_id, f.path FROM asset_files f JOIN assets a ON a.id = f.asset_id "
        "WHERE a.status = 'active' AND ($1::uuid IS NULL OR f.id > $1) "
        "ORDER BY f.id LIMIT $2",
        after,
        limit,
    )
    return [TrackedFile(row_id=r["id"], asset_id=r["asset_id"], path=r["path"]) for r in rows]


async def tracked(pool: Conn, asset_id: uuid.UUID, path: str) -> TrackedFile | None:
    """The file ``path`` of active asset ``asset_id`` when the asset still references it (as
    its original, with the checksum, or as a derived file); None otherwise."""
    row = await pool.fetchrow(
        "SELECT id, original_path = $2 AS original, checksum FROM assets "
        "WHERE id = $1 AND status = 'active' AND NOT is_external "
        "AND (original_path = $2 OR EXISTS "
        "(SELECT 1 FROM asset_files f WHERE f.asset_id = $1 AND f.path = $2))",
        asset_id,
        path,
    )
    if row is None:
        return None
    return TrackedFile(
        row_id=row["id"],
        asset_id=row["id"],
        path=path,
        checksum=row["checksum"] if row["original"] else None,
    )


async def referenced(pool: Conn, keys: list[str]) -> set[str]:
    """Which of storage ``keys`` a row references: an asset's original or sidecar, a derived
    file, a person's thumbnail, a user's profile image, or a storage-template move in flight
    (both its old and new keys)."""
    if not keys:
        return set()
    rows = await pool.fetch(
        "SELECT original_path AS key FROM assets WHERE original_path = ANY($1::text[]) "
        "UNION SELECT sidecar_path FROM assets WHERE sidecar_path = ANY($1::text[]) "
        "UNION SELECT path FROM asset_files WHERE path = ANY($1::text[]) "
        "UNION SELECT thumbnail_path FROM people WHERE thumbnail_path = ANY($1::text[]) "
        "UNION SELECT profile_image_path FROM users WHERE profile_image_path = ANY($1::text[]) "
        "UNION SELECT old_path FROM asset_moves WHERE old_path = ANY($1::text[]) "
        "UNION SELECT new_path FROM asset_moves WHERE new_path = ANY($1::text[]) "
        "UNION SELECT old_sidecar_path FROM asset_moves WHERE old_sidecar_path = ANY($1::text[]) "
        "UNION SELECT new_sidecar_path FROM asset_moves WHERE new_sidecar_path = ANY($1::text[])",
        keys,
    )
    return {r["key"] for r in rows}


async def count_originals(pool: Conn) -> int:
    """Originals :func:`originals` would list (the base of ``percentageLimit``)."""
    return int(
        await pool.fetchval(
            "SELECT count(*) FROM assets WHERE status = 'active' AND NOT is_external"
        )
    )


async def least_recently_checked(pool: Conn, *, limit: int) -> list[TrackedFile]:
    """Up to ``limit`` originals (as :func:`originals`), the never-verified first, then those
    verified longest ago."""
    rows = await pool.fetch(
        "SELECT a.id, a.original_path, a.checksum FROM assets a "
        "LEFT JOIN integrity_checksums c ON c.asset_id = a.id "
        "WHERE a.status = 'active' AND NOT a.is_external "
        "ORDER BY c.checked_at ASC NULLS FIRST, a.id LIMIT $1",
        limit,
    )
    return [
        TrackedFile(
            row_id=r["id"], asset_id=r["id"], path=r["original_path"], checksum=r["checksum"]
        )
        for r in rows
    ]


async def mark_checked(pool: Conn, asset_ids: list[uuid.UUID], at: datetime) -> None:
    """Record that the originals of ``asset_ids`` were verified at ``at`` (an asset deleted
    meanwhile is skipped)."""
    async for attempt in _retry_gone_assets():
        with attempt:
            await pool.execute(
                "INSERT INTO integrity_checksums (asset_id, checked_at) "
                "SELECT a.id, $2 FROM assets a WHERE a.id = ANY($1::uuid[]) "
                "ON CONFLICT (asset_id) DO UPDATE SET checked_at = EXCLUDED.checked_at",
                asset_ids,
                at,
            )
