"""The month counts kept by triggers (migration 0034) answer the timeline's buckets exactly as
counting the assets live does, through every change an asset goes through."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
import uuid
from datetime import UTC, date, datetime

import asyncpg
import pytest
from darkroom_db import migrate, stacks, timeline, users
from darkroom_db.timeline import TimelineFilter
from darkroom_stack.testing import fresh_database


@pytest.fixture(scope="module")
def db_url(postgres_server) -> str:
    url = fresh_database(postgres_server, "timeline_counts")
    migrate(url)
    return url


async def _user(pool: asyncpg.Pool) -> uuid.UUID:
    user = await users.create_user(
        pool, email=f"{uuid.uuid4().hex}@x.test", name="U", password_hash="h"
    )
    return user.id


async def _add(pool: asyncpg.Pool, owner: uuid.UUID, when: list[datetime]) -> list[uuid.UUID]:
    """Insert one asset per capture time in one statement; returns their ids."""
    ids = [uuid.uuid4() for _ in when]
    await pool.execute(
        "INSERT INTO assets (id, owner_id, device_asset_id, device_id, type, original_path, "
        "original_file_name, original_mime_type, checksum, file_size, file_created_at, "
        "file_modified_at, local_date_time) "
        "SELECT i, $1, 'd', 'dev', 'IMAGE', 'upload/x.jpg', 'x.jpg', 'image/jpeg', "
        "sha256(i::text::bytea), 1, t, t, t FROM unnest($2::uuid[], $3::timestamptz[]) AS u(i, t)",
        owner,
        ids,
        when,
    )
    return ids


def _filters(owner: uuid.UUID, partners: tuple[uuid.UUID, ...] = ()) -> list[TimelineFilter]:
    """Every combination of the counted filters."""
    out = []
    for trashed, vis, fav, stacked, order in itertools.product(
        (None, True),
        (None, "archive", "timeline", "hidden"),
        (None, True, False),
        (False, True),
        ("asc", "desc"),
    ):
        out.append(
            TimelineFilter(
                viewer_id=owner,
                is_trashed=trashed,
                visibility=vis,
                is_favorite=fav,
                with_stacked=stacked,
                order=order,
                partner_ids=partners,
            )
        )
    return out


async def _live(pool: asyncpg.Pool, f: TimelineFilter) -> list[tuple[date, int]]:
    """The buckets counted from the assets, as before migration 0034 (an album-free filter is
    counted live when it names a map box covering the whole world... which drops assets with
    no EXIF row, so count straight from the filter's conditions instead)."""
    where, args = timeline._where(f)
    rows = await pool.fetch(
        f"SELECT {timeline.MONTH_OF_CAPTURE} AS month, count(*) AS n FROM assets a "
        f"WHERE {where} GROUP BY 1 ORDER BY 1 {'ASC' if f.order == 'asc' else 'DESC'}",
        *args,
    )
    return [(r["month"].date(), int(r["n"])) for r in rows]


async def _check(pool: asyncpg.Pool, owner: uuid.UUID, partners: tuple[uuid.UUID, ...] = ()):
    for f in _filters(owner, partners):
        assert timeline._counted(f)
        assert await timeline.time_buckets(pool, f) == await _live(pool, f), f


def _months(n: int, seed: int) -> list[datetime]:
    rng = random.Random(seed)
    return [
        datetime(
            rng.randint(2005, 2024),
            rng.randint(1, 12),
            rng.randint(1, 28),
            rng.randint(0, 23),
            tzinfo=UTC,
        )
        for _ in range(n)
    ]


async def test_counts_follow_every_change(pool: asyncpg.Pool) -> None:
    owner, partner, stranger = await _user(pool), await _user(pool), await _user(pool)
    mine = await _add(pool, owner, _months(300, 1))
    theirs = await _add(pool, partner, _months(100, 2))
    await _add(pool, stranger, _months(100, 3))
    await _check(pool, owner)
    await _check(pool, owner, (partner,))

    # favourite, archive, hide, trash in bulk and one by one
    await pool.execute("UPDATE assets SET is_favorite = true WHERE id = ANY($1)", mine[:40])
    await pool.execute("UPDATE assets SET visibility = 'archive' WHERE id = ANY($1)", mine[30:60])
    await pool.execute("UPDATE assets SET visibility = 'hidden' WHERE id = $1", mine[61])
    await pool.execute("UPDATE assets SET visibility = 'locked' WHERE id = ANY($1)", mine[62:65])
    for i in mine[70:90]:
        await pool.execute("UPDATE assets SET status = 'trashed' WHERE id = $1", i)
    await pool.execute("UPDATE assets SET status = 'active' WHERE id = ANY($1)", mine[80:85])
    # an edited capture time moves an asset to another month; other columns change nothing
    await pool.execute(
        "UPDATE assets SET local_date_time = local_date_time - interval '45 days' "
        "WHERE id = ANY($1)",
        mine[100:130],
    )
    await pool.execute("UPDATE assets SET width = 10, thumbhash = '\\x01' WHERE id = ANY($1)", mine)
    # stacks: the non-primary members leave withStacked's counts
    async with pool.acquire() as conn, conn.transaction():
        await stacks.create(conn, owner, mine[140:144])
        await stacks.create(conn, owner, [mine[150], mine[75]])  # one member in the trash
    await pool.execute("UPDATE assets SET is_favorite = true WHERE id = ANY($1)", theirs[:10])
    await _check(pool, owner)
    await _check(pool, owner, (partner,))

    # deleted for good, one and many; a month left empty disappears once folded
    await pool.execute("DELETE FROM assets WHERE id = $1", mine[141])
    await pool.execute("DELETE FROM assets WHERE id = ANY($1)", mine[200:260])
    await _check(pool, owner)
    assert await pool.fetchval("SELECT darkroom_timeline_counts_fold($1)", owner) is True
    await _check(pool, owner)
    assert not await pool.fetchval("SELECT count(*) FROM asset_month_counts WHERE n <= 0")
    assert not await pool.fetchval(
        "SELECT count(*) FROM asset_month_count_deltas WHERE owner_id = $1", owner
    )

    # the rebuild gives the same counts the triggers kept
    for user in (owner, partner, stranger):
        await pool.execute("SELECT darkroom_timeline_counts_fold($1)", user)
    kept = await pool.fetch("SELECT * FROM asset_month_counts ORDER BY 1, 2, 3, 4, 5")
    await pool.execute("SELECT darkroom_timeline_counts_rebuild()")
    assert await pool.fetch("SELECT * FROM asset_month_counts ORDER BY 1, 2, 3, 4, 5") == kept

    # deleting the user (assets cascade) leaves no counts behind
    await pool.execute("DELETE FROM users WHERE id = $1", stranger)
    for table in ("asset_month_counts", "asset_month_count_deltas"):
        left = await pool.fetchval(f"SELECT count(*) FROM {table} WHERE owner_id = $1", stranger)
        assert left == 0, table


async def test_piled_up_deltas_are_folded_by_the_buckets_query(pool: asyncpg.Pool) -> None:
    owner = await _user(pool)
    for when in _months(timeline.FOLD_AFTER + 10, 4):
        await _add(pool, owner, [when])  # one statement, one delta row each
    deltas = "SELECT count(*) FROM asset_month_count_deltas WHERE owner_id = $1"
    assert await pool.fetchval(deltas, owner) > timeline.FOLD_AFTER
    await _check(pool, owner)
    assert await pool.fetchval(deltas, owner) == 0


async def _waiting_for_a_lock(pool: asyncpg.Pool, pid: int, task: asyncio.Future[str]) -> None:
    """Wait (on progress, 60 s ceiling) until backend ``pid`` waits for a lock or ``task``
    is over."""
    deadline = time.monotonic() + 60
    while not task.done() and time.monotonic() < deadline:
        waiting = await pool.fetchval(
            "SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1", pid
        )
        if waiting == "Lock":
            return
        await asyncio.sleep(0.02)


async def test_two_transactions_crossing_rows_do_not_deadlock(pool: asyncpg.Pool) -> None:
    """Two metadata extractions of one owner's burst: each moves its asset to the same capture
    month, then the first stacks both (touching the second's row while the second has not
    committed). Counting into a shared row from the triggers made the second wait for that
    row while the first waited for the second's asset row: a deadlock."""
    owner = await _user(pool)
    a1, a2 = await _add(pool, owner, _months(2, 5))
    month = datetime(2019, 7, 14, 9, tzinfo=UTC)
    first, second = await pool.acquire(), await pool.acquire()
    try:
        t1, t2 = first.transaction(), second.transaction()
        await t1.start()
        await t2.start()
        await first.execute("UPDATE assets SET local_date_time = $2 WHERE id = $1", a1, month)
        await second.execute("UPDATE assets SET local_date_time = $2 WHERE id = $1", a2, month)
        stacking = asyncio.ensure_future(
            first.execute("UPDATE assets SET is_favorite = true WHERE id = ANY($1)", [a1, a2])
        )
        await _waiting_for_a_lock(pool, first.get_server_pid(), stacking)
        await second.execute(
            "UPDATE assets SET local_date_time = $2::timestamptz + interval '1 day' WHERE id = $1",
            a2,
            month,
        )
        await t2.commit()
        await stacking
        await t1.commit()
    finally:
        await pool.release(first)
        await pool.release(second)
    await _check(pool, owner)


async def test_concurrent_uploads_and_rolled_back_ones_count_right(pool: asyncpg.Pool) -> None:
    owner = await _user(pool)
    same_month = [datetime(2020, 3, d, 12, tzinfo=UTC) for d in range(1, 29)]

    async def one(when: datetime) -> None:
        await _add(pool, owner, [when])

    await asyncio.gather(*(one(w) for w in same_month * 3))
    async with pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        await conn.execute("UPDATE assets SET status = 'trashed' WHERE owner_id = $1", owner)
        await tx.rollback()
    await _check(pool, owner)
    f = TimelineFilter(viewer_id=owner)
    assert await timeline.time_buckets(pool, f) == [(date(2020, 3, 1), 84)]


async def test_other_scopes_are_counted_live(pool: asyncpg.Pool) -> None:
    owner = await _user(pool)
    assert not timeline._counted(TimelineFilter(viewer_id=owner, album_id=uuid.uuid4()))
    assert not timeline._counted(TimelineFilter(viewer_id=owner, visibility="locked"))
    assert not timeline._counted(TimelineFilter(viewer_id=owner, order_by="createdAt"))
    assert not timeline._counted(TimelineFilter(viewer_id=owner, bbox=(0, 0, 1, 1)))
