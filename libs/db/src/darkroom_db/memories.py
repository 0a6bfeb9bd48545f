"""Repository: memories ("On this day" flashbacks) and the assets of each.

A memory belongs to one user (``owner_id``); every function that takes an owner only touches that
user's memories. Tables and why deletions are audited: migration ``0018_memories.sql``.

Generation follows Immich 3.1's memory service as documented and observed (read, not copied):
for a target day, one ``on_this_day`` memory per earlier year in which the user took photos or
videos on that month and day (by the capture wall clock, ``local_date_time``), shown from the
start to the end of the target day (UTC), ``memoryAt`` the target day in that year, ``data``
``{"year": <year>}``; only assets on the timeline (not archived, hidden or locked), not in the
trash and with a thumbnail count, at most :data:`ASSETS_PER_MEMORY` of them. Only the user's
own assets, as Immich's ``createOnThisDayMemories`` (``getByDayOfYear([ownerId], ...)``: older
Immich versions added partners' assets too).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

import asyncpg
import msgspec

#: Spec: MemoryType.
MemoryType = Literal["on_this_day"]
#: Spec: MemorySearchOrder.
MemoryOrder = Literal["asc", "desc", "random"]

_COLUMNS = (
    "id, owner_id, type, data, memory_at, show_at, hide_at, seen_at, is_saved, created_at, "
    "updated_at"
)
#: Most assets in one generated memory (Immich's ``getByDayOfYear``: ``limit(20)`` a year).
ASSETS_PER_MEMORY = 20
#: Advisory lock key (``pg_try_advisory_xact_lock``) held while generating: two gateway replicas
#: never generate at once. The bytes of "memories" read as a big-endian int64.
GENERATION_LOCK = int.from_bytes(b"memories", "big", signed=True)


class Memory(msgspec.Struct, frozen=True, kw_only=True):
    """A row of ``memories`` (``data``: OnThisDayDto ``{"year": ...}``)."""

    id: uuid.UUID
    owner_id: uuid.UUID
    type: str
    data: dict[str, Any]
    memory_at: datetime
    show_at: datetime | None
    hide_at: datetime | None
    seen_at: datetime | None
    is_saved: bool
    created_at: datetime
    updated_at: datetime


class Search(msgspec.Struct, frozen=True, kw_only=True):
    """Filters of ``GET /api/memories`` (spec: its query parameters).

    ``on``: shown on this instant (``showAt <= on <= hideAt``, a missing bound is open);
    ``is_saved``/``type``: equal to; ``order``: by ``memoryAt`` (``desc`` by default, as Immich)
    or random; ``size``: at most this many.
    """

    on: datetime | None = None
    is_saved: bool | None = None
    type: MemoryType | None = None
    order: MemoryOrder = "desc"
    size: int | None = None


def _memory(row: asyncpg.Record) -> Memory:
    values = dict(row)
    data = values["data"]
    values["data"] = msgspec.json.decode(data) if isinstance(data, str | bytes) else data
    return Memory(**values)


def _where(owner_id: uuid.UUID, search: Search) -> tuple[str, list[Any]]:
    conds: list[str] = ["owner_id = $1"]
    args: list[Any] = [owner_id]
    if search.on is not None:
        args.append(search.on)
        n = len(args)
        conds.append(
            f"(show_at IS NULL OR show_at <= ${n}) AND (hide_at IS NULL OR hide_at >= ${n})"
        )
    if search.is_saved is not None:
        args.append(search.is_saved)
        conds.append(f"is_saved = ${len(args)}")
    if search.type is not None:
        args.append(search.type)
        conds.append(f"type = ${len(args)}")
    return " AND ".join(conds), args


async def search(pool: asyncpg.Pool, owner_id: uuid.UUID, filters: Search) -> list[Memory]:
    """``owner_id``'s memories matching ``filters``, in its order."""
    where, args = _where(owner_id, filters)
    order = {"asc": "memory_at ASC, id", "desc": "memory_at DESC, id", "random": "random()"}
    limit = ""
    if filters.size is not None:
        args.append(filters.size)
        limit = f" LIMIT ${len(args)}"
    rows = await pool.fetch(
        f"SELECT {_COLUMNS} FROM memories WHERE {where} ORDER BY {order[filters.order]}{limit}",
        *args,
    )
    return [_memory(r) for r in rows]


async def count(pool: asyncpg.Pool, owner_id: uuid.UUID, filters: Search) -> int:
    """How many of ``owner_id``'s memories match ``filters`` (``order`` and ``size`` do not
    matter: the total)."""
    where, args = _where(owner_id, filters)
    return int(await pool.fetchval(f"SELECT count(*) FROM memories WHERE {where}", *args) or 0)


async def get(pool: asyncpg.Pool, owner_id: uuid.UUID, memory_id: uuid.UUID) -> Memory | None:
    """``owner_id``'s memory ``memory_id``, or None (unknown, or someone else's)."""
    row = await pool.fetchrow(
        f"SELECT {_COLUMNS} FROM memories WHERE id = $1 AND owner_id = $2", memory_id, owner_id
    )
    return None if row is None else _memory(row)


async def asset_ids(
    pool: asyncpg.Pool, memory_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """The assets shown in each memory: on the timeline and not in the trash (Immich hides the
    others), oldest capture first.

    Args:
        pool: Pool.
        memory_ids: Memories (already checked to be the caller's).

    Returns:
        Memory id -> asset ids (a memory with none maps to an empty list).
    """
    rows = await pool.fetch(
        "SELECT ma.memory_id, ma.asset_id FROM memory_assets ma "
        "JOIN assets a ON a.id = ma.asset_id WHERE ma.memory_id = ANY($1::uuid[]) "
        "AND a.status = 'active' "
        "AND a.visibility = 'timeline' ORDER BY a.file_created_at, a.id",
        list(memory_ids),
    )
    out: dict[uuid.UUID, list[uuid.UUID]] = {m: [] for m in memory_ids}
    for r in rows:
        out[r["memory_id"]].append(r["asset_id"])
    return out


async def create(
    conn: asyncpg.Connection | asyncpg.Pool,
    owner_id: uuid.UUID,
    *,
    type: MemoryType,
    data: dict[str, Any],
    memory_at: datetime,
    show_at: datetime | None = None,
    hide_at: datetime | None = None,
    seen_at: datetime | None = None,
    is_saved: bool = False,
) -> Memory:
    """Create a memory (without assets: :func:`add_assets`)."""
    row = await conn.fetchrow(
        f"""INSERT INTO memories (id, owner_id, type, data, memory_at, show_at, hide_at, seen_at,
                is_saved) VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9)
            RETURNING {_COLUMNS}""",
        uuid.uuid4(),
        owner_id,
        type,
        msgspec.json.encode(data).decode(),
        memory_at,
        show_at,
        hide_at,
        seen_at,
        is_saved,
    )
    return _memory(row)


async def update(
    pool: asyncpg.Pool,
    owner_id: uuid.UUID,
    memory_id: uuid.UUID,
    *,
    is_saved: bool | None = None,
    memory_at: datetime | None = None,
    seen_at: datetime | None = None,
) -> Memory | None:
    """Change a memory's saved flag, date or seen time (None leaves one as it is).

    Returns:
        The updated memory, None when ``owner_id`` has no memory ``memory_id``.
    """
    row = await pool.fetchrow(
        f"""UPDATE memories SET is_saved = coalesce($3, is_saved),
                memory_at = coalesce($4, memory_at), seen_at = coalesce($5, seen_at),
                updated_at = now()
            WHERE id = $1 AND owner_id = $2 RETURNING {_COLUMNS}""",
        memory_id,
        owner_id,
        is_saved,
        memory_at,
        seen_at,
    )
    return None if row is None else _memory(row)


async def touch(pool: asyncpg.Pool | asyncpg.Connection, memory_id: uuid.UUID) -> None:
    """Mark a memory updated now (its assets changed), so the sync stream sends it again."""
    await pool.execute("UPDATE memories SET updated_at = now() WHERE id = $1", memory_id)


async def delete(pool: asyncpg.Pool, owner_id: uuid.UUID, memory_id: uuid.UUID) -> bool:
    """Delete a memory for good (audited for sync); False when not found."""
    result = await pool.execute(
        "DELETE FROM memories WHERE id = $1 AND owner_id = $2", memory_id, owner_id
    )
    return result != "DELETE 0"


async def linked(
    pool: asyncpg.Pool, memory_id: uuid.UUID, ids: Iterable[uuid.UUID]
) -> set[uuid.UUID]:
    """The ids among ``ids`` that are in memory ``memory_id``."""
    rows = await pool.fetch(
        "SELECT asset_id FROM memory_assets WHERE memory_id = $1 AND asset_id = ANY($2::uuid[])",
        memory_id,
        list(ids),
    )
    return {r["asset_id"] for r in rows}


async def add_assets(
    conn: asyncpg.Connection | asyncpg.Pool,
    memory_id: uuid.UUID,
    owner_id: uuid.UUID,
    ids: Iterable[uuid.UUID],
) -> set[uuid.UUID]:
    """Link assets to a memory (the caller checked it may); the ids newly linked."""
    rows = await conn.fetch(
        "INSERT INTO memory_assets (memory_id, asset_id, owner_id) "
        "SELECT $1, unnest($2::uuid[]), $3 ON CONFLICT DO NOTHING RETURNING asset_id",
        memory_id,
        list(dict.fromkeys(ids)),
        owner_id,
    )
    return {r["asset_id"] for r in rows}


async def remove_assets(
    pool: asyncpg.Pool, memory_id: uuid.UUID, ids: Iterable[uuid.UUID]
) -> set[uuid.UUID]:
    """Unlink assets from a memory; the ids that were linked."""
    rows = await pool.fetch(
        "DELETE FROM memory_assets WHERE memory_id = $1 AND asset_id = ANY($2::uuid[]) "
        "RETURNING asset_id",
        memory_id,
        list(ids),
    )
    return {r["asset_id"] for r in rows}


# --- generation ---------------------------------------------------------------------------------


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The first and last instant (UTC, millisecond precision as Immich's ``endOf('day')``) of
    ``day``: a generated memory's ``showAt`` and ``hideAt``."""
    start = datetime.combine(day, time(), tzinfo=UTC)
    return start, start + timedelta(days=1) - timedelta(milliseconds=1)


def memory_day(day: date, year: int) -> datetime:
    """``memoryAt`` of the ``year`` memory of ``day``: the same month and day in that year
    (29 February falls back to the 28th in a year without it), midnight UTC."""
    try:
        shifted = day.replace(year=year)
    except ValueError:
        shifted = day.replace(year=year, day=28)
    return datetime.combine(shifted, time(), tzinfo=UTC)


async def create_on_this_day(
    conn: asyncpg.Connection, owner_id: uuid.UUID, day: date
) -> list[Memory]:
    """Create ``owner_id``'s "on this day" memories for ``day``; idempotent.

    One memory per earlier year with assets captured (wall clock) on ``day``'s month and day,
    on the timeline, not trashed and with a thumbnail: the first :data:`ASSETS_PER_MEMORY` of
    them by capture time. A (day, year) made once is never made again (``memory_generated``),
    even when the user deleted the memory since.

    Args:
        conn: A connection (the work runs in one transaction).
        owner_id: Whose memories.
        day: The day the memories are shown on.

    Returns:
        The memories created now (empty on a second run).
    """
    rows = await conn.fetch(
        "SELECT extract(year FROM a.local_date_time AT TIME ZONE 'UTC')::int AS year, "
        "(array_agg(a.id ORDER BY a.local_date_time, a.id))[1:$5] AS ids FROM assets a "
        "JOIN asset_job_status s ON s.asset_id = a.id "
        "WHERE a.owner_id = $1 AND a.status = 'active' AND a.visibility = 'timeline' "
        "AND s.thumbnail_at IS NOT NULL "
        "AND extract(month FROM a.local_date_time AT TIME ZONE 'UTC') = $2 "
        "AND extract(day FROM a.local_date_time AT TIME ZONE 'UTC') = $3 "
        "AND extract(year FROM a.local_date_time AT TIME ZONE 'UTC') < $4 "
        "GROUP BY 1 ORDER BY 1 DESC",
        owner_id,
        day.month,
        day.day,
        day.year,
        ASSETS_PER_MEMORY,
    )
    show_at, hide_at = day_bounds(day)
    created: list[Memory] = []
    async with conn.transaction():
        for row in rows:
            memory_at = memory_day(day, row["year"])
            claimed = await conn.fetchval(
                "INSERT INTO memory_generated (owner_id, type, show_at, memory_at) "
                "VALUES ($1, 'on_this_day', $2, $3) ON CONFLICT DO NOTHING RETURNING true",
                owner_id,
                show_at,
                memory_at,
            )
            if not claimed:
                continue
            memory = await create(
                conn,
                owner_id,
                type="on_this_day",
                data={"year": row["year"]},
                memory_at=memory_at,
                show_at=show_at,
                hide_at=hide_at,
            )
            await add_assets(conn, memory.id, owner_id, row["ids"])
            created.append(memory)
    return created


async def active_user_ids(pool: asyncpg.Pool) -> list[uuid.UUID]:
    """Every user not deleted (whose memories are generated)."""
    rows = await pool.fetch("SELECT id FROM users WHERE deleted_at IS NULL ORDER BY created_at")
    return [r["id"] for r in rows]


async def cleanup(pool: asyncpg.Pool, older_than: timedelta) -> list[Memory]:
    """Delete memories not saved and created more than ``older_than`` ago (Immich's
    ``memory-cleanup``: 30 days), and the generator's records of days long gone.

    First, as Immich's ``MemoryRepository.cleanup``, every memory lets go of the assets that
    left the timeline (archived, hidden or locked; trashed ones stay linked): brought back,
    such an asset is no longer in the memory. The unlinking is audited for sync.

    Returns:
        The memories deleted.
    """
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "DELETE FROM memory_assets ma USING assets a "
            "WHERE a.id = ma.asset_id AND a.visibility <> 'timeline'"
        )
        rows = await conn.fetch(
            f"DELETE FROM memories WHERE NOT is_saved AND created_at < now() - $1::interval "
            f"RETURNING {_COLUMNS}",
            older_than,
        )
        await conn.execute(
            "DELETE FROM memory_generated WHERE show_at < now() - $1::interval", older_than
        )
    return [_memory(r) for r in rows]


async def generate(
    pool: asyncpg.Pool,
    today: date,
    *,
    days_before: int = 3,
    days_after: int = 3,
    wait: bool = False,
) -> list[Memory] | None:
    """Create every user's "on this day" memories for ``today`` and the days around it.

    Immich makes them for three days before to three days after today, so that a client whose
    local day differs from the server's (UTC) day finds its memories too. The work holds a
    transaction-scoped PostgreSQL advisory lock (:data:`GENERATION_LOCK`): when another gateway
    replica is generating, this call does nothing (or, with ``wait``, waits for it to finish and
    then makes whatever is still missing).

    Args:
        pool: Pool.
        today: The server's day (UTC).
        days_before: Days before ``today`` also generated.
        days_after: Days after ``today`` also generated.
        wait: Wait for the lock instead of giving up (a job a user asked for).

    Returns:
        The memories created (empty when all existed already), or None when another replica
        holds the lock and ``wait`` is false.
    """
    days = [today + timedelta(days=d) for d in range(-days_before, days_after + 1)]
    created: list[Memory] = []
    async with pool.acquire() as conn, conn.transaction():
        if wait:
            await conn.execute("SELECT pg_advisory_xact_lock($1)", GENERATION_LOCK)
        elif not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", GENERATION_LOCK):
            return None
        for owner_id in await active_user_ids(pool):
            for day in days:
                created += await create_on_this_day(conn, owner_id, day)
    return created
