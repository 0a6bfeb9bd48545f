"""Non-destructive edits of an asset: its list of crop/rotate/mirror actions (0031_asset_edits.sql).

The list is replaced as a whole (PUT /api/assets/{id}/edits) or removed (DELETE); each action
keeps its place in ``sequence`` (0-based), the order the renderer applies them in. Deleting rows
writes ``asset_edit_audit`` (a trigger), which the sync stream sends as AssetEditDeleteV1.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Literal

import asyncpg
import msgspec

Action = Literal["crop", "rotate", "mirror"]


class AssetEdit(msgspec.Struct, frozen=True, kw_only=True):
    """One stored edit action.

    Attributes:
        id: The edit's id (spec: AssetEditActionItemResponseDto.id).
        asset_id: The asset it belongs to.
        sequence: Its place in the list, 0-based.
        action: ``crop``, ``rotate`` or ``mirror``.
        parameters: The spec's CropParameters / RotateParameters / MirrorParameters as a dict.
    """

    id: uuid.UUID
    asset_id: uuid.UUID
    sequence: int
    action: Action
    parameters: dict[str, Any]


class NewEdit(msgspec.Struct, frozen=True, kw_only=True):
    """An edit action to store (its place is its index in the list given)."""

    action: Action
    parameters: dict[str, Any]


def _edit(row: asyncpg.Record) -> AssetEdit:
    params = row["parameters"]
    return AssetEdit(
        id=row["id"],
        asset_id=row["asset_id"],
        sequence=row["sequence"],
        action=row["action"],
        parameters=json.loads(params) if isinstance(params, str) else dict(params),
    )


async def list_edits(
    pool: asyncpg.Pool | asyncpg.Connection, asset_id: uuid.UUID
) -> list[AssetEdit]:
    """The edits of ``asset_id`` in the order they apply (the caller checked access)."""
    rows = await pool.fetch(
        "SELECT id, asset_id, sequence, action, parameters::text AS parameters FROM asset_edits "
        "WHERE asset_id = $1 ORDER BY sequence",
        asset_id,
    )
    return [_edit(r) for r in rows]


async def edited_ids(
    pool: asyncpg.Pool | asyncpg.Connection, asset_ids: list[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of ``asset_ids`` have edits (AssetResponseDto.isEdited)."""
    rows = await pool.fetch(
        "SELECT DISTINCT asset_id FROM asset_edits WHERE asset_id = ANY($1::uuid[])", asset_ids
    )
    return {r["asset_id"] for r in rows}


async def replace_edits(
    conn: asyncpg.Connection, *, asset_id: uuid.UUID, owner_id: uuid.UUID, edits: list[NewEdit]
) -> list[AssetEdit]:
    """Replace every edit of ``asset_id`` with ``edits`` (call inside a transaction).

    Args:
        conn: A connection in a transaction.
        asset_id: The asset (the caller checked it is ``owner_id``'s).
        owner_id: Its owner.
        edits: The new list, in order.

    Returns:
        The stored edits, with their new ids.
    """
    await conn.execute("DELETE FROM asset_edits WHERE asset_id = $1", asset_id)
    await _touch(conn, asset_id)
    rows = await conn.fetch(
        "INSERT INTO asset_edits (id, asset_id, owner_id, sequence, action, parameters) "
        "SELECT u.id, $1, $2, u.seq, u.action, u.params::jsonb "
        "FROM unnest($3::uuid[], $4::int[], $5::text[], $6::text[]) "
        "AS u(id, seq, action, params) "
        "RETURNING id, asset_id, sequence, action, parameters::text AS parameters",
        asset_id,
        owner_id,
        [uuid.uuid4() for _ in edits],
        list(range(len(edits))),
        [e.action for e in edits],
        [json.dumps(e.parameters) for e in edits],
    )
    return sorted((_edit(r) for r in rows), key=lambda e: e.sequence)


async def delete_edits(pool: asyncpg.Pool | asyncpg.Connection, asset_id: uuid.UUID) -> int:
    """Remove every edit of ``asset_id``; returns how many there were (call in a transaction:
    the asset row is touched too)."""
    result = await pool.execute("DELETE FROM asset_edits WHERE asset_id = $1", asset_id)
    await _touch(pool, asset_id)
    return int(result.split()[-1])


async def _touch(conn: asyncpg.Pool | asyncpg.Connection, asset_id: uuid.UUID) -> None:
    """Move the asset's sync position (its trigger) so AssetV1 streams ``isEdited`` again."""
    await conn.execute("UPDATE assets SET updated_at = now() WHERE id = $1", asset_id)
