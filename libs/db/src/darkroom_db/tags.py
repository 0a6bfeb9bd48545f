"""Repository: tags (a user's hierarchical labels) and the assets carrying them.

A tag belongs to one user; its ``value`` is the full path (``Travel/2024/Japan``), its parent
the tag one level up (``parent_id``), and its name the last part of the value (Immich's
``mapTag``). Deleting a tag deletes its descendants (``ON DELETE CASCADE``, migration
``0017_tags.sql``). Every function takes the caller's id and only touches that user's tags.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

import asyncpg
import msgspec

_COLUMNS = "id, owner_id, value, parent_id, color, created_at, updated_at"


class Tag(msgspec.Struct, frozen=True, kw_only=True):
    """A row of ``tags``; ``color`` is a CSS hex colour (``#rrggbb``...) or None."""

    id: uuid.UUID
    owner_id: uuid.UUID
    value: str
    parent_id: uuid.UUID | None
    color: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def name(self) -> str:
        """The last part of the value (``Japan`` for ``Travel/2024/Japan``)."""
        return self.value.split("/")[-1]


def _tag(row: asyncpg.Record) -> Tag:
    return Tag(**dict(row))


def split_path(path: str) -> list[str]:
    """The non-empty parts of a tag path (``"a//b/"`` -> ``["a", "b"]``), as Immich's
    ``upsertTags`` splits on ``/`` and drops empty parts."""
    return [part for part in path.split("/") if part]


async def list_tags(pool: asyncpg.Pool, owner_id: uuid.UUID) -> list[Tag]:
    """All of ``owner_id``'s tags, by value (so a parent comes before its children)."""
    rows = await pool.fetch(
        f"SELECT {_COLUMNS} FROM tags WHERE owner_id = $1 ORDER BY value", owner_id
    )
    return [_tag(r) for r in rows]


async def get_tag(pool: asyncpg.Pool, owner_id: uuid.UUID, tag_id: uuid.UUID) -> Tag | None:
    """``owner_id``'s tag ``tag_id``, or None (unknown, or someone else's)."""
    row = await pool.fetchrow(
        f"SELECT {_COLUMNS} FROM tags WHERE id = $1 AND owner_id = $2", tag_id, owner_id
    )
    return None if row is None else _tag(row)


async def get_by_value(pool: asyncpg.Pool, owner_id: uuid.UUID, value: str) -> Tag | None:
    """``owner_id``'s tag whose full path is ``value``, or None."""
    row = await pool.fetchrow(
        f"SELECT {_COLUMNS} FROM tags WHERE owner_id = $1 AND value = $2", owner_id, value
    )
    return None if row is None else _tag(row)


async def owned_ids(
    pool: asyncpg.Pool, owner_id: uuid.UUID, ids: Iterable[uuid.UUID]
) -> set[uuid.UUID]:
    """The ids among ``ids`` that are ``owner_id``'s tags."""
    rows = await pool.fetch(
        "SELECT id FROM tags WHERE owner_id = $1 AND id = ANY($2::uuid[])", owner_id, list(ids)
    )
    return {r["id"] for r in rows}


async def create_tag(
    pool: asyncpg.Pool,
    owner_id: uuid.UUID,
    value: str,
    *,
    parent_id: uuid.UUID | None,
    color: str | None,
) -> Tag | None:
    """Create a tag; None when ``owner_id`` already has one with this ``value``."""
    row = await pool.fetchrow(
        f"""INSERT INTO tags (id, owner_id, value, parent_id, color) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (owner_id, value) DO NOTHING RETURNING {_COLUMNS}""",
        uuid.uuid4(),
        owner_id,
        value,
        parent_id,
        color,
    )
    return None if row is None else _tag(row)


async def upsert_paths(
    conn: asyncpg.Connection | asyncpg.Pool, owner_id: uuid.UUID, paths: Iterable[str]
) -> list[Tag]:
    """Make sure every tag path exists for ``owner_id``, parents included; the leaf tags.

    ``Travel/2024/Japan`` creates (or finds) ``Travel``, ``Travel/2024`` and
    ``Travel/2024/Japan``, each the parent of the next, as Immich's ``upsertTags`` does.
    Idempotent and safe to run concurrently (``ON CONFLICT`` on the user's value).

    Args:
        conn: Connection or pool.
        owner_id: Whose tags.
        paths: Full paths; repeated ones count once, empty parts are dropped, a path with no
            part at all is skipped.

    Returns:
        The tag at the end of each distinct path, in the order given.
    """
    leaves: list[Tag] = []
    for path in dict.fromkeys(paths):
        parent: Tag | None = None
        for part in split_path(path):
            value = f"{parent.value}/{part}" if parent else part
            row = await conn.fetchrow(
                f"""INSERT INTO tags (id, owner_id, value, parent_id) VALUES ($1, $2, $3, $4)
                    ON CONFLICT (owner_id, value) DO UPDATE SET parent_id = EXCLUDED.parent_id
                    RETURNING {_COLUMNS}""",
                uuid.uuid4(),
                owner_id,
                value,
                parent.id if parent else None,
            )
            parent = _tag(row)
        if parent is not None:
            leaves.append(parent)
    return leaves


async def set_color(
    pool: asyncpg.Pool, owner_id: uuid.UUID, tag_id: uuid.UUID, color: str | None
) -> Tag | None:
    """Change (or clear, with None) a tag's colour; the updated tag, None when not found."""
    row = await pool.fetchrow(
        f"""UPDATE tags SET color = $3, updated_at = now() WHERE id = $1 AND owner_id = $2
            RETURNING {_COLUMNS}""",
        tag_id,
        owner_id,
        color,
    )
    return None if row is None else _tag(row)


async def delete_tag(pool: asyncpg.Pool, owner_id: uuid.UUID, tag_id: uuid.UUID) -> bool:
    """Delete a tag with its descendants and their asset links; False when not found."""
    result = await pool.execute(
        "DELETE FROM tags WHERE id = $1 AND owner_id = $2", tag_id, owner_id
    )
    return result != "DELETE 0"


async def delete_empty(pool: asyncpg.Pool) -> int:
    """Delete every tag (any user's) that neither it nor any of its descendants is on an asset,
    as Immich's ``TagRepository.deleteEmptyTags`` (the ``tag-cleanup`` job): a parent of a
    tagged child stays, an unused child of a tagged parent goes. A trashed asset still counts.

    Returns:
        How many tags were deleted (descendants of a deleted tag go with it, uncounted).
    """
    result = await pool.execute(
        """WITH RECURSIVE used (id) AS (
               SELECT tag_id FROM tag_assets
               UNION
               SELECT t.parent_id FROM tags t JOIN used u ON t.id = u.id
               WHERE t.parent_id IS NOT NULL
           )
           DELETE FROM tags WHERE id NOT IN (SELECT id FROM used)"""
    )
    return int(result.split()[-1])


async def tagged(
    pool: asyncpg.Pool, tag_id: uuid.UUID, asset_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """The ids among ``asset_ids`` that carry tag ``tag_id`` itself."""
    rows = await pool.fetch(
        "SELECT asset_id FROM tag_assets WHERE tag_id = $1 AND asset_id = ANY($2::uuid[])",
        tag_id,
        list(asset_ids),
    )
    return {r["asset_id"] for r in rows}


async def add_assets(
    conn: asyncpg.Connection | asyncpg.Pool, pairs: Iterable[tuple[uuid.UUID, uuid.UUID]]
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Link (tag id, asset id) pairs; those newly linked (an existing link is left alone).

    The caller has checked that it owns the tags and the assets.
    """
    tag_ids, asset_ids = [], []
    for tag_id, asset_id in dict.fromkeys(pairs):
        tag_ids.append(tag_id)
        asset_ids.append(asset_id)
    if not tag_ids:
        return []
    rows = await conn.fetch(
        """INSERT INTO tag_assets (tag_id, asset_id)
           SELECT * FROM unnest($1::uuid[], $2::uuid[])
           ON CONFLICT DO NOTHING RETURNING tag_id, asset_id""",
        tag_ids,
        asset_ids,
    )
    return [(r["tag_id"], r["asset_id"]) for r in rows]


async def remove_assets(
    pool: asyncpg.Pool, tag_id: uuid.UUID, asset_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """Unlink assets from tag ``tag_id``; the ids that were linked."""
    rows = await pool.fetch(
        "DELETE FROM tag_assets WHERE tag_id = $1 AND asset_id = ANY($2::uuid[]) "
        "RETURNING asset_id",
        tag_id,
        list(asset_ids),
    )
    return {r["asset_id"] for r in rows}


async def tags_of_asset(pool: asyncpg.Pool, asset_id: uuid.UUID) -> list[Tag]:
    """The tags on an asset (its owner's, the only ones that can be), by value."""
    rows = await pool.fetch(
        f"""SELECT {", ".join("t." + c.strip() for c in _COLUMNS.split(","))}
            FROM tags t JOIN tag_assets ta ON ta.tag_id = t.id
            WHERE ta.asset_id = $1 ORDER BY t.value""",
        asset_id,
    )
    return [_tag(r) for r in rows]
