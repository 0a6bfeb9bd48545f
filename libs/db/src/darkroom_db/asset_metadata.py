"""Repository: key/value metadata of assets (spec: AssetMetadataResponseDto), table
``asset_metadata`` (migration ``0012_sync_people_faces_meta.sql``).

Each (asset, key) holds one JSON object, e.g. the iOS app's ``mobile-app`` key with
``{"iCloudId": ...}`` sent with the upload. Only the asset's owner writes; the mobile sync stream
sends the rows as ``AssetMetadataV1`` and their removal as ``AssetMetadataDeleteV1`` (a trigger
writes the deletion audit, also when the asset goes).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg
import msgspec


class Item(msgspec.Struct, frozen=True, kw_only=True):
    """One stored entry."""

    asset_id: uuid.UUID
    key: str
    value: dict[str, Any]
    updated_at: datetime


def _item(row: asyncpg.Record) -> Item:
    return Item(
        asset_id=row["asset_id"],
        key=row["key"],
        value=dict(msgspec.json.decode(row["value"])),
        updated_at=row["updated_at"],
    )


_COLS = "asset_id, key, value::text AS value, updated_at"


async def list_for_asset(pool: asyncpg.Pool, asset_id: uuid.UUID) -> list[Item]:
    """Every entry of ``asset_id``, by key (the caller checked access to the asset)."""
    rows = await pool.fetch(
        f"SELECT {_COLS} FROM asset_metadata WHERE asset_id = $1 ORDER BY key", asset_id
    )
    return [_item(r) for r in rows]


async def get(pool: asyncpg.Pool, asset_id: uuid.UUID, key: str) -> Item | None:
    """The entry ``key`` of ``asset_id``, or None."""
    row = await pool.fetchrow(
        f"SELECT {_COLS} FROM asset_metadata WHERE asset_id = $1 AND key = $2", asset_id, key
    )
    return None if row is None else _item(row)


async def upsert(
    pool: asyncpg.Pool,
    owner_id: uuid.UUID,
    items: Sequence[tuple[uuid.UUID, str, dict[str, Any]]],
) -> list[Item]:
    """Store ``(asset id, key, value)`` entries of ``owner_id``'s assets in one transaction;
    an entry whose value did not change keeps its position (no sync line).

    Args:
        pool: Pool.
        owner_id: Owner of every asset named (entries of other assets are skipped).
        items: The entries; a key given twice for one asset keeps the last value.

    Returns:
        The stored entries, in the order given (skipped ones left out).
    """
    last = {(a, k): v for a, k, v in items}
    rows = await pool.fetch(
        "INSERT INTO asset_metadata (asset_id, owner_id, key, value) "
        "SELECT x.a, $1, x.k, x.v::jsonb FROM unnest($2::uuid[], $3::text[], $4::text[]) "
        "AS x(a, k, v) JOIN assets s ON s.id = x.a AND s.owner_id = $1 "
        "ON CONFLICT (asset_id, key) DO UPDATE SET value = EXCLUDED.value, "
        "updated_at = CASE WHEN asset_metadata.value IS DISTINCT FROM EXCLUDED.value "
        "THEN now() ELSE asset_metadata.updated_at END "
        f"RETURNING {_COLS}",
        owner_id,
        [a for a, _ in last],
        [k for _, k in last],
        [msgspec.json.encode(v).decode() for v in last.values()],
    )
    by_key = {(r["asset_id"], r["key"]): _item(r) for r in rows}
    return [by_key[k] for k in last if k in by_key]


async def delete(
    pool: asyncpg.Pool, owner_id: uuid.UUID, items: Sequence[tuple[uuid.UUID, str]]
) -> int:
    """Remove the ``(asset id, key)`` entries of ``owner_id``'s assets; how many went."""
    status = await pool.execute(
        "DELETE FROM asset_metadata m USING unnest($2::uuid[], $3::text[]) AS x(a, k) "
        "WHERE m.asset_id = x.a AND m.key = x.k AND m.owner_id = $1",
        owner_id,
        [a for a, _ in items],
        [k for _, k in items],
    )
    return int(status.split()[-1])
