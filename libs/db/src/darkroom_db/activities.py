"""Repository: album activity, the comments and likes of album members (Immich's ``activity``).

An activity belongs to an album and optionally to an asset in it (``asset_id``); a like has no
comment. Who may read, add and delete is decided here in the caller-scoped lookups the gateway
passes to ``require_access`` (Immich's access checks, ``access.repository.ts``):

- read (list, statistics): the album's owner and members (:func:`darkroom_db.albums.get_role`);
- create: the owner and members of an album whose ``is_activity_enabled`` is on
  (:func:`can_create`);
- delete: the author, or the owner of the activity's album (:func:`get_deletable`).

An activity on an asset lives only as long as the asset is in the album: Immich's ``activity``
table has a foreign key ``(albumId, assetId)`` to ``album_asset`` with ``ON DELETE CASCADE``
(``activity.table.ts``); here :func:`forget_removed_assets` does that cascade, called by
whatever takes assets out of albums (:mod:`darkroom_db.albums`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg
import msgspec

from darkroom_db.users import User

_USER_COLS = ", ".join(f"u.{c} AS user_{c}" for c in User.__struct_fields__)


class Activity(msgspec.Struct, frozen=True, kw_only=True):
    """A row of ``activity`` with its author."""

    id: uuid.UUID
    album_id: uuid.UUID
    asset_id: uuid.UUID | None
    comment: str | None
    is_liked: bool
    created_at: datetime
    user: User


class Statistics(msgspec.Struct, frozen=True, kw_only=True):
    """How many comments and likes (spec: ActivityStatisticsResponseDto)."""

    comments: int
    likes: int


_SELECT = (
    f"SELECT a.id, a.album_id, a.asset_id, a.comment, a.is_liked, a.created_at, {_USER_COLS} "
    "FROM activity a JOIN users u ON u.id = a.user_id AND u.deleted_at IS NULL "
    "LEFT JOIN assets x ON x.id = a.asset_id "
)
# activities of an asset in the trash (or deleted) are hidden, as Immich's search does
_LIVE_ASSET = "(a.asset_id IS NULL OR x.status = 'active')"


def _activity(row: asyncpg.Record) -> Activity:
    data = dict(row)
    user = User(**{f: data.pop(f"user_{f}") for f in User.__struct_fields__})
    return Activity(**data, user=user)


async def search(
    pool: asyncpg.Pool,
    album_id: uuid.UUID,
    *,
    asset_id: uuid.UUID | None = None,
    album_level: bool = False,
    user_id: uuid.UUID | None = None,
    is_liked: bool | None = None,
) -> list[Activity]:
    """An album's activities, oldest first. The caller checked the album may be read.

    Args:
        pool: Database pool.
        album_id: The album.
        asset_id: Only those on this asset.
        album_level: Only those on the album itself (no asset); wins over ``asset_id``.
        user_id: Only those by this user.
        is_liked: Only likes (True) or only comments (False).
    """
    where = ["a.album_id = $1", _LIVE_ASSET]
    args: list[object] = [album_id]
    if album_level:
        where.append("a.asset_id IS NULL")
    elif asset_id is not None:
        args.append(asset_id)
        where.append(f"a.asset_id = ${len(args)}")
    if user_id is not None:
        args.append(user_id)
        where.append(f"a.user_id = ${len(args)}")
    if is_liked is not None:
        args.append(is_liked)
        where.append(f"a.is_liked = ${len(args)}")
    rows = await pool.fetch(
        f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY a.created_at, a.id", *args
    )
    return [_activity(r) for r in rows]


async def statistics(
    pool: asyncpg.Pool, album_id: uuid.UUID, asset_id: uuid.UUID | None = None
) -> Statistics:
    """Comments and likes of an album (all of them), or of one asset in it."""
    row = await pool.fetchrow(
        "SELECT count(*) FILTER (WHERE NOT a.is_liked) AS comments, "
        "count(*) FILTER (WHERE a.is_liked) AS likes FROM activity a "
        "JOIN users u ON u.id = a.user_id AND u.deleted_at IS NULL "
        f"LEFT JOIN assets x ON x.id = a.asset_id WHERE a.album_id = $1 AND {_LIVE_ASSET} "
        "AND ($2::uuid IS NULL OR a.asset_id = $2)",
        album_id,
        asset_id,
    )
    assert row is not None
    return Statistics(comments=row["comments"], likes=row["likes"])


async def can_create(
    pool: asyncpg.Pool, user_id: uuid.UUID, album_id: uuid.UUID, asset_id: uuid.UUID | None
) -> bool:
    """Whether ``user_id`` may comment on or like the album (or ``asset_id`` in it): they own
    it or are a member, the album allows activity, and the asset (when given) is in it."""
    return bool(
        await pool.fetchval(
            "SELECT EXISTS (SELECT 1 FROM albums al WHERE al.id = $2 AND al.deleted_at IS NULL "
            "AND al.is_activity_enabled AND (al.owner_id = $1 OR EXISTS (SELECT 1 FROM "
            "album_users m WHERE m.album_id = al.id AND m.user_id = $1)) AND ($3::uuid IS NULL "
            "OR EXISTS (SELECT 1 FROM album_assets aa JOIN assets x ON x.id = aa.asset_id "
            "AND x.status = 'active' WHERE aa.album_id = al.id AND aa.asset_id = $3)))",
            user_id,
            album_id,
            asset_id,
        )
    )


async def find_like(
    pool: asyncpg.Pool, user_id: uuid.UUID, album_id: uuid.UUID, asset_id: uuid.UUID | None
) -> Activity | None:
    """The user's like of the album (``asset_id`` None) or of the asset, if they gave one."""
    row = await pool.fetchrow(
        f"{_SELECT} WHERE a.album_id = $1 AND a.user_id = $2 AND a.is_liked "
        "AND a.asset_id IS NOT DISTINCT FROM $3",
        album_id,
        user_id,
        asset_id,
    )
    return None if row is None else _activity(row)


async def create(
    pool: asyncpg.Pool,
    *,
    user_id: uuid.UUID,
    album_id: uuid.UUID,
    asset_id: uuid.UUID | None,
    comment: str | None,
    is_liked: bool,
) -> tuple[Activity, bool]:
    """Add a comment, or a like (a repeated like returns the existing one).

    Returns:
        The activity, and whether it existed already (a duplicate like).
    """
    async with pool.acquire() as conn:
        new_id = await conn.fetchval(
            "INSERT INTO activity (id, album_id, asset_id, user_id, comment, is_liked) "
            "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING id",
            uuid.uuid4(),
            album_id,
            asset_id,
            user_id,
            None if is_liked else comment,
            is_liked,
        )
    if new_id is None:
        existing = await find_like(pool, user_id, album_id, asset_id)
        assert existing is not None
        return existing, True
    row = await pool.fetchrow(f"{_SELECT} WHERE a.id = $1", new_id)
    assert row is not None
    return _activity(row), False


async def get_deletable(
    pool: asyncpg.Pool, user_id: uuid.UUID, activity_id: uuid.UUID
) -> Activity | None:
    """Activity ``activity_id`` if ``user_id`` may delete it: its author or the album's owner."""
    row = await pool.fetchrow(
        f"{_SELECT} JOIN albums al ON al.id = a.album_id AND al.deleted_at IS NULL "
        "WHERE a.id = $2 AND (a.user_id = $1 OR al.owner_id = $1)",
        user_id,
        activity_id,
    )
    return None if row is None else _activity(row)


async def forget_removed_assets(conn: asyncpg.Connection, asset_ids: Sequence[uuid.UUID]) -> int:
    """Delete the comments and likes on ``asset_ids`` in albums that no longer hold them (the
    cascade of Immich's ``(albumId, assetId)`` foreign key). Run in the transaction that took
    the assets out.

    Returns:
        How many activities went.
    """
    result = await conn.execute(
        "DELETE FROM activity a WHERE a.asset_id = ANY($1::uuid[]) AND NOT EXISTS (SELECT 1 "
        "FROM album_assets aa WHERE aa.album_id = a.album_id AND aa.asset_id = a.asset_id)",
        list(asset_ids),
    )
    return int(result.split()[-1])


async def delete(pool: asyncpg.Pool, activity_id: uuid.UUID) -> bool:
    """Delete an activity (the caller checked who may).

    Returns:
        Whether it existed.
    """
    return await pool.execute("DELETE FROM activity WHERE id = $1", activity_id) != "DELETE 0"
