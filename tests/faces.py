"""Helpers of the face tests: wait for the face step of the pipeline, run Immich's nightly
clustering pass by hand (straight against the stack's PostgreSQL)."""

from __future__ import annotations

import asyncio
import time
import uuid

import asyncpg
from darkroom_db import create_pool
from darkroom_face.cluster import cluster_new_faces
from darkroom_face.settings import RecognitionSettings


async def _poll_count(db_url: str, sql: str, ids: list[str], done: int, wait_s: float) -> int:
    """Run ``sql`` (a count over ``$1``, the uuids of ``ids``) every 0.5 s until it returns
    ``done`` or ``wait_s`` s have passed; its last value."""
    conn = await asyncpg.connect(db_url)
    try:
        deadline = time.monotonic() + wait_s
        while True:
            value = int(await conn.fetchval(sql, [uuid.UUID(i) for i in ids]))
            if value == done or time.monotonic() > deadline:
                return value
            await asyncio.sleep(0.5)
    finally:
        await conn.close()


def wait_faces_detected(db_url: str, ids: list[str], wait_s: float) -> int:
    """Wait (up to ``wait_s`` s) until the face step has run on every asset of ``ids``; how many
    it has run on (``len(ids)`` unless the wait ran out)."""
    sql = (
        "SELECT count(*) FROM asset_job_status WHERE asset_id = ANY($1::uuid[]) "
        "AND faces_at IS NOT NULL"
    )
    return asyncio.run(_poll_count(db_url, sql, ids, len(ids), wait_s))


def wait_faces_assigned(db_url: str, ids: list[str], wait_s: float) -> int:
    """Wait (up to ``wait_s`` s) until every face of the assets ``ids`` has a person; how many
    faces are still without one (0 unless the wait ran out)."""
    sql = "SELECT count(*) FROM asset_faces WHERE asset_id = ANY($1::uuid[]) AND person_id IS NULL"
    return asyncio.run(_poll_count(db_url, sql, ids, 0, wait_s))


async def _cluster(db_url: str, owner: str, settings: RecognitionSettings) -> None:
    pool = await create_pool(db_url, max_size=2)
    try:
        await cluster_new_faces(pool, settings, owner_id=uuid.UUID(owner))
    finally:
        await pool.close()


def cluster_faces(db_url: str, owner: str, settings: RecognitionSettings | None = None) -> None:
    """Run the clustering pass over ``owner``'s faces (the nightly job of Immich's facial
    recognition), with ``settings`` (the defaults when None)."""
    asyncio.run(_cluster(db_url, owner, settings or RecognitionSettings()))
