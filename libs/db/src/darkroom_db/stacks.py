"""Repository: stacks (assets of one owner grouped under a primary asset).

An asset is in at most one stack (``assets.stack_id``); a stack's primary is one of its assets.
Migration ``0019_stacks.sql`` keeps stacks whole whatever changes their members: a stack left
with fewer than 2 assets is deleted, one whose primary left gets another (``darkroom_stack_tidy``,
run by PostgreSQL at the end of each statement), so the functions here only move assets.
Every function takes the caller's id and only touches that user's stacks and assets.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg
import msgspec

from darkroom_db.assets import ASSET_COLUMNS, Asset


class Stack(msgspec.Struct, frozen=True, kw_only=True):
    """A row of ``stacks`` with its assets.

    Attributes:
        asset_ids: Its assets that the timelines show (:data:`SHOWN`): the primary first,
            then by capture time and id (the order the viewer's strip shows).
    """

    id: uuid.UUID
    owner_id: uuid.UUID
    primary_asset_id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    asset_ids: list[uuid.UUID]


class StackInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What an asset response says of its stack (AssetStackResponseDto)."""

    id: uuid.UUID
    primary_asset_id: uuid.UUID
    asset_count: int


class Created(msgspec.Struct, frozen=True, kw_only=True):
    """What :func:`create` did.

    Attributes:
        stack: The new stack.
        merged: Stacks folded into it (their primary was listed) and so deleted.
        touched: Other stacks that lost members to it: still there (``updated``) or deleted
            because fewer than 2 assets were left (``emptied``).
    """

    stack: Stack
    merged: list[uuid.UUID]
    updated: list[uuid.UUID]
    emptied: list[uuid.UUID]


#: The members of a stack that its responses list (and that may be its primary): not in the
#: trash, and archived or in the timeline, never locked or hidden (Immich's stack.repository
#: ``withAssets``: ``deletedAt IS NULL`` and ``withDefaultVisibility``).
SHOWN = "a.status = 'active' AND a.visibility IN ('archive', 'timeline')"

_SELECT = (
    "SELECT s.id, s.owner_id, s.primary_asset_id, s.created_at, s.updated_at, "
    "coalesce((SELECT array_agg(a.id ORDER BY a.id = s.primary_asset_id DESC, "
    f"a.local_date_time, a.id) FROM assets a WHERE a.stack_id = s.id AND {SHOWN}), "
    "'{}') AS asset_ids FROM stacks s"
)


def _stack(row: asyncpg.Record) -> Stack:
    return Stack(**{**dict(row), "asset_ids": list(row["asset_ids"])})


async def get_stack(
    pool: asyncpg.Pool | asyncpg.Connection, owner_id: uuid.UUID, stack_id: uuid.UUID
) -> Stack | None:
    """``owner_id``'s stack ``stack_id``, or None (unknown, or someone else's)."""
    row = await pool.fetchrow(f"{_SELECT} WHERE s.id = $1 AND s.owner_id = $2", stack_id, owner_id)
    return None if row is None else _stack(row)


async def search(
    pool: asyncpg.Pool, owner_id: uuid.UUID, primary_asset_id: uuid.UUID | None = None
) -> list[Stack]:
    """``owner_id``'s stacks (only the one whose primary is ``primary_asset_id`` when given),
    oldest first."""
    rows = await pool.fetch(
        f"{_SELECT} WHERE s.owner_id = $1 AND ($2::uuid IS NULL OR s.primary_asset_id = $2) "
        "ORDER BY s.created_at, s.id",
        owner_id,
        primary_asset_id,
    )
    return [_stack(r) for r in rows]


async def create(
    conn: asyncpg.Connection, owner_id: uuid.UUID, asset_ids: Sequence[uuid.UUID]
) -> Created:
    """Stack ``owner_id``'s assets ``asset_ids`` under the first, as Immich's
    ``StackRepository.create``: a listed asset that is the primary of a stack brings that
    stack's other assets along (the stacks merge; the old one is deleted); a listed asset that
    is a plain member of another stack moves out of it. Run inside a transaction; the caller
    checked that every id is the owner's.

    Args:
        conn: Connection inside a transaction.
        owner_id: The caller.
        asset_ids: At least 2 distinct asset ids of the caller; the first becomes the primary.

    Returns:
        The new stack and the stacks it merged or took members from.
    """
    ids = list(dict.fromkeys(asset_ids))
    merged = [
        r["id"]
        for r in await conn.fetch(
            "SELECT id FROM stacks WHERE owner_id = $1 AND primary_asset_id = ANY($2::uuid[]) "
            "ORDER BY id FOR UPDATE",
            owner_id,
            ids,
        )
    ]
    members = await conn.fetch(
        "SELECT id FROM assets WHERE stack_id = ANY($1::uuid[]) AND status = 'active'", merged
    )
    ids += [r["id"] for r in members if r["id"] not in ids]
    others = [
        r["stack_id"]
        for r in await conn.fetch(
            "SELECT DISTINCT stack_id FROM assets WHERE id = ANY($1::uuid[]) "
            "AND stack_id IS NOT NULL AND NOT (stack_id = ANY($2::uuid[]))",
            ids,
            merged,
        )
    ]
    if merged:
        await conn.execute("DELETE FROM stacks WHERE id = ANY($1::uuid[])", merged)
    stack_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO stacks (id, owner_id, primary_asset_id) VALUES ($1, $2, $3)",
        stack_id,
        owner_id,
        ids[0],
    )
    await conn.execute(
        "UPDATE assets SET stack_id = $1, updated_at = now() WHERE owner_id = $2 "
        "AND id = ANY($3::uuid[])",
        stack_id,
        owner_id,
        ids,
    )
    left = {
        r["id"]
        for r in await conn.fetch("SELECT id FROM stacks WHERE id = ANY($1::uuid[])", others)
    }
    stack = await get_stack(conn, owner_id, stack_id)
    assert stack is not None  # made above, in this transaction
    return Created(
        stack=stack,
        merged=merged,
        updated=[s for s in others if s in left],
        emptied=[s for s in others if s not in left],
    )


async def set_primary(
    pool: asyncpg.Pool | asyncpg.Connection,
    owner_id: uuid.UUID,
    stack_id: uuid.UUID,
    asset_id: uuid.UUID | None,
) -> bool:
    """Make ``asset_id`` the primary of ``owner_id``'s stack ``stack_id``; with None only mark
    the stack updated (Immich's ``StackRepository.update`` runs whatever the body, so its
    ``updatedAt`` moves and the sync stream sends the stack again).

    Returns:
        False when the asset is not one the stack lists (:data:`SHOWN`: a member in the trash,
        locked or hidden is refused, as Immich's ``update`` checks the loaded ``assets``);
        nothing changed then.
    """
    status = await pool.execute(
        "UPDATE stacks s SET primary_asset_id = coalesce($3, s.primary_asset_id), "
        "updated_at = now() WHERE s.id = $1 AND s.owner_id = $2 AND ($3::uuid IS NULL OR "
        f"EXISTS (SELECT 1 FROM assets a WHERE a.id = $3 AND a.stack_id = s.id AND {SHOWN}))",
        stack_id,
        owner_id,
        asset_id,
    )
    return status != "UPDATE 0"


async def delete_stacks(
    pool: asyncpg.Pool, owner_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> list[uuid.UUID]:
    """Delete ``owner_id``'s stacks ``ids`` (their assets stay, unstacked).

    Returns:
        The ids deleted (those of the caller that existed).
    """
    rows = await pool.fetch(
        "DELETE FROM stacks WHERE owner_id = $1 AND id = ANY($2::uuid[]) RETURNING id",
        owner_id,
        list(ids),
    )
    return [r["id"] for r in rows]


async def owned_ids(
    pool: asyncpg.Pool, owner_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of ``ids`` are stacks of ``owner_id``."""
    rows = await pool.fetch(
        "SELECT id FROM stacks WHERE owner_id = $1 AND id = ANY($2::uuid[])", owner_id, list(ids)
    )
    return {r["id"] for r in rows}


async def remove_asset(
    pool: asyncpg.Pool, owner_id: uuid.UUID, stack_id: uuid.UUID, asset_id: uuid.UUID
) -> bool:
    """Take ``asset_id`` out of ``owner_id``'s stack ``stack_id`` (the stack is deleted when
    fewer than 2 assets are left: migration 0019).

    Returns:
        False when the asset is not in that stack.
    """
    status = await pool.execute(
        "UPDATE assets SET stack_id = NULL, updated_at = now() "
        "WHERE id = $1 AND owner_id = $2 AND stack_id = $3",
        asset_id,
        owner_id,
        stack_id,
    )
    return status != "UPDATE 0"


async def exists(pool: asyncpg.Pool, stack_id: uuid.UUID) -> bool:
    """Whether stack ``stack_id`` still exists."""
    return bool(await pool.fetchval("SELECT EXISTS (SELECT 1 FROM stacks WHERE id = $1)", stack_id))


async def info_of_assets(
    pool: asyncpg.Pool, asset_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, StackInfo]:
    """The stack of each of ``asset_ids`` that is in one, with its count of assets not in the
    trash (Immich's AssetStackResponseDto ``assetCount``)."""
    rows = await pool.fetch(
        "SELECT a.id AS asset_id, s.id, s.primary_asset_id, (SELECT count(*) FROM assets m "
        "WHERE m.stack_id = s.id AND m.status = 'active') AS asset_count "
        "FROM assets a JOIN stacks s ON s.id = a.stack_id WHERE a.id = ANY($1::uuid[])",
        list(asset_ids),
    )
    return {
        r["asset_id"]: StackInfo(
            id=r["id"], primary_asset_id=r["primary_asset_id"], asset_count=int(r["asset_count"])
        )
        for r in rows
    }


async def stack_assets(pool: asyncpg.Pool, stack: Stack) -> list[Asset]:
    """The asset rows of ``stack.asset_ids``, in that order."""
    rows = await pool.fetch(
        f"SELECT {ASSET_COLUMNS} FROM assets WHERE id = ANY($1::uuid[])", stack.asset_ids
    )
    by_id = {r["id"]: Asset(**dict(r)) for r in rows}
    return [by_id[i] for i in stack.asset_ids if i in by_id]


async def auto_group(
    conn: asyncpg.Connection, owner_id: uuid.UUID, asset_id: uuid.UUID, key: str
) -> list[tuple[uuid.UUID, str, uuid.UUID | None]]:
    """Record ``asset_id``'s automatic-stacking key and return its group: every active asset of
    ``owner_id`` with that key (itself included). The caller holds a lock on the key (so two
    halves of a pair processed at once see each other, whichever commits first).

    Returns:
        (asset id, original file name, stack id or None) of each, by id.
    """
    await conn.execute(
        "UPDATE assets SET auto_stack_key = $3 WHERE id = $1 AND owner_id = $2 "
        "AND auto_stack_key IS DISTINCT FROM $3",
        asset_id,
        owner_id,
        key,
    )
    rows = await conn.fetch(
        "SELECT id, original_file_name, stack_id FROM assets WHERE owner_id = $1 "
        "AND auto_stack_key = $2 AND status = 'active' ORDER BY id",
        owner_id,
        key,
    )
    return [(r["id"], r["original_file_name"], r["stack_id"]) for r in rows]


async def add_assets(
    conn: asyncpg.Connection, owner_id: uuid.UUID, stack_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> int:
    """Put ``owner_id``'s unstacked assets ``ids`` into their stack ``stack_id``.

    Returns:
        How many joined.
    """
    status = await conn.execute(
        "UPDATE assets a SET stack_id = $1, updated_at = now() WHERE a.owner_id = $2 "
        "AND a.id = ANY($3::uuid[]) AND a.stack_id IS NULL "
        "AND EXISTS (SELECT 1 FROM stacks s WHERE s.id = $1 AND s.owner_id = $2)",
        stack_id,
        owner_id,
        list(ids),
    )
    return int(status.split()[-1])
