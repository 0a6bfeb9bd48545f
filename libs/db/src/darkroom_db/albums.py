"""Repository: albums, their assets and their members (album sharing).

Who sees what: an album is seen by its owner and by its members (``album_users``, role
``editor`` or ``viewer``); nobody else. An asset is seen by its owner and by the members (and
owner) of any album holding it (:func:`can_view_asset`). Every read here takes the caller's id and
filters by it; permission rules on top (who may edit) are applied by the caller using
:func:`get_role`.

Removals are audited by triggers (migration ``0003_albums.sql``) into ``album_audit``,
``album_asset_audit`` and ``album_user_audit`` for incremental sync.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Literal

import asyncpg
import msgspec

from darkroom_db import activities
from darkroom_db.assets import Asset
from darkroom_db.users import User

Role = Literal["owner", "editor", "viewer"]
MemberRole = Literal["editor", "viewer"]
Order = Literal["asc", "desc"]


class Album(msgspec.Struct, frozen=True, kw_only=True):
    """A row of ``albums`` with what is computed over its (active) assets.

    ``start_date``/``end_date`` are the earliest/latest ``local_date_time`` of its assets,
    ``last_modified_asset_timestamp`` the latest ``updated_at``; all None when it is empty.
    ``shared`` is whether it has any member besides the owner or a shared link
    (:data:`_SHARED`).
    """

    id: uuid.UUID
    owner_id: uuid.UUID
    album_name: str
    description: str
    album_thumbnail_asset_id: uuid.UUID | None
    is_activity_enabled: bool
    order: str
    created_at: datetime
    updated_at: datetime
    asset_count: int
    start_date: datetime | None
    end_date: datetime | None
    last_modified_asset_timestamp: datetime | None
    shared: bool


class Member(msgspec.Struct, frozen=True, kw_only=True):
    """A user of an album and their role (the owner has role ``owner``)."""

    user: User
    role: Role


class AlbumDetail(msgspec.Struct, frozen=True, kw_only=True):
    """An album with its owner, members and per-user asset counts.

    ``members`` lists the owner first, then the other members by name (then email).
    ``contributor_counts`` maps asset owner id -> number of the album's active assets they own.
    """

    album: Album
    members: list[Member]
    contributor_counts: dict[uuid.UUID, int]


class MapMarker(msgspec.Struct, frozen=True, kw_only=True):
    """An album asset with GPS coordinates (degrees, WGS 84) and its reverse-geocoded place."""

    id: uuid.UUID
    lat: float
    lon: float
    city: str | None
    state: str | None
    country: str | None


class Statistics(msgspec.Struct, frozen=True, kw_only=True):
    """Album counts of one user: owned; shared (owned and shared out with members or a link,
    or shared with the user); not shared (owned, with neither members nor a link)."""

    owned: int
    shared: int
    not_shared: int


_USER_COLS = ", ".join(f"u.{c}" for c in User.__struct_fields__)
_ASSET_COLS = ", ".join(f"x.{c}" for c in Asset.__struct_fields__)

# ``al`` is shared: it has a member besides its owner, or a shared link opens it. Immich's
# ``AlbumRepository.buildAlbumBaseQuery`` (``isShared``, so statistics' ``shared``/``notShared``)
# and ``mapAlbum`` (``shared: hasSharedUser || hasSharedLink``) both count a link.
_SHARED = (
    "(EXISTS (SELECT 1 FROM album_users m WHERE m.album_id = al.id) "
    "OR EXISTS (SELECT 1 FROM shared_links sl WHERE sl.album_id = al.id))"
)

# Albums with their asset statistics; callers append WHERE clauses over ``al``.
_ALBUM_SELECT = f"""
SELECT al.id, al.owner_id, al.album_name, al.description, al.album_thumbnail_asset_id,
       al.is_activity_enabled, al."order", al.created_at, al.updated_at,
       coalesce(s.asset_count, 0) AS asset_count, s.start_date, s.end_date,
       s.last_modified_asset_timestamp,
       {_SHARED} AS shared
FROM albums al
LEFT JOIN LATERAL (
    SELECT count(*) AS asset_count, min(x.local_date_time) AS start_date,
           max(x.local_date_time) AS end_date, max(x.updated_at) AS last_modified_asset_timestamp
    FROM album_assets aa JOIN assets x ON x.id = aa.asset_id AND x.status = 'active'
    WHERE aa.album_id = al.id
) s ON true
"""

# ``al`` is visible to user $1: owned, or a member, while its owner is not deleted (Immich's
# ``AlbumRepository`` queries join the owner with ``deletedAt IS NULL``: a deleted user's shared
# albums leave their members' lists and statistics).
_VISIBLE = (
    "al.deleted_at IS NULL AND (al.owner_id = $1 OR EXISTS "
    "(SELECT 1 FROM album_users m WHERE m.album_id = al.id AND m.user_id = $1)) "
    "AND EXISTS (SELECT 1 FROM users o WHERE o.id = al.owner_id AND o.deleted_at IS NULL)"
)


def _album(row: asyncpg.Record) -> Album:
    return Album(**dict(row))


async def create_album(
    pool: asyncpg.Pool,
    *,
    owner_id: uuid.UUID,
    album_name: str,
    description: str = "",
    members: Sequence[tuple[uuid.UUID, MemberRole]] = (),
    order: Order = "desc",
) -> uuid.UUID:
    """Insert an album owned by ``owner_id`` with its initial members (no assets yet).

    Args:
        members: (user id, role) pairs; unknown user ids raise.
        order: Its assets' order, ``desc`` (newest first) or ``asc``.

    Returns:
        The new album's id.

    Raises:
        asyncpg.ForeignKeyViolationError: A member id is not a user.
    """
    album_id = uuid.uuid4()
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            'INSERT INTO albums (id, owner_id, album_name, description, "order") '
            "VALUES ($1, $2, $3, $4, $5)",
            album_id,
            owner_id,
            album_name,
            description,
            order,
        )
        if members:
            await conn.executemany(
                "INSERT INTO album_users (album_id, user_id, role) VALUES ($1, $2, $3)",
                [(album_id, user_id, role) for user_id, role in members],
            )
    return album_id


async def get_role(pool: asyncpg.Pool, user_id: uuid.UUID, album_id: uuid.UUID) -> Role | None:
    """What ``user_id`` is to album ``album_id``: owner, editor, viewer, or None (no access)."""
    row = await pool.fetchrow(
        "SELECT al.owner_id = $1 AS is_owner, m.role FROM albums al "
        "LEFT JOIN album_users m ON m.album_id = al.id AND m.user_id = $1 "
        "WHERE al.id = $2 AND al.deleted_at IS NULL",
        user_id,
        album_id,
    )
    if row is None:
        return None
    if row["is_owner"]:
        return "owner"
    role: Role | None = row["role"]
    return role


async def list_albums(
    pool: asyncpg.Pool,
    user_id: uuid.UUID,
    *,
    is_owned: bool | None = None,
    is_shared: bool | None = None,
    asset_id: uuid.UUID | None = None,
    album_id: uuid.UUID | None = None,
    name: str | None = None,
) -> list[Album]:
    """Albums ``user_id`` sees (owned or shared with them), newest first, filtered.

    Args:
        is_owned: True: only owned; False: only those shared with the user by others.
        is_shared: True: only shared albums (with members, or with a shared link: owned ones
            shared out, or shared with the user); False: only albums neither.
        asset_id: only albums holding this asset.
        album_id: only this album.
        name: only albums with exactly this name.
    """
    where = [_VISIBLE]
    args: list[object] = [user_id]
    if is_owned is not None:
        where.append("al.owner_id = $1" if is_owned else "al.owner_id <> $1")
    if is_shared is not None:
        where.append(_SHARED if is_shared else f"NOT {_SHARED}")
    if asset_id is not None:
        args.append(asset_id)
        where.append(
            f"EXISTS (SELECT 1 FROM album_assets aa WHERE aa.album_id = al.id "
            f"AND aa.asset_id = ${len(args)})"
        )
    if album_id is not None:
        args.append(album_id)
        where.append(f"al.id = ${len(args)}")
    if name is not None:
        args.append(name)
        where.append(f"al.album_name = ${len(args)}")
    rows = await pool.fetch(
        f"{_ALBUM_SELECT} WHERE {' AND '.join(where)} ORDER BY al.created_at DESC, al.id",
        *args,
    )
    return [_album(r) for r in rows]


async def get_album(pool: asyncpg.Pool, user_id: uuid.UUID, album_id: uuid.UUID) -> Album | None:
    """Album ``album_id`` if ``user_id`` sees it, else None."""
    row = await pool.fetchrow(f"{_ALBUM_SELECT} WHERE {_VISIBLE} AND al.id = $2", user_id, album_id)
    return None if row is None else _album(row)


async def members_of(pool: asyncpg.Pool, albums: Sequence[Album]) -> dict[uuid.UUID, list[Member]]:
    """Owner and members of each album: album id -> owner first, then members by name, email."""
    if not albums:
        return {}
    ids = [a.id for a in albums]
    rows = await pool.fetch(
        f"SELECT al.id AS album_id, 'owner' AS role, {_USER_COLS} FROM albums al "
        "JOIN users u ON u.id = al.owner_id WHERE al.id = ANY($1::uuid[]) "
        f"UNION ALL SELECT m.album_id, m.role, {_USER_COLS} FROM album_users m "
        "JOIN users u ON u.id = m.user_id WHERE m.album_id = ANY($1::uuid[])",
        ids,
    )
    found: dict[uuid.UUID, list[Member]] = {i: [] for i in ids}
    for row in rows:
        data = dict(row)
        album_id, role = data.pop("album_id"), data.pop("role")
        found[album_id].append(Member(user=User(**data), role=role))
    for members in found.values():
        members.sort(key=lambda m: (m.role != "owner", m.user.name.lower(), m.user.email))
    return found


async def contributor_counts(pool: asyncpg.Pool, album_id: uuid.UUID) -> dict[uuid.UUID, int]:
    """Asset owner id -> number of the album's active assets they own."""
    rows = await pool.fetch(
        "SELECT x.owner_id, count(*) AS n FROM album_assets aa "
        "JOIN assets x ON x.id = aa.asset_id AND x.status = 'active' "
        "WHERE aa.album_id = $1 GROUP BY x.owner_id",
        album_id,
    )
    return {r["owner_id"]: r["n"] for r in rows}


async def get_album_detail(
    pool: asyncpg.Pool, user_id: uuid.UUID, album_id: uuid.UUID
) -> AlbumDetail | None:
    """Album ``album_id`` with members and contributor counts, if ``user_id`` sees it."""
    album = await get_album(pool, user_id, album_id)
    if album is None:
        return None
    members = await members_of(pool, [album])
    return AlbumDetail(
        album=album,
        members=members[album.id],
        contributor_counts=await contributor_counts(pool, album_id),
    )


async def update_album(
    pool: asyncpg.Pool,
    album_id: uuid.UUID,
    *,
    album_name: str | None = None,
    description: str | None = None,
    album_thumbnail_asset_id: uuid.UUID | None = None,
    is_activity_enabled: bool | None = None,
    order: Order | None = None,
) -> bool:
    """Change the given fields of an album (None leaves a field as it is).

    The caller checks that the caller may (the owner) and that the thumbnail asset is in the
    album (:func:`has_assets`).

    Returns:
        Whether the album exists.
    """
    status = await pool.execute(
        "UPDATE albums SET album_name = coalesce($2, album_name), "
        "description = coalesce($3, description), "
        "album_thumbnail_asset_id = coalesce($4, album_thumbnail_asset_id), "
        "is_activity_enabled = coalesce($5, is_activity_enabled), "
        '"order" = coalesce($6, "order"), updated_at = now() '
        "WHERE id = $1 AND deleted_at IS NULL",
        album_id,
        album_name,
        description,
        album_thumbnail_asset_id,
        is_activity_enabled,
        order,
    )
    return status != "UPDATE 0"


async def delete_album(pool: asyncpg.Pool, album_id: uuid.UUID) -> bool:
    """Delete an album (its asset links and memberships go with it; the assets stay).

    Returns:
        Whether there was such an album.
    """
    return await pool.execute("DELETE FROM albums WHERE id = $1", album_id) != "DELETE 0"


async def has_assets(
    pool: asyncpg.Pool, album_id: uuid.UUID, asset_ids: Iterable[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of ``asset_ids`` are in the album."""
    rows = await pool.fetch(
        "SELECT asset_id FROM album_assets WHERE album_id = $1 AND asset_id = ANY($2::uuid[])",
        album_id,
        list(asset_ids),
    )
    return {r["asset_id"] for r in rows}


async def addable_assets(
    pool: asyncpg.Pool, user_id: uuid.UUID, asset_ids: Iterable[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of ``asset_ids`` ``user_id`` may put in an album (Immich's ``AssetShare`` access,
    server/src/utils/access.ts): their own active assets, never a locked one (the access
    ignores an unlocked session), and those a partnership lets them view (``checkPartnerAccess``:
    the sharer's timeline and hidden assets, not of a deleted sharer). An asset seen only
    through a shared album is not theirs to share."""
    rows = await pool.fetch(
        "SELECT x.id FROM assets x WHERE x.id = ANY($2::uuid[]) AND x.status = 'active' AND "
        "(x.owner_id = $1 AND x.visibility <> 'locked' OR "
        "x.visibility IN ('timeline', 'hidden') AND EXISTS (SELECT 1 FROM partners p "
        "JOIN users s ON s.id = p.shared_by_id AND s.deleted_at IS NULL "
        "WHERE p.shared_by_id = x.owner_id AND p.shared_with_id = $1))",
        user_id,
        list(asset_ids),
    )
    return {r["id"] for r in rows}


async def owners_of(
    pool: asyncpg.Pool, asset_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID]:
    """Asset id -> owner id, for those of ``asset_ids`` that exist."""
    rows = await pool.fetch(
        "SELECT id, owner_id FROM assets WHERE id = ANY($1::uuid[])", list(asset_ids)
    )
    return {r["id"]: r["owner_id"] for r in rows}


_FIX_THUMBNAIL = (
    "UPDATE albums al SET album_thumbnail_asset_id = (SELECT aa.asset_id FROM album_assets aa "
    "WHERE aa.album_id = al.id ORDER BY aa.created_at, aa.asset_id LIMIT 1) "
    "WHERE al.id = ANY($1::uuid[]) AND (al.album_thumbnail_asset_id IS NULL OR NOT EXISTS "
    "(SELECT 1 FROM album_assets aa WHERE aa.album_id = al.id "
    "AND aa.asset_id = al.album_thumbnail_asset_id))"
)


async def remove_from_every_album(
    conn: asyncpg.Connection, owner_id: uuid.UUID, asset_ids: Sequence[uuid.UUID]
) -> list[uuid.UUID]:
    """Take ``owner_id``'s assets out of every album and individual shared link (an asset
    moved into the locked folder: Immich's ``updateAll`` removes it from all albums, and it is
    never shared). Albums that held one move their ``updated_at`` and lose it as thumbnail.
    Run inside the transaction that changes the visibility.

    Returns:
        The albums that held one of the assets.
    """
    rows = await conn.fetch(
        "DELETE FROM album_assets WHERE asset_id = ANY($2::uuid[]) "
        "AND asset_id IN (SELECT id FROM assets WHERE owner_id = $1) RETURNING album_id",
        owner_id,
        list(asset_ids),
    )
    await conn.execute(
        "DELETE FROM shared_link_assets WHERE asset_id = ANY($2::uuid[]) "
        "AND asset_id IN (SELECT id FROM assets WHERE owner_id = $1)",
        owner_id,
        list(asset_ids),
    )
    touched = list({r["album_id"] for r in rows})
    if touched:
        await conn.execute(
            "UPDATE albums SET updated_at = now() WHERE id = ANY($1::uuid[])", touched
        )
        await conn.execute(_FIX_THUMBNAIL, touched)
        await activities.forget_removed_assets(conn, asset_ids)
    return touched


async def add_assets(
    pool: asyncpg.Pool, album_ids: Sequence[uuid.UUID], asset_ids: Sequence[uuid.UUID]
) -> set[tuple[uuid.UUID, uuid.UUID]]:
    """Put every asset in every album (already there: left alone). Permission is the caller's.

    An album without a thumbnail gets its first added asset as one. The albums' ``updated_at``
    moves when something was added.

    Returns:
        The (album id, asset id) pairs newly added.
    """
    if not album_ids or not asset_ids:
        return set()
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            "INSERT INTO album_assets (album_id, asset_id, created_at) "
            "SELECT a.album, t.asset, clock_timestamp() FROM unnest($1::uuid[]) AS a(album), "
            "unnest($2::uuid[]) WITH ORDINALITY AS t(asset, n) ORDER BY t.n, a.album "
            "ON CONFLICT DO NOTHING RETURNING album_id, asset_id",
            list(album_ids),
            list(asset_ids),
        )
        added = {(r["album_id"], r["asset_id"]) for r in rows}
        touched = list({album for album, _ in added})
        if touched:
            await conn.execute(
                "UPDATE albums SET updated_at = now() WHERE id = ANY($1::uuid[])", touched
            )
            await conn.execute(_FIX_THUMBNAIL, touched)
    return added


async def remove_assets(
    pool: asyncpg.Pool, album_id: uuid.UUID, asset_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """Take assets out of an album (the assets stay, their comments and likes there go:
    :func:`darkroom_db.activities.forget_removed_assets`); a removed thumbnail is replaced by
    the album's first remaining asset (or none). Permission is the caller's.

    Returns:
        The asset ids removed.
    """
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            "DELETE FROM album_assets WHERE album_id = $1 AND asset_id = ANY($2::uuid[]) "
            "RETURNING asset_id",
            album_id,
            list(asset_ids),
        )
        removed = {r["asset_id"] for r in rows}
        if removed:
            await conn.execute("UPDATE albums SET updated_at = now() WHERE id = $1", album_id)
            await conn.execute(_FIX_THUMBNAIL, [album_id])
            await activities.forget_removed_assets(conn, list(removed))
    return removed


async def existing_users(pool: asyncpg.Pool, user_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Which of ``user_ids`` are active (not deleted) users."""
    rows = await pool.fetch(
        "SELECT id FROM users WHERE id = ANY($1::uuid[]) AND deleted_at IS NULL", list(user_ids)
    )
    return {r["id"] for r in rows}


async def add_members(
    pool: asyncpg.Pool, album_id: uuid.UUID, members: Sequence[tuple[uuid.UUID, MemberRole]]
) -> None:
    """Share an album with users (pairs of user id, role); the caller checked they are new."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.executemany(
            "INSERT INTO album_users (album_id, user_id, role) VALUES ($1, $2, $3) "
            "ON CONFLICT (album_id, user_id) DO UPDATE SET role = excluded.role",
            [(album_id, user_id, role) for user_id, role in members],
        )
        await conn.execute("UPDATE albums SET updated_at = now() WHERE id = $1", album_id)


async def set_member_role(
    pool: asyncpg.Pool, album_id: uuid.UUID, user_id: uuid.UUID, role: MemberRole
) -> bool:
    """Change a member's role.

    Returns:
        Whether ``user_id`` is a member of the album.
    """
    status = await pool.execute(
        "UPDATE album_users SET role = $3 WHERE album_id = $1 AND user_id = $2",
        album_id,
        user_id,
        role,
    )
    return status != "UPDATE 0"


async def remove_member(pool: asyncpg.Pool, album_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    """Stop sharing an album with a user.

    Returns:
        Whether ``user_id`` was a member.
    """
    async with pool.acquire() as conn, conn.transaction():
        status = await conn.execute(
            "DELETE FROM album_users WHERE album_id = $1 AND user_id = $2", album_id, user_id
        )
        if status == "DELETE 0":
            return False
        await conn.execute("UPDATE albums SET updated_at = now() WHERE id = $1", album_id)
    return True


async def statistics(pool: asyncpg.Pool, user_id: uuid.UUID) -> Statistics:
    """Album counts for ``user_id`` (see :class:`Statistics`)."""
    row = await pool.fetchrow(
        f"WITH a AS (SELECT al.owner_id = $1 AS owned, {_SHARED} AS shared "
        f"FROM albums al WHERE {_VISIBLE}) "
        "SELECT count(*) FILTER (WHERE owned) AS owned, "
        "count(*) FILTER (WHERE shared) AS shared, "
        "count(*) FILTER (WHERE owned AND NOT shared) AS not_shared FROM a",
        user_id,
    )
    assert row is not None
    return Statistics(owned=row["owned"], shared=row["shared"], not_shared=row["not_shared"])


async def map_markers(pool: asyncpg.Pool, album_id: uuid.UUID) -> list[MapMarker]:
    """The album's active assets that have GPS coordinates, newest capture first."""
    rows = await pool.fetch(
        "SELECT x.id, e.latitude AS lat, e.longitude AS lon, e.city, e.state, e.country "
        "FROM album_assets aa JOIN assets x ON x.id = aa.asset_id AND x.status = 'active' "
        "JOIN asset_exif e ON e.asset_id = x.id "
        "WHERE aa.album_id = $1 AND e.latitude IS NOT NULL AND e.longitude IS NOT NULL "
        "ORDER BY x.local_date_time DESC",
        album_id,
    )
    return [MapMarker(**dict(r)) for r in rows]


async def get_viewable_asset(
    pool: asyncpg.Pool, user_id: uuid.UUID, asset_id: uuid.UUID
) -> Asset | None:
    """Asset ``asset_id`` if ``user_id`` may view it (see :func:`can_view_asset`), else None.

    The owner sees their asset unless deleted for good (trashed included); album members see
    it while it is active, and so the motion part of a live photo in the album (the hidden
    video the still's ``live_photo_video_id`` names, which is never in an album itself).
    """
    row = await pool.fetchrow(
        f"SELECT {_ASSET_COLS} FROM assets x WHERE x.id = $2 AND x.status <> 'deleted' AND "
        "(x.owner_id = $1 OR (x.status = 'active' AND EXISTS (SELECT 1 FROM album_assets aa "
        "JOIN albums al ON al.id = aa.album_id AND al.deleted_at IS NULL "
        "JOIN assets s ON s.id = aa.asset_id AND s.status = 'active' "
        "WHERE (s.id = x.id OR s.live_photo_video_id = x.id) "
        "AND (al.owner_id = $1 OR EXISTS (SELECT 1 FROM album_users m "
        "WHERE m.album_id = al.id AND m.user_id = $1)))))",
        user_id,
        asset_id,
    )
    return None if row is None else Asset(**dict(row))


async def can_view_asset(pool: asyncpg.Pool, user_id: uuid.UUID, asset_id: uuid.UUID) -> bool:
    """Whether ``user_id`` may view asset ``asset_id``: they own it, or it is in an album they
    own or are a member of."""
    return await get_viewable_asset(pool, user_id, asset_id) is not None


async def users_seeing_assets(pool: asyncpg.Pool, asset_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """The users who see any of ``asset_ids`` through an album (the websocket's fan-out).

    They are the owner and the members of every album holding one of the assets, or holding
    the still whose motion part (``live_photo_video_id``) it is (:func:`get_viewable_asset`'s
    rule). An asset deleted for good is no longer in ``album_assets`` (the rows went with it);
    the albums that held it are read from ``album_asset_audit`` instead, so its deletion still
    reaches the users who saw it.

    Args:
        pool: The database.
        asset_ids: The assets (any owner).

    Returns:
        The user ids; the assets' owners are in it only when they own or share such an album.
    """
    if not asset_ids:
        return set()
    rows = await pool.fetch(
        "WITH held AS ("
        " SELECT aa.album_id FROM album_assets aa WHERE aa.asset_id = ANY($1::uuid[])"
        " UNION SELECT aa.album_id FROM album_assets aa JOIN assets s ON s.id = aa.asset_id"
        " WHERE s.live_photo_video_id = ANY($1::uuid[])"
        " UNION SELECT au.album_id FROM album_asset_audit au WHERE au.asset_id = ANY($1::uuid[])"
        " AND NOT EXISTS (SELECT 1 FROM assets x WHERE x.id = au.asset_id))"
        " SELECT al.owner_id AS user_id FROM albums al JOIN held h ON h.album_id = al.id"
        " WHERE al.deleted_at IS NULL"
        " UNION SELECT m.user_id FROM album_users m JOIN held h ON h.album_id = m.album_id",
        list(asset_ids),
    )
    return {r["user_id"] for r in rows}
