"""Repository: the assets a job re-run targets ("missing" and "all" of Immich's queues).

Read in keyset-paginated batches (by asset id), so a re-run over a whole library never holds it
in memory nor one long transaction: the caller re-publishes each batch in its own transaction.
Each row carries what the events that start the pipeline steps need (the original, the
metadata read from it, the preview), so a re-run sends each step the same payload the
original event had (docs/events.md "Re-runs").
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime

import asyncpg
import msgspec

from darkroom_db.assets import Step

#: Assets per batch (one query and one outbox transaction each).
BATCH = 500


class RerunAsset(msgspec.Struct, frozen=True, kw_only=True):
    """An asset as the pipeline's events describe it.

    Attributes:
        width: Pixels, as metadata extraction stored them (None before it ran).
        orientation: EXIF orientation text as stored (``"1"``..``"8"``), or None.
        captured_at: EXIF DateTimeOriginal, or None.
        preview_path: Storage key of the preview (None before thumbnails ran).
        preview_width: Pixels of the preview.
    """

    id: uuid.UUID
    owner_id: uuid.UUID
    type: str
    original_path: str
    original_file_name: str
    original_mime_type: str
    checksum: bytes
    file_size: int
    file_created_at: datetime
    file_modified_at: datetime
    sidecar_path: str | None
    width: int | None
    height: int | None
    orientation: str | None
    captured_at: datetime | None
    preview_path: str | None
    thumbnail_path: str | None
    preview_width: int | None
    preview_height: int | None


_SELECT = """
SELECT a.id, a.owner_id, a.type, a.original_path, a.original_file_name, a.original_mime_type,
       a.checksum, a.file_size, a.file_created_at, a.file_modified_at, a.sidecar_path,
       a.width, a.height, e.orientation, e.date_time_original AS captured_at,
       p.path AS preview_path, t.path AS thumbnail_path,
       p.width AS preview_width, p.height AS preview_height
FROM assets a
JOIN asset_job_status s ON s.asset_id = a.id
LEFT JOIN asset_exif e ON e.asset_id = a.id
LEFT JOIN asset_files p ON p.asset_id = a.id AND p.type = 'preview'
LEFT JOIN asset_files t ON t.asset_id = a.id AND t.type = 'thumbnail'
WHERE a.status = 'active' AND a.deleted_at IS NULL AND NOT a.is_offline
"""


def _where(step: Step, *, missing: bool, needs: Step | None, videos_only: bool) -> str:
    """The query of :func:`targets` (step names are a Literal, never user input)."""
    parts = [_SELECT.strip()]
    if missing:
        parts.append(f"AND s.{step}_at IS NULL")
    if needs is not None:
        parts.append(f"AND s.{needs}_at IS NOT NULL")
    if videos_only:
        parts.append("AND a.type = 'VIDEO'")
    parts.append("AND (NOT $1::boolean OR a.id = ANY($2::uuid[])) AND a.id > $3")
    parts.append("ORDER BY a.id LIMIT $4")
    return "\n".join(parts)


async def targets(
    pool: asyncpg.Pool,
    step: Step,
    *,
    missing: bool,
    needs: Step | None = None,
    videos_only: bool = False,
    ids: list[uuid.UUID] | None = None,
    batch: int = BATCH,
) -> AsyncIterator[list[RerunAsset]]:
    """The assets a re-run of ``step`` covers, ``batch`` at a time, in id order.

    Trashed, deleted and offline assets are never covered (Immich's "all" skips them too).

    Args:
        pool: Database pool.
        step: The pipeline step re-run.
        missing: Only assets whose ``asset_job_status`` lacks ``step`` (Immich's "missing",
            ``force=false``); False for every asset (``force=true``).
        needs: A step that must be done first (its output is the re-run's input: a preview
            for embeddings and faces, extracted metadata for thumbnails).
        videos_only: Only videos (transcoding).
        ids: Only these assets (asset jobs); None for all.
        batch: Rows per yielded list.

    Yields:
        Lists of at most ``batch`` assets.
    """
    sql = _where(step, missing=missing, needs=needs, videos_only=videos_only)
    after = uuid.UUID(int=0)
    while True:
        rows = await pool.fetch(sql, ids is not None, ids or [], after, batch)
        if not rows:
            return
        yield [RerunAsset(**dict(r)) for r in rows]
        if len(rows) < batch:
            return
        after = rows[-1]["id"]
