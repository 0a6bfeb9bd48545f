"""Repository: runs of the scheduled tasks, the lease of each (migration
``0024_scheduled_runs.sql``).

One row per (task, due time). The replica whose INSERT creates the row runs the task for that
time; every other replica's INSERT conflicts and does nothing (``ON CONFLICT DO NOTHING`` on the
primary key: exact under any concurrency, no election). While it runs, the holder refreshes
``heartbeat_at``; a run left unfinished by a replica that died is taken over by another once
its heartbeat is older than the lease timeout. The scheduling itself is
:mod:`darkroom_gateway.scheduler`; this module is only its SQL.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, TypeAlias

import asyncpg
import msgspec

Conn: TypeAlias = asyncpg.Pool | asyncpg.Connection


class Run(msgspec.Struct, frozen=True, kw_only=True):
    """One run of a scheduled task.

    Attributes:
        task: The task's name.
        due_at: The scheduled time it is for.
        claimed_by: The replica holding (or that held) it.
        claimed_at: When that replica claimed it.
        heartbeat_at: The holder's last sign of life.
        attempts: 1, plus one per takeover.
        finished_at: When it ended (None while it runs).
        result: What it reported (counts), when it succeeded.
        error: Why it failed, when it did.
    """

    task: str
    due_at: datetime
    claimed_by: str
    claimed_at: datetime
    heartbeat_at: datetime
    attempts: int
    finished_at: datetime | None
    result: dict[str, Any] | None
    error: str | None


_COLUMNS = (
    "task, due_at, claimed_by, claimed_at, heartbeat_at, attempts, finished_at, result, error"
)


def _run(record: asyncpg.Record) -> Run:
    values = dict(record)
    if isinstance(values["result"], str):
        values["result"] = json.loads(values["result"])
    return Run(**values)


async def claim(conn: Conn, task: str, due_at: datetime, replica: str) -> bool:
    """Claim the run of ``task`` for ``due_at``, unless it (or a later one) exists.

    One statement: the row is inserted only when no run of ``task`` is due at or after
    ``due_at``, and ``ON CONFLICT DO NOTHING`` makes exactly one of several replicas asking at
    once the winner (the others wait on the index entry, then find it taken).

    Args:
        conn: Pool or connection.
        task: The task's name.
        due_at: The scheduled time (timezone-aware).
        replica: The caller's replica id.

    Returns:
        True when the caller is to run the task now.
    """
    claimed = await conn.fetchval(
        "INSERT INTO scheduled_runs (task, due_at, claimed_by) SELECT $1, $2, $3 "
        "WHERE NOT EXISTS (SELECT 1 FROM scheduled_runs WHERE task = $1 AND due_at > $2) "
        "ON CONFLICT (task, due_at) DO NOTHING RETURNING true",
        task,
        due_at,
        replica,
    )
    return bool(claimed)


async def take_over(conn: Conn, task: str, replica: str, lease: timedelta) -> datetime | None:
    """Take over the latest run of ``task`` if its holder stopped heartbeating.

    The run is taken only when it is ``task``'s latest, unfinished, and its heartbeat is older
    than ``lease`` (its holder died or lost the database); ``attempts`` is incremented. Of
    several replicas asking at once one gets it (the row lock orders them; the others then see
    a fresh heartbeat).

    Args:
        conn: Pool or connection.
        task: The task's name.
        replica: The caller's replica id.
        lease: The lease timeout.

    Returns:
        The due time of the run now held by the caller, or None.
    """
    due: datetime | None = await conn.fetchval(
        "UPDATE scheduled_runs r SET claimed_by = $2, claimed_at = now(), heartbeat_at = now(), "
        "attempts = r.attempts + 1 "
        "WHERE r.task = $1 AND r.finished_at IS NULL AND r.heartbeat_at < now() - $3::interval "
        "AND r.due_at = (SELECT max(due_at) FROM scheduled_runs WHERE task = $1) "
        "RETURNING r.due_at",
        task,
        replica,
        lease,
    )
    return due


async def heartbeat(conn: Conn, task: str, due_at: datetime, replica: str) -> bool:
    """Refresh the heartbeat of a run the caller holds.

    Returns:
        False when the caller no longer holds it (another replica took it over).
    """
    status = await conn.execute(
        "UPDATE scheduled_runs SET heartbeat_at = now() "
        "WHERE task = $1 AND due_at = $2 AND claimed_by = $3 AND finished_at IS NULL",
        task,
        due_at,
        replica,
    )
    return status != "UPDATE 0"


async def finish(
    conn: Conn,
    task: str,
    due_at: datetime,
    replica: str,
    *,
    result: Mapping[str, Any] | None = None,
    error: str | None = None,
) -> bool:
    """Record the end of a run the caller holds.

    Args:
        conn: Pool or connection.
        task: The task's name.
        due_at: The run's scheduled time.
        replica: The caller's replica id.
        result: What it reported (JSON-serialisable counts), when it succeeded.
        error: Why it failed, when it did.

    Returns:
        False when another replica had taken the run over meanwhile (its record stands).
    """
    status = await conn.execute(
        "UPDATE scheduled_runs SET finished_at = now(), heartbeat_at = now(), "
        "result = $4::jsonb, error = $5 "
        "WHERE task = $1 AND due_at = $2 AND claimed_by = $3 AND finished_at IS NULL",
        task,
        due_at,
        replica,
        None if result is None else json.dumps(dict(result), default=str),
        error,
    )
    return status != "UPDATE 0"


async def runs(conn: Conn, task: str, since: datetime | None = None) -> list[Run]:
    """The runs of ``task`` (due at or after ``since`` when given), oldest first."""
    records = await conn.fetch(
        f"SELECT {_COLUMNS} FROM scheduled_runs WHERE task = $1 "  # noqa: S608 - constant columns
        "AND ($2::timestamptz IS NULL OR due_at >= $2) ORDER BY due_at",
        task,
        since,
    )
    return [_run(r) for r in records]


async def prune(conn: Conn, task: str, older_than: datetime) -> int:
    """Delete ``task``'s finished runs due before ``older_than``; how many were deleted."""
    status = await conn.execute(
        "DELETE FROM scheduled_runs WHERE task = $1 AND due_at < $2 AND finished_at IS NOT NULL",
        task,
        older_than,
    )
    return int(status.split()[-1])
