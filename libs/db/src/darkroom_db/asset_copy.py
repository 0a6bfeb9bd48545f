"""Repository: copy what an asset belongs to onto another asset of the same owner
(``PUT /api/assets/copy``, Immich's ``copyAsset``): its albums, shared links, stack, favourite."""

from __future__ import annotations

import uuid

import asyncpg
import msgspec


class Copied(msgspec.Struct, frozen=True, kw_only=True):
    """What a copy changed on the target.

    Attributes:
        album_ids: Albums the target was newly added to.
        shared_link_ids: Individual shared links the target was newly added to.
        stack_id: The stack the target joined (None: none joined).
        favorite: The target's favourite flag when it was copied (None: not copied).
    """

    album_ids: list[uuid.UUID]
    shared_link_ids: list[uuid.UUID]
    stack_id: uuid.UUID | None
    favorite: bool | None


async def copy_relations(
    pool: asyncpg.Pool,
    user_id: uuid.UUID,
    source_id: uuid.UUID,
    target_id: uuid.UUID,
    *,
    albums: bool,
    shared_links: bool,
    stack: bool,
    favorite: bool,
) -> Copied:
    """Give ``target_id`` what ``source_id`` has, in one transaction (both ``user_id``'s).

    - albums: every album holding the source that the user owns or edits gets the target
      (already there: left alone; the album's ``updated_at`` moves when one is added);
    - shared links: every individual shared link of the user holding the source gets the target;
    - stack: the target joins the source's stack, or takes it into its own
      (:func:`_copy_stack`);
    - favorite: the target's favourite flag becomes the source's.

    Returns:
        What changed (:class:`Copied`).
    """
    async with pool.acquire() as conn, conn.transaction():
        album_ids: list[uuid.UUID] = []
        link_ids: list[uuid.UUID] = []
        stack_id: uuid.UUID | None = None
        fav: bool | None = None
        if albums:
            rows = await conn.fetch(
                "INSERT INTO album_assets (album_id, asset_id, created_at) "
                "SELECT aa.album_id, $3, clock_timestamp() FROM album_assets aa "
                "JOIN albums al ON al.id = aa.album_id WHERE aa.asset_id = $2 AND "
                "(al.owner_id = $1 OR EXISTS (SELECT 1 FROM album_users au WHERE "
                "au.album_id = al.id AND au.user_id = $1 AND au.role = 'editor')) "
                "ON CONFLICT DO NOTHING RETURNING album_id",
                user_id,
                source_id,
                target_id,
            )
            album_ids = [r["album_id"] for r in rows]
            if album_ids:
                await conn.execute(
                    "UPDATE albums SET updated_at = now() WHERE id = ANY($1::uuid[])", album_ids
                )
        if shared_links:
            rows = await conn.fetch(
                "INSERT INTO shared_link_assets (shared_link_id, asset_id) "
                "SELECT sla.shared_link_id, $3 FROM shared_link_assets sla "
                "JOIN shared_links sl ON sl.id = sla.shared_link_id "
                "WHERE sla.asset_id = $2 AND sl.owner_id = $1 "
                "ON CONFLICT DO NOTHING RETURNING shared_link_id",
                user_id,
                source_id,
                target_id,
            )
            link_ids = [r["shared_link_id"] for r in rows]
        if stack:
            stack_id = await _copy_stack(conn, user_id, source_id, target_id)
        if favorite:
            fav = await conn.fetchval(
                "UPDATE assets t SET is_favorite = s.is_favorite, updated_at = now() "
                "FROM assets s WHERE t.id = $2 AND t.owner_id = $1 AND s.id = $3 "
                "AND s.owner_id = $1 RETURNING t.is_favorite",
                user_id,
                target_id,
                source_id,
            )
    return Copied(album_ids=album_ids, shared_link_ids=link_ids, stack_id=stack_id, favorite=fav)


async def _copy_stack(
    conn: asyncpg.Connection, user_id: uuid.UUID, source_id: uuid.UUID, target_id: uuid.UUID
) -> uuid.UUID | None:
    """Put the target in the source's stack, as Immich's ``AssetService.copyStack``: a target in
    no stack joins the source's; a target in another stack takes the source's whole stack into
    its own (every member moves over, the source's stack is deleted, the target's primary
    stays). Nothing when the source is in no stack or both share one.

    Returns:
        The stack the target is now in, when it changed (None otherwise).
    """
    row = await conn.fetchrow(
        "SELECT s.stack_id AS source_stack, t.stack_id AS target_stack FROM assets s, assets t "
        "WHERE s.id = $2 AND s.owner_id = $1 AND t.id = $3 AND t.owner_id = $1",
        user_id,
        source_id,
        target_id,
    )
    if row is None or row["source_stack"] is None or row["source_stack"] == row["target_stack"]:
        return None
    if row["target_stack"] is None:
        await conn.execute(
            "UPDATE assets SET stack_id = $2, updated_at = now() WHERE id = $1",
            target_id,
            row["source_stack"],
        )
        return row["source_stack"]
    await conn.execute(
        "UPDATE assets SET stack_id = $3, updated_at = now() WHERE owner_id = $1 AND stack_id = $2",
        user_id,
        row["source_stack"],
        row["target_stack"],
    )
    await conn.execute(
        "DELETE FROM stacks WHERE id = $1 AND owner_id = $2", row["source_stack"], user_id
    )
    return row["target_stack"]


async def set_sidecar_path(
    pool: asyncpg.Pool, owner_id: uuid.UUID, asset_id: uuid.UUID, key: str
) -> None:
    """Record ``key`` as the asset's XMP sidecar."""
    await pool.execute(
        "UPDATE assets SET sidecar_path = $3, updated_at = now() WHERE id = $1 AND owner_id = $2",
        asset_id,
        owner_id,
        key,
    )
