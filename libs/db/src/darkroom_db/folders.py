"""Repository: the folder view (Immich's "Views": folders of the originals' paths).

A folder is the directory part of an asset's ``original_path``. For an upload that is its
storage key ``upload/<userId>/<ab>/<cd>`` (``darkroom_ingest.keys.original_key``), the same
layout Immich shows for uploads (``/data/upload/<userId>/<ab>/<cd>``); for assets of external
libraries or a storage template it is their real folder. As Immich's ``ViewRepository``, only
the owner's active assets of the timeline (not archived, hidden or trashed) count.
"""

from __future__ import annotations

import uuid

import asyncpg

from darkroom_db.assets import ASSET_COLUMNS, Asset

#: SQL: the folder of ``original_path`` (everything before its last ``/``; NULL when none).
_FOLDER = "substring(a.original_path from '^(.*)/[^/]*$')"

_SCOPE = "a.owner_id = $1 AND a.status = 'active' AND a.visibility = 'timeline'"


async def unique_paths(pool: asyncpg.Pool, owner_id: uuid.UUID) -> list[str]:
    """Every folder holding one of ``owner_id``'s timeline assets, sorted, without a trailing
    slash (Immich's ``getUniqueOriginalPaths``)."""
    rows = await pool.fetch(
        f"SELECT DISTINCT {_FOLDER} AS folder FROM assets a "
        f"WHERE {_SCOPE} AND {_FOLDER} IS NOT NULL ORDER BY folder",
        owner_id,
    )
    return [r["folder"] for r in rows]


async def assets_in(pool: asyncpg.Pool, owner_id: uuid.UUID, path: str) -> list[Asset]:
    """``owner_id``'s timeline assets directly in folder ``path`` (not in its sub-folders).

    Args:
        pool: Pool.
        owner_id: Whose assets.
        path: A folder as :func:`unique_paths` gives it; a trailing ``/`` is ignored (as
            Immich's ``getAssetsByOriginalPath``), and it is compared exactly, not as a pattern.

    Returns:
        The assets, by original file name (then id).
    """
    cols = ", ".join(f"a.{c.strip()}" for c in ASSET_COLUMNS.split(","))
    rows = await pool.fetch(
        f"SELECT {cols} FROM assets a WHERE {_SCOPE} AND {_FOLDER} = $2 "
        "ORDER BY a.original_file_name, a.id",
        owner_id,
        path.rstrip("/"),
    )
    return [Asset(**dict(r)) for r in rows]
