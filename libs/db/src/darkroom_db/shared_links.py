"""Public shared links: a key (or slug) that opens one album or a chosen set of assets of the
link's owner to anyone holding it (migration ``0013_shared_links.sql``).

Which assets a link reaches is decided here, in one place (:func:`get_link_asset`): the assets of
an INDIVIDUAL link, or the active assets of an ALBUM link's album while the album exists, and the
motion part of a live photo among them. Every read goes to the database, nothing is cached, so a
deleted link or album stops answering on the next request.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Literal

import asyncpg
import msgspec

from darkroom_db.assets import Asset

LinkType = Literal["ALBUM", "INDIVIDUAL"]


class SharedLink(msgspec.Struct, frozen=True, kw_only=True):
    """A row of ``shared_links``."""

    id: uuid.UUID
    owner_id: uuid.UUID
    type: LinkType
    key: str
    slug: str | None
    album_id: uuid.UUID | None
    description: str | None
    password_hash: str | None
    expires_at: datetime | None
    allow_upload: bool
    allow_download: bool
    show_metadata: bool
    created_at: datetime


_COLS = ", ".join(f"l.{c}" for c in SharedLink.__struct_fields__)
_ASSET_COLS = ", ".join(f"x.{c}" for c in Asset.__struct_fields__)

# The active assets link $1 reaches (an album link: while its album is not deleted).
_LINK_ASSETS = (
    "SELECT s.* FROM assets s WHERE s.status = 'active' AND ("
    "EXISTS (SELECT 1 FROM shared_link_assets la WHERE la.shared_link_id = $1 "
    "AND la.asset_id = s.id) OR EXISTS (SELECT 1 FROM shared_links l "
    "JOIN albums al ON al.id = l.album_id AND al.deleted_at IS NULL "
    "JOIN album_assets aa ON aa.album_id = al.id WHERE l.id = $1 AND aa.asset_id = s.id))"
)


def _link(row: asyncpg.Record | None) -> SharedLink | None:
    return None if row is None else SharedLink(**dict(row))


async def create_link(
    pool: asyncpg.Pool,
    *,
    owner_id: uuid.UUID,
    type: LinkType,
    key: str,
    slug: str | None,
    album_id: uuid.UUID | None,
    asset_ids: Sequence[uuid.UUID],
    description: str | None,
    password_hash: str | None,
    expires_at: datetime | None,
    allow_upload: bool,
    allow_download: bool,
    show_metadata: bool,
) -> SharedLink:
    """Insert a link and, for an INDIVIDUAL one, its assets (the caller checked ownership).

    Returns:
        The new link.

    Raises:
        asyncpg.UniqueViolationError: The slug (or, by a 2^-400 chance, the key) is taken.
    """
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "INSERT INTO shared_links AS l (id, owner_id, type, key, slug, album_id, description, "
            "password_hash, expires_at, allow_upload, allow_download, show_metadata) "
            f"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING {_COLS}",
            uuid.uuid4(),
            owner_id,
            type,
            key,
            slug,
            album_id,
            description,
            password_hash,
            expires_at,
            allow_upload,
            allow_download,
            show_metadata,
        )
        assert row is not None
        link = SharedLink(**dict(row))
        if asset_ids:
            await conn.executemany(
                "INSERT INTO shared_link_assets (shared_link_id, asset_id) VALUES ($1, $2) "
                "ON CONFLICT DO NOTHING",
                [(link.id, a) for a in dict.fromkeys(asset_ids)],
            )
    return link


async def get_link(
    pool: asyncpg.Pool, owner_id: uuid.UUID, link_id: uuid.UUID
) -> SharedLink | None:
    """Link ``link_id`` if ``owner_id`` owns it, else None."""
    return _link(
        await pool.fetchrow(
            f"SELECT {_COLS} FROM shared_links l WHERE l.id = $2 AND l.owner_id = $1",
            owner_id,
            link_id,
        )
    )


async def list_links(
    pool: asyncpg.Pool,
    owner_id: uuid.UUID,
    *,
    album_id: uuid.UUID | None = None,
    link_id: uuid.UUID | None = None,
) -> list[SharedLink]:
    """``owner_id``'s links, newest first, optionally of one album or with one id."""
    rows = await pool.fetch(
        f"SELECT {_COLS} FROM shared_links l WHERE l.owner_id = $1 "
        "AND ($2::uuid IS NULL OR l.album_id = $2) AND ($3::uuid IS NULL OR l.id = $3) "
        "ORDER BY l.created_at DESC, l.id",
        owner_id,
        album_id,
        link_id,
    )
    return [SharedLink(**dict(r)) for r in rows]


async def find_link(
    pool: asyncpg.Pool, *, key: str | None = None, slug: str | None = None
) -> SharedLink | None:
    """The link with this key, or else with this slug (expired ones included), or None."""
    if key is not None:
        row = await pool.fetchrow(f"SELECT {_COLS} FROM shared_links l WHERE l.key = $1", key)
    else:
        row = await pool.fetchrow(f"SELECT {_COLS} FROM shared_links l WHERE l.slug = $1", slug)
    return _link(row)


async def update_link(
    pool: asyncpg.Pool, owner_id: uuid.UUID, link_id: uuid.UUID, changes: dict[str, object]
) -> SharedLink | None:
    """Set the given columns of ``owner_id``'s link ``link_id``.

    Args:
        changes: Column name -> new value; only the columns of :class:`SharedLink` that an owner
            may edit (``slug``, ``description``, ``password_hash``, ``expires_at``,
            ``allow_upload``, ``allow_download``, ``show_metadata``).

    Returns:
        The link as it is now, or None when ``owner_id`` has no such link.

    Raises:
        ValueError: A column outside the editable ones.
        asyncpg.UniqueViolationError: The new slug is taken.
    """
    editable = {
        "slug",
        "description",
        "password_hash",
        "expires_at",
        "allow_upload",
        "allow_download",
        "show_metadata",
    }
    if not set(changes) <= editable:
        raise ValueError(f"not editable: {sorted(set(changes) - editable)}")
    if not changes:
        return await get_link(pool, owner_id, link_id)
    sets = ", ".join(f"{col} = ${i}" for i, col in enumerate(changes, start=3))
    return _link(
        await pool.fetchrow(
            f"UPDATE shared_links l SET {sets} WHERE l.id = $2 AND l.owner_id = $1 "
            f"RETURNING {_COLS}",
            owner_id,
            link_id,
            *changes.values(),
        )
    )


async def delete_link(pool: asyncpg.Pool, owner_id: uuid.UUID, link_id: uuid.UUID) -> bool:
    """Delete ``owner_id``'s link ``link_id``; whether there was one."""
    status = await pool.execute(
        "DELETE FROM shared_links WHERE id = $2 AND owner_id = $1", owner_id, link_id
    )
    return status != "DELETE 0"


async def link_asset_ids(pool: asyncpg.Pool, link_id: uuid.UUID) -> list[uuid.UUID]:
    """The ids of the assets an INDIVIDUAL link holds (any status), oldest addition first."""
    rows = await pool.fetch(
        "SELECT asset_id FROM shared_link_assets WHERE shared_link_id = $1 "
        "ORDER BY created_at, asset_id",
        link_id,
    )
    return [r["asset_id"] for r in rows]


async def link_assets(
    pool: asyncpg.Pool, link_id: uuid.UUID, *, limit: int | None = None
) -> list[Asset]:
    """The active assets of an INDIVIDUAL link, oldest first (``fileCreatedAt`` ascending, as
    Immich's ``SharedLinkRepository.get`` gives a link's assets); the first ``limit`` only when
    given (1: the link's cover, as ``SharedLinkRepository.getAll`` lists it)."""
    rows = await pool.fetch(
        f"SELECT {_ASSET_COLS} FROM assets x JOIN shared_link_assets la ON la.asset_id = x.id "
        "WHERE la.shared_link_id = $1 AND x.status = 'active' ORDER BY x.file_created_at, x.id "
        "LIMIT $2",
        link_id,
        limit,
    )
    return [Asset(**dict(r)) for r in rows]


async def add_assets(
    pool: asyncpg.Pool, link_id: uuid.UUID, asset_ids: Iterable[uuid.UUID]
) -> set[uuid.UUID]:
    """Put assets in a link; the ids that were added (not already there)."""
    rows = await pool.fetch(
        "INSERT INTO shared_link_assets (shared_link_id, asset_id) "
        "SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING RETURNING asset_id",
        link_id,
        list(dict.fromkeys(asset_ids)),
    )
    return {r["asset_id"] for r in rows}


async def remove_assets(
    pool: asyncpg.Pool, link_id: uuid.UUID, asset_ids: Iterable[uuid.UUID]
) -> set[uuid.UUID]:
    """Take assets out of a link; the ids that were in it."""
    rows = await pool.fetch(
        "DELETE FROM shared_link_assets WHERE shared_link_id = $1 AND asset_id = ANY($2::uuid[]) "
        "RETURNING asset_id",
        link_id,
        list(asset_ids),
    )
    return {r["asset_id"] for r in rows}


async def get_link_asset(
    pool: asyncpg.Pool, link_id: uuid.UUID, asset_id: uuid.UUID
) -> Asset | None:
    """Asset ``asset_id`` if link ``link_id`` reaches it, else None: the one access rule of
    shared links.

    A link reaches its active assets (:data:`_LINK_ASSETS`) and the motion part of a live photo
    among them (the hidden video the still's ``live_photo_video_id`` names).
    """
    row = await pool.fetchrow(
        f"SELECT {_ASSET_COLS} FROM assets x WHERE x.id = $2 AND x.status = 'active' AND "
        f"EXISTS (SELECT 1 FROM ({_LINK_ASSETS}) s WHERE s.id = x.id "
        "OR s.live_photo_video_id = x.id)",
        link_id,
        asset_id,
    )
    return None if row is None else Asset(**dict(row))


async def reachable_asset_ids(
    pool: asyncpg.Pool, link_id: uuid.UUID, asset_ids: Iterable[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of ``asset_ids`` link ``link_id`` reaches (as :func:`get_link_asset`)."""
    rows = await pool.fetch(
        "SELECT x.id FROM assets x WHERE x.id = ANY($2::uuid[]) AND x.status = 'active' AND "
        f"EXISTS (SELECT 1 FROM ({_LINK_ASSETS}) s WHERE s.id = x.id "
        "OR s.live_photo_video_id = x.id)",
        link_id,
        list(asset_ids),
    )
    return {r["id"] for r in rows}


async def shareable_assets(
    pool: asyncpg.Pool, owner_id: uuid.UUID, asset_ids: Iterable[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of ``asset_ids`` ``owner_id`` may put in a link (Immich's ``AssetShare`` access,
    server/src/utils/access.ts): their own active assets, never a locked one (the access
    ignores an unlocked session), and those a partnership lets them view (``checkPartnerAccess``:
    the sharer's timeline and hidden assets, not of a deleted sharer)."""
    rows = await pool.fetch(
        "SELECT x.id FROM assets x WHERE x.id = ANY($2::uuid[]) AND x.status = 'active' AND "
        "(x.owner_id = $1 AND x.visibility <> 'locked' OR "
        "x.visibility IN ('timeline', 'hidden') AND EXISTS (SELECT 1 FROM partners p "
        "JOIN users s ON s.id = p.shared_by_id AND s.deleted_at IS NULL "
        "WHERE p.shared_by_id = x.owner_id AND p.shared_with_id = $1))",
        owner_id,
        list(asset_ids),
    )
    return {r["id"] for r in rows}


async def albums_with_links(pool: asyncpg.Pool, album_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Which of ``album_ids`` have at least one shared link (``hasSharedLink``)."""
    rows = await pool.fetch(
        "SELECT DISTINCT album_id FROM shared_links WHERE album_id = ANY($1::uuid[])",
        list(album_ids),
    )
    return {r["album_id"] for r in rows}


async def album_is_live(pool: asyncpg.Pool, album_id: uuid.UUID) -> bool:
    """Whether the album exists and is not deleted."""
    return bool(
        await pool.fetchval(
            "SELECT EXISTS (SELECT 1 FROM albums WHERE id = $1 AND deleted_at IS NULL)", album_id
        )
    )
