"""Repository: the transactional outbox (migration ``0021_outbox.sql``, docs/outbox.md).

A row is an event as it will go on the wire (subject, ``Nats-Msg-Id``, JSON body, headers),
written in the transaction of the state change it tells of. It is published right after the
commit (the fast path) or later by a relay, and marked published once JetStream acknowledged
it; published rows are pruned after a while. The publishing itself lives in
:mod:`darkroom_runtime.outbox`; this module is only its SQL.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TypeAlias

import asyncpg
import msgspec

Conn: TypeAlias = asyncpg.Pool | asyncpg.Connection


class OutboxRow(msgspec.Struct, frozen=True, kw_only=True):
    """One event waiting to be published (or published, until pruned).

    Attributes:
        id: The row's id (increasing in insertion order).
        subject: Event subject without a bus namespace, e.g. ``darkroom.asset.created``.
        msg_id: Its JetStream de-duplication id (``Nats-Msg-Id``).
        payload: The JSON body.
        headers: Message headers besides the id (W3C trace context).
    """

    id: int
    subject: str
    msg_id: str
    payload: bytes
    headers: dict[str, str]


def _row(record: asyncpg.Record) -> OutboxRow:
    return OutboxRow(
        id=record["id"],
        subject=record["subject"],
        msg_id=record["msg_id"],
        payload=bytes(record["payload"]),
        headers=json.loads(record["headers"]),
    )


async def insert(
    conn: asyncpg.Connection,
    *,
    subject: str,
    msg_id: str,
    payload: bytes,
    headers: Mapping[str, str],
) -> OutboxRow:
    """Add an event to the outbox, inside the caller's transaction.

    Args:
        conn: A connection in the transaction that makes the change the event tells of.
        subject: Event subject (no namespace).
        msg_id: ``Nats-Msg-Id`` to publish it with.
        payload: JSON body.
        headers: Other headers (trace context).

    Returns:
        The row as stored.
    """
    row_id = await conn.fetchval(
        "INSERT INTO outbox (subject, msg_id, payload, headers) VALUES ($1, $2, $3, $4::jsonb)"
        " RETURNING id",
        subject,
        msg_id,
        payload,
        json.dumps(dict(headers)),
    )
    return OutboxRow(
        id=row_id, subject=subject, msg_id=msg_id, payload=payload, headers=dict(headers)
    )


async def mark_published(conn: Conn, ids: Sequence[int]) -> None:
    """Mark rows published (after JetStream acknowledged each of them).

    Args:
        conn: Database.
        ids: Row ids.
    """
    if ids:
        await conn.execute(
            "UPDATE outbox SET published_at = clock_timestamp()"
            " WHERE id = ANY($1::bigint[]) AND published_at IS NULL",
            list(ids),
        )


async def claim(conn: asyncpg.Connection, *, older_than_s: float, limit: int) -> list[OutboxRow]:
    """Lock the oldest unpublished rows written more than ``older_than_s`` seconds ago.

    Must run inside a transaction: the rows stay locked (``FOR UPDATE SKIP LOCKED``) until it
    ends, so another relay's claim skips them and no row is published by two relays at once.
    The age keeps the relay off rows whose writer is publishing them right now (the fast path).

    Args:
        conn: A connection inside a transaction.
        older_than_s: Minimum age in seconds.
        limit: Most rows returned.

    Returns:
        The claimed rows, oldest first.
    """
    records = await conn.fetch(
        "SELECT id, subject, msg_id, payload, headers::text AS headers FROM outbox"
        " WHERE published_at IS NULL"
        " AND created_at < clock_timestamp() - make_interval(secs => $1)"
        " ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED",
        older_than_s,
        limit,
    )
    return [_row(r) for r in records]


async def prune(conn: Conn, *, older_than_s: float, limit: int = 1000) -> int:
    """Delete up to ``limit`` rows published more than ``older_than_s`` seconds ago.

    Args:
        conn: Database.
        older_than_s: Seconds a published row is kept (for inspection).
        limit: Most rows deleted in one call (keeps each statement short).

    Returns:
        How many rows were deleted.
    """
    status = await conn.execute(
        "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox"
        " WHERE published_at IS NOT NULL"
        " AND published_at < clock_timestamp() - make_interval(secs => $1)"
        " ORDER BY published_at LIMIT $2)",
        older_than_s,
        limit,
    )
    return int(status.split()[-1])


async def unpublished(conn: Conn) -> list[OutboxRow]:
    """Every row not published yet, oldest first (for operators and tests).

    Args:
        conn: Database.

    Returns:
        The rows.
    """
    records = await conn.fetch(
        "SELECT id, subject, msg_id, payload, headers::text AS headers FROM outbox"
        " WHERE published_at IS NULL ORDER BY id"
    )
    return [_row(r) for r in records]
