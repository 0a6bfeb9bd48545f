"""Repository: text read in assets by OCR (``asset_ocr``, ``asset_ocr_status``; 0007)."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg
import msgspec


class OcrLine(msgspec.Struct, frozen=True, kw_only=True):
    """One line of text found in an asset's preview.

    Attributes:
        text: The recognised text.
        box: Four corners (x1, y1, ..., x4, y4), clockwise from top-left, each in 0..1 of the
            preview's width (x) or height (y).
        score: Recognition confidence, 0..1.
    """

    text: str
    box: list[float]
    score: float


async def replace_lines(
    pool: asyncpg.Pool,
    asset_id: uuid.UUID,
    owner_id: uuid.UUID,
    lines: list[OcrLine],
) -> None:
    """Store ``lines`` as the asset's OCR text, replacing what a previous run stored
    (idempotent: one transaction deletes and inserts), and mark the asset done."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("DELETE FROM asset_ocr WHERE asset_id = $1", asset_id)
        if lines:
            await conn.executemany(
                "INSERT INTO asset_ocr (asset_id, owner_id, text, box, score) "
                "VALUES ($1, $2, $3, $4, $5)",
                [(asset_id, owner_id, x.text, x.box, x.score) for x in lines],
            )
        await conn.execute(
            "INSERT INTO asset_ocr_status (asset_id, owner_id, lines) VALUES ($1, $2, $3) "
            "ON CONFLICT (asset_id) DO UPDATE SET lines = excluded.lines, done_at = now()",
            asset_id,
            owner_id,
            len(lines),
        )


async def get_lines(pool: asyncpg.Pool, owner_id: uuid.UUID, asset_id: uuid.UUID) -> list[OcrLine]:
    """The OCR lines of ``owner_id``'s asset, top to bottom (empty when none or not run)."""
    rows = await pool.fetch(
        "SELECT text, box, score FROM asset_ocr WHERE asset_id = $1 AND owner_id = $2 "
        "ORDER BY box[2], box[1], id",
        asset_id,
        owner_id,
    )
    return [OcrLine(text=r["text"], box=list(r["box"]), score=float(r["score"])) for r in rows]


async def done_at(pool: asyncpg.Pool, asset_id: uuid.UUID) -> datetime | None:
    """When OCR last ran on the asset, or None if never."""
    return await pool.fetchval("SELECT done_at FROM asset_ocr_status WHERE asset_id = $1", asset_id)


async def matching_assets(
    pool: asyncpg.Pool | asyncpg.Connection, owner_id: uuid.UUID, text: str, *, limit: int = 100
) -> list[uuid.UUID]:
    """``owner_id``'s active assets whose OCR text contains every word of ``text``
    (case-insensitive), those with the most matching lines first.

    Args:
        pool: Pool or connection.
        owner_id: Whose assets.
        text: The query; split on whitespace.
        limit: Most ids returned.
    """
    words = [w for w in text.split() if w]
    if not words:
        return []
    patterns = [
        "%" + w.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%" for w in words
    ]
    rows = await pool.fetch(
        "SELECT o.asset_id, count(*) AS n FROM asset_ocr o JOIN assets a ON a.id = o.asset_id "
        "WHERE o.owner_id = $1 AND a.status = 'active' "
        "AND a.visibility IN ('timeline', 'archive') AND o.text ILIKE ANY($2::text[]) "
        "GROUP BY o.asset_id "
        "ORDER BY n DESC, o.asset_id LIMIT $3",
        owner_id,
        patterns,
        limit * 4,
    )
    candidates = [r["asset_id"] for r in rows]
    if len(words) == 1 or not candidates:
        return candidates[:limit]
    # Several words: keep assets whose text (all lines joined) holds every word.
    full = await pool.fetch(
        "SELECT asset_id FROM asset_ocr WHERE asset_id = ANY($1::uuid[]) GROUP BY asset_id "
        "HAVING string_agg(text, ' ') ILIKE ALL($2::text[])",
        candidates,
        patterns,
    )
    keep = {r["asset_id"] for r in full}
    return [i for i in candidates if i in keep][:limit]
