"""Repository: job_failures (the dead-letter table) shown by the jobs admin API."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg
import msgspec

from darkroom_db.assets import mark_failed


class JobFailure(msgspec.Struct, frozen=True, kw_only=True):
    """A row of ``job_failures``."""

    id: int
    asset_id: uuid.UUID | None
    owner_id: uuid.UUID | None
    subject: str
    durable: str
    stream_seq: int | None
    deliveries: int
    error: str
    permanent: bool
    created_at: datetime
    retried_at: datetime | None


async def record_failure(
    pool: asyncpg.Pool,
    *,
    subject: str,
    durable: str,
    stream_seq: int | None,
    deliveries: int,
    error: str,
    permanent: bool,
    payload: bytes,
    asset_id: uuid.UUID | None,
    mark_asset: bool = True,
) -> int:
    """Write a dead letter, and mark the asset failed at step ``durable`` when there is one.

    Both happen in one transaction. An asset id that no longer exists is stored as NULL.
    ``error`` is stored as given: callers remove server paths first
    (:func:`darkroom_bus.scrub_paths`, done by the bus runner and the runtime context).

    Args:
        pool: Database pool.
        subject: Event subject of the failed job.
        durable: Service (consumer) that failed; the asset's ``failed_step``.
        stream_seq: Stream sequence of the message; None for a failure recorded by a handler
            that went on (a partial failure).
        deliveries: Attempts made.
        error: The readable reason.
        permanent: Whether retrying could not help.
        payload: The raw event.
        asset_id: The asset, when the event has one.
        mark_asset: Also mark the asset failed at ``durable``; False for a partial failure the
            step worked around (the asset went on through the pipeline).

    Returns:
        The id of the job_failures row.
    """
    async with pool.acquire() as conn, conn.transaction():
        owner_id = None
        if asset_id is not None:
            owner_id = await conn.fetchval("SELECT owner_id FROM assets WHERE id = $1", asset_id)
            if owner_id is None:
                asset_id = None
        failure_id = await conn.fetchval(
            "INSERT INTO job_failures (asset_id, owner_id, subject, durable, stream_seq, "
            "deliveries, error, permanent, payload) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
            "RETURNING id",
            asset_id,
            owner_id,
            subject,
            durable,
            stream_seq,
            deliveries,
            error,
            permanent,
            payload,
        )
        if asset_id is not None and mark_asset:
            await mark_failed(conn, asset_id, step=durable, reason=error)
    return int(failure_id)


async def list_failures(
    pool: asyncpg.Pool, *, durable: str | None = None, open_only: bool = True, limit: int = 100
) -> list[JobFailure]:
    """Newest dead letters first.

    Args:
        pool: Database pool.
        durable: Only those of this consumer (service), e.g. "thumbnail".
        open_only: Leave out those already retried.
        limit: Most rows returned.
    """
    cols = ", ".join(JobFailure.__struct_fields__)
    rows = await pool.fetch(
        f"SELECT {cols} FROM job_failures WHERE ($1::text IS NULL OR durable = $1) "
        "AND (NOT $2 OR retried_at IS NULL) ORDER BY created_at DESC LIMIT $3",
        durable,
        open_only,
        limit,
    )
    return [JobFailure(**dict(r)) for r in rows]


async def count_failures(pool: asyncpg.Pool, durable: str) -> int:
    """Number of open (not retried) dead letters of consumer ``durable``."""
    return int(
        await pool.fetchval(
            "SELECT count(*) FROM job_failures WHERE durable = $1 AND retried_at IS NULL", durable
        )
    )


class RetryableFailure(msgspec.Struct, frozen=True, kw_only=True):
    """An open dead letter with what re-running it needs: its subject and raw event."""

    id: int
    subject: str
    durable: str
    payload: bytes


async def open_failures_after(
    pool: asyncpg.Pool, durable: str, *, after: int, limit: int = 500
) -> list[RetryableFailure]:
    """Open (not retried) dead letters of consumer ``durable`` with an id above ``after``,
    oldest first: a retry walks them ``limit`` at a time."""
    rows = await pool.fetch(
        "SELECT id, subject, durable, payload FROM job_failures WHERE durable = $1 "
        "AND retried_at IS NULL AND id > $2 AND payload IS NOT NULL ORDER BY id LIMIT $3",
        durable,
        after,
        limit,
    )
    return [RetryableFailure(**dict(r)) for r in rows]


async def mark_retried(conn: asyncpg.Connection | asyncpg.Pool, failure_ids: list[int]) -> None:
    """Mark dead letters as re-published: they leave the open (failed) list and count; a new
    failure of the retried job is a new row."""
    await conn.execute(
        "UPDATE job_failures SET retried_at = now() WHERE id = ANY($1::bigint[])", failure_ids
    )


async def clear_failures(pool: asyncpg.Pool, durable: str) -> int:
    """Delete every dead letter of consumer ``durable`` (Immich's "clear failed").

    Returns:
        How many were deleted.
    """
    status = await pool.execute("DELETE FROM job_failures WHERE durable = $1", durable)
    return int(status.split()[-1])
