"""Repository: the storage template's moves of originals (migration ``0026_storage_template.sql``).

A move of an asset's original (and sidecar) from ``old`` to ``new`` keys goes through four
committed steps, each safe to crash after (the mover in ``darkroom_ingest.storage_template``):

1. :func:`reserve_move`: the intent row, which also reserves ``new`` against other moves;
2. the storage copy ``old`` -> ``new`` (both exist now);
3. :func:`switch_asset`: ``assets.original_path``/``sidecar_path`` -> ``new`` (readers follow);
4. the storage delete of ``old``, then :func:`forget_move`.

:func:`pending_moves` lists what a crash left; whether step 3 happened is read from the asset.
Every statement of one move runs on the connection that holds the asset's advisory lock
(:func:`try_lock_asset`), so two movers never work on one asset and a killed mover's lock goes
with its connection.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import TypeAlias

import asyncpg
import msgspec

__all__ = [
    "AlbumInfo",
    "Move",
    "TemplateRow",
    "album_of",
    "current_original_paths",
    "drop_sidecar",
    "forget_move",
    "pending_moves",
    "reserve_move",
    "switch_asset",
    "template_row",
    "template_rows",
    "try_lock_asset",
    "unlock_asset",
]

Conn: TypeAlias = asyncpg.Pool | asyncpg.Connection

#: Namespace of the advisory lock keys (``hashtextextended('storage-template:' || id, 0)``).
_LOCK_PREFIX = "storage-template:"


class Move(msgspec.Struct, frozen=True, kw_only=True):
    """One move in flight (a row of ``asset_moves``)."""

    asset_id: uuid.UUID
    old_path: str
    new_path: str
    old_sidecar_path: str | None = None
    new_sidecar_path: str | None = None


class TemplateRow(msgspec.Struct, frozen=True, kw_only=True):
    """What the template and the mover need of one asset.

    Attributes:
        id: Asset id.
        owner_id: Owner.
        storage_label: The owner's storage label, or None.
        type: ``IMAGE``/``VIDEO``...
        original_file_name: Upload name.
        original_path: Its original's key now.
        sidecar_path: Its XMP sidecar's key, or None.
        local_date_time: Capture wall-clock time.
        checksum: SHA-1 of the original (20 bytes).
        is_external: An external-library asset (never moved).
    """

    id: uuid.UUID
    owner_id: uuid.UUID
    storage_label: str | None
    type: str
    original_file_name: str
    original_path: str
    sidecar_path: str | None
    local_date_time: datetime
    checksum: bytes
    is_external: bool


class AlbumInfo(msgspec.Struct, frozen=True, kw_only=True):
    """The album the template names an asset after, and its first/last capture times."""

    name: str
    start: datetime | None
    end: datetime | None


_TEMPLATE_COLS = (
    "a.id, a.owner_id, u.storage_label, a.type, a.original_file_name, a.original_path, "
    "a.sidecar_path, a.local_date_time, a.checksum, a.is_external"
)


def _template_row(r: asyncpg.Record) -> TemplateRow:
    return TemplateRow(
        id=r["id"],
        owner_id=r["owner_id"],
        storage_label=r["storage_label"],
        type=r["type"],
        original_file_name=r["original_file_name"],
        original_path=r["original_path"],
        sidecar_path=r["sidecar_path"],
        local_date_time=r["local_date_time"],
        checksum=bytes(r["checksum"]),
        is_external=r["is_external"],
    )


async def template_row(conn: Conn, asset_id: uuid.UUID) -> TemplateRow | None:
    """Asset ``asset_id`` as the template sees it, or None when it is gone."""
    row = await conn.fetchrow(
        f"SELECT {_TEMPLATE_COLS} FROM assets a JOIN users u ON u.id = a.owner_id WHERE a.id = $1",
        asset_id,
    )
    return None if row is None else _template_row(row)


async def template_rows(conn: Conn, *, after: uuid.UUID | None, limit: int) -> list[TemplateRow]:
    """One page of the assets a migration may move, in id order (keyset pagination).

    External-library assets are left out (never moved), and so are keys outside ``upload/``
    and ``library/`` (not managed by the template).

    Args:
        conn: Database.
        after: The last id of the previous page; None for the first.
        limit: Page size.
    """
    rows = await conn.fetch(
        f"SELECT {_TEMPLATE_COLS} FROM assets a JOIN users u ON u.id = a.owner_id "
        "WHERE NOT a.is_external AND a.status <> 'deleted' "
        "AND (a.original_path LIKE 'upload/%' OR a.original_path LIKE 'library/%') "
        "AND ($1::uuid IS NULL OR a.id > $1) ORDER BY a.id LIMIT $2",
        after,
        limit,
    )
    return [_template_row(r) for r in rows]


async def album_of(conn: Conn, owner_id: uuid.UUID, asset_id: uuid.UUID) -> AlbumInfo | None:
    """The album ``{{album}}`` names: of the owner's albums holding the asset, the most
    recently created (Immich's docs, "Storage Template"), with its assets' first and last
    capture times (``{{album-startDate-*}}``/``{{album-endDate-*}}``); None when none."""
    row = await conn.fetchrow(
        "SELECT al.album_name AS name, "
        "(SELECT min(x.local_date_time) FROM album_assets aa2 JOIN assets x ON x.id = "
        " aa2.asset_id WHERE aa2.album_id = al.id) AS start, "
        "(SELECT max(x.local_date_time) FROM album_assets aa2 JOIN assets x ON x.id = "
        " aa2.asset_id WHERE aa2.album_id = al.id) AS end_ "
        "FROM albums al JOIN album_assets aa ON aa.album_id = al.id "
        "WHERE aa.asset_id = $2 AND al.owner_id = $1 "
        "ORDER BY al.created_at DESC, al.id LIMIT 1",
        owner_id,
        asset_id,
    )
    if row is None:
        return None
    return AlbumInfo(name=row["name"], start=row["start"], end=row["end_"])


async def try_lock_asset(conn: asyncpg.Connection, asset_id: uuid.UUID) -> bool:
    """Take the session advisory lock of ``asset_id``'s moves on ``conn`` without waiting.

    A session lock (not a transaction one) so that it spans the storage copy between
    transactions; it ends with :func:`unlock_asset` or with the connection (a killed process).

    Returns:
        False when another connection holds it (a live mover is at work on the asset).
    """
    return bool(
        await conn.fetchval(
            "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", f"{_LOCK_PREFIX}{asset_id}"
        )
    )


async def unlock_asset(conn: asyncpg.Connection, asset_id: uuid.UUID) -> None:
    """Release the lock :func:`try_lock_asset` took on ``conn``."""
    await conn.execute(
        "SELECT pg_advisory_unlock(hashtextextended($1, 0))", f"{_LOCK_PREFIX}{asset_id}"
    )


async def reserve_move(conn: Conn, move: Move) -> bool:
    """Record the intent to move (step 1), if ``move.new_path`` is free.

    A key is taken when an asset's original has it, another move is bound for it or is
    leaving it (its object still exists). One statement (one snapshot), so a move that commits
    meanwhile is seen either as an asset path or as a move row; the unique index on
    ``new_path`` settles two reservations of one key at the same time.

    Returns:
        True when reserved; False when the key is taken (try the next collision suffix).
    """
    row = await conn.fetchval(
        "INSERT INTO asset_moves (asset_id, old_path, new_path, old_sidecar_path, "
        "new_sidecar_path) SELECT $1, $2, $3, $4, $5 "
        "WHERE NOT EXISTS (SELECT 1 FROM assets WHERE original_path = $3) "
        "AND NOT EXISTS (SELECT 1 FROM asset_moves WHERE old_path = $3) "
        "ON CONFLICT DO NOTHING RETURNING asset_id",
        move.asset_id,
        move.old_path,
        move.new_path,
        move.old_sidecar_path,
        move.new_sidecar_path,
    )
    return row is not None


async def switch_asset(conn: Conn, move: Move) -> bool:
    """Point the asset at its new keys (step 3), if it still is at the old ones.

    Returns:
        False when the asset is gone or no longer at ``move.old_path`` (then nothing changed).
    """
    row = await conn.fetchval(
        "UPDATE assets SET original_path = $3, sidecar_path = $4, updated_at = now() "
        "WHERE id = $1 AND original_path = $2 RETURNING id",
        move.asset_id,
        move.old_path,
        move.new_path,
        move.new_sidecar_path,
    )
    return row is not None


async def drop_sidecar(conn: Conn, asset_id: uuid.UUID) -> None:
    """The sidecar vanished before it was copied: the move carries the original alone."""
    await conn.execute(
        "UPDATE asset_moves SET new_sidecar_path = NULL, old_sidecar_path = NULL "
        "WHERE asset_id = $1",
        asset_id,
    )


async def forget_move(conn: Conn, asset_id: uuid.UUID) -> None:
    """Delete the intent row (step 4, or the end of a rollback)."""
    await conn.execute("DELETE FROM asset_moves WHERE asset_id = $1", asset_id)


async def pending_moves(conn: Conn, asset_id: uuid.UUID | None = None) -> list[Move]:
    """Moves a crash left unfinished (all, or the one of ``asset_id``), oldest first."""
    rows = await conn.fetch(
        "SELECT asset_id, old_path, new_path, old_sidecar_path, new_sidecar_path "
        "FROM asset_moves WHERE $1::uuid IS NULL OR asset_id = $1 ORDER BY created_at",
        asset_id,
    )
    return [
        Move(
            asset_id=r["asset_id"],
            old_path=r["old_path"],
            new_path=r["new_path"],
            old_sidecar_path=r["old_sidecar_path"],
            new_sidecar_path=r["new_sidecar_path"],
        )
        for r in rows
    ]


async def current_original_paths(conn: Conn, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Each asset's original key as stored now (for a reader whose key went stale: the
    template moved the file after the reader loaded the row or got its event)."""
    rows = await conn.fetch(
        "SELECT id, original_path FROM assets WHERE id = ANY($1::uuid[])", list(ids)
    )
    return {r["id"]: r["original_path"] for r in rows}
