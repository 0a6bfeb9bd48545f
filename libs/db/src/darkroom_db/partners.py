"""Repository: partner sharing (table ``partners``, migration ``0014_partners.sql``).

A partnership ``(shared_by, shared_with)`` lets ``shared_with`` read, view and download every
active asset of ``shared_by`` (never update or delete it); with ``in_timeline`` on, the
sharer's non-archived assets also join the partner's timeline, search and map when asked
(``withPartners``). Behaviour followed: Immich's partner service and access checks
(``server/src/services/partner.service.ts``, ``checkPartnerAccess``) and its documentation
("Partner Sharing": all non-archived photos and videos, never favourites, people or faces).
"""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg
import msgspec

from darkroom_db.assets import Asset
from darkroom_db.users import User

_ASSET_COLS = ", ".join(f"x.{c}" for c in Asset.__struct_fields__)
_USER_COLS = ", ".join(f"u.{c}" for c in User.__struct_fields__)
# What of a sharer's assets ``x`` a partner sees (Immich's ``checkPartnerAccess``).
_SEEN = (
    "x.status = 'active' AND x.visibility IN ('timeline', 'hidden') "
    "AND EXISTS (SELECT 1 FROM users s WHERE s.id = x.owner_id AND s.deleted_at IS NULL)"
)


class Partner(msgspec.Struct, frozen=True, kw_only=True):
    """A row of ``partners``, with the other user of the pair (``user``) for listings."""

    shared_by_id: uuid.UUID
    shared_with_id: uuid.UUID
    in_timeline: bool
    created_at: datetime
    updated_at: datetime


class AlreadyPartners(Exception):
    """``shared_by`` already shares with ``shared_with``."""


def _partner(row: asyncpg.Record) -> Partner:
    return Partner(
        shared_by_id=row["shared_by_id"],
        shared_with_id=row["shared_with_id"],
        in_timeline=row["in_timeline"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


_PARTNER_COLS = "p.shared_by_id, p.shared_with_id, p.in_timeline, p.created_at, p.updated_at"


async def create(pool: asyncpg.Pool, shared_by_id: uuid.UUID, shared_with_id: uuid.UUID) -> Partner:
    """Share ``shared_by_id``'s library with ``shared_with_id`` (``in_timeline`` off).

    Raises:
        AlreadyPartners: The pair exists already.
    """
    row = await pool.fetchrow(
        "INSERT INTO partners AS p (shared_by_id, shared_with_id) VALUES ($1, $2) "
        f"ON CONFLICT DO NOTHING RETURNING {_PARTNER_COLS}",
        shared_by_id,
        shared_with_id,
    )
    if row is None:
        raise AlreadyPartners
    return _partner(row)


async def get(
    pool: asyncpg.Pool, shared_by_id: uuid.UUID, shared_with_id: uuid.UUID
) -> Partner | None:
    """The partnership of this pair, or None."""
    row = await pool.fetchrow(
        f"SELECT {_PARTNER_COLS} FROM partners p WHERE shared_by_id = $1 AND shared_with_id = $2",
        shared_by_id,
        shared_with_id,
    )
    return None if row is None else _partner(row)


async def remove(pool: asyncpg.Pool, shared_by_id: uuid.UUID, shared_with_id: uuid.UUID) -> bool:
    """End the partnership (its ``partner_audit`` row is written by a trigger).

    Returns:
        Whether there was one.
    """
    status = await pool.execute(
        "DELETE FROM partners WHERE shared_by_id = $1 AND shared_with_id = $2",
        shared_by_id,
        shared_with_id,
    )
    return status != "DELETE 0"


async def set_in_timeline(
    pool: asyncpg.Pool, shared_by_id: uuid.UUID, shared_with_id: uuid.UUID, in_timeline: bool
) -> Partner | None:
    """Turn the sharer's assets in the partner's timeline on or off.

    Returns:
        The partnership as it is now, or None when there is none.
    """
    row = await pool.fetchrow(
        "UPDATE partners p SET in_timeline = $3, updated_at = now() "
        f"WHERE shared_by_id = $1 AND shared_with_id = $2 RETURNING {_PARTNER_COLS}",
        shared_by_id,
        shared_with_id,
        in_timeline,
    )
    return None if row is None else _partner(row)


async def list_partners(
    pool: asyncpg.Pool, user_id: uuid.UUID, *, shared_by: bool
) -> list[tuple[Partner, User]]:
    """The partnerships ``user_id`` is on one side of, each with the user on the other side.

    Args:
        pool: Pool.
        user_id: The caller.
        shared_by: True for those the caller shares (the other user is the partner), False for
            those shared with the caller (the other user is the sharer).

    Returns:
        (partnership, other user), oldest partnership first; soft-deleted users are left out
        (as Immich filters them).
    """
    mine, other = (
        ("shared_by_id", "shared_with_id") if shared_by else ("shared_with_id", "shared_by_id")
    )
    rows = await pool.fetch(
        f"SELECT {_PARTNER_COLS}, {_USER_COLS} FROM partners p JOIN users u ON u.id = p.{other} "
        f"WHERE p.{mine} = $1 AND u.deleted_at IS NULL ORDER BY p.created_at, u.id",
        user_id,
    )
    return [(_partner(r), User(**{f: r[f] for f in User.__struct_fields__})) for r in rows]


async def sharer_ids(
    pool: asyncpg.Pool, user_id: uuid.UUID, *, in_timeline: bool | None = None
) -> list[uuid.UUID]:
    """Ids of the users who share their library with ``user_id``.

    Args:
        pool: Pool.
        user_id: The partner.
        in_timeline: Only those the partner shows in their timeline (True); all when None.
    """
    rows = await pool.fetch(
        "SELECT p.shared_by_id FROM partners p JOIN users u ON u.id = p.shared_by_id "
        "WHERE p.shared_with_id = $1 AND u.deleted_at IS NULL "
        "AND ($2::boolean IS NULL OR p.in_timeline = $2) ORDER BY p.shared_by_id",
        user_id,
        in_timeline,
    )
    return [r["shared_by_id"] for r in rows]


async def partner_user_ids(pool: asyncpg.Pool, owner_id: uuid.UUID) -> list[uuid.UUID]:
    """Ids of the users ``owner_id`` shares their library with: the partners who see the
    owner's assets (the websocket audience of the owner's asset events, as Immich sends
    ``on_upload_success`` etc. to partners too).

    Args:
        pool: Pool.
        owner_id: The sharer.
    """
    rows = await pool.fetch(
        "SELECT shared_with_id FROM partners WHERE shared_by_id = $1 ORDER BY shared_with_id",
        owner_id,
    )
    return [r["shared_with_id"] for r in rows]


async def get_partner_asset(
    pool: asyncpg.Pool, user_id: uuid.UUID, asset_id: uuid.UUID
) -> Asset | None:
    """Asset ``asset_id`` if a partnership lets ``user_id`` view it, else None.

    A partner sees the sharer's active (not trashed) assets in the timeline, and the hidden
    motion parts of live photos; never archived or locked ones, nor those of a deleted sharer
    (Immich's ``checkPartnerAccess`` in ``server/src/repositories/access.repository.ts``).
    """
    row = await pool.fetchrow(
        f"SELECT {_ASSET_COLS} FROM assets x JOIN partners p ON p.shared_by_id = x.owner_id "
        f"AND p.shared_with_id = $1 WHERE x.id = $2 AND {_SEEN}",
        user_id,
        asset_id,
    )
    return None if row is None else Asset(**dict(row))


async def partner_assets(
    pool: asyncpg.Pool, user_id: uuid.UUID, ids: list[uuid.UUID]
) -> list[Asset]:
    """The assets among ``ids`` a partnership lets ``user_id`` view and download (see
    :func:`get_partner_asset`), in no particular order."""
    rows = await pool.fetch(
        f"SELECT {_ASSET_COLS} FROM assets x JOIN partners p ON p.shared_by_id = x.owner_id "
        f"AND p.shared_with_id = $1 WHERE x.id = ANY($2::uuid[]) AND {_SEEN}",
        user_id,
        ids,
    )
    return [Asset(**dict(r)) for r in rows]
