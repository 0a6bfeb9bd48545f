"""Repository: how many assets a user uploaded or took per day (the calendar heatmap)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Literal

import asyncpg

#: Which time an asset counts on: its upload (``assets.created_at``) or its capture
#: (``assets.file_created_at``), each as a UTC calendar date.
HeatmapType = Literal["Upload", "Taken"]

_COLUMN: dict[str, str] = {"Upload": "created_at", "Taken": "file_created_at"}


async def daily_counts(
    pool: asyncpg.Pool,
    owner_id: uuid.UUID,
    start: date,
    end: date,
    kind: HeatmapType,
) -> list[tuple[date, int]]:
    """Assets of ``owner_id`` per UTC day from ``start`` to ``end`` (both included).

    Counted: assets not in the trash, in any visibility but ``hidden`` (the video half of a
    live photo, which the user never sees as an asset of its own). Days without assets are left
    out.

    Args:
        pool: The database.
        owner_id: Whose assets.
        start: First day (UTC).
        end: Last day (UTC), not before ``start``.
        kind: "Upload" or "Taken" (:data:`HeatmapType`).

    Returns:
        ``(day, count)`` pairs, oldest first, count >= 1.
    """
    column = _COLUMN[kind]
    rows = await pool.fetch(
        f"SELECT ({column} AT TIME ZONE 'UTC')::date AS day, count(*) AS n FROM assets "
        f"WHERE owner_id = $1 AND deleted_at IS NULL AND visibility <> 'hidden' "
        f"AND {column} >= $2::date::timestamp AT TIME ZONE 'UTC' "
        f"AND ($3::date IS NULL OR {column} < $3::date::timestamp AT TIME ZONE 'UTC') "
        "GROUP BY day ORDER BY day",
        owner_id,
        start,
        end + timedelta(days=1) if end < date.max else None,
    )
    return [(r["day"], int(r["n"])) for r in rows]
