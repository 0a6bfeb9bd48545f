"""darkroom_db.integrity against a real PostgreSQL: idempotent items, keyset pages in path
order, which keys rows reference, least-recently-verified order, and items going with their
asset."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from darkroom_db import integrity, users
from darkroom_stack.testing import fresh_database

from .conftest import new_asset


@pytest.fixture(scope="module")
def db_url(postgres_server: object) -> str:
    from darkroom_db import migrate

    url = fresh_database(postgres_server, "integrity")
    migrate(url)
    return url


async def _until_waiting_on_a_lock(pool: asyncpg.Pool, query: str, task: asyncio.Task) -> None:
    """Return once a statement starting with ``query`` waits on a row lock (``task`` runs it)."""
    while not await pool.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1",
        query + "%",
    ):
        assert not task.done(), task.result()
        await asyncio.sleep(0.01)


async def test_report_items_pages_references_and_verification_order(pool: asyncpg.Pool) -> None:
    user = await users.create_user(
        pool, email=f"{uuid.uuid4().hex}@x.test", name="U", password_hash="h"
    )
    a, b, c = [await new_asset(pool, user.id, n) for n in ("a", "b", "c")]
    key_a = f"upload/{user.id}/a.jpg"

    # idempotent: an item is recorded once per (type, path)
    items = [(f"upload/x/{n}", None) for n in ("3", "1", "2")]
    assert await integrity.add(pool, "untracked_file", items) == 3
    assert await integrity.add(pool, "untracked_file", items[:1]) == 0
    assert await integrity.add(pool, "missing_file", [(key_a, a)]) == 1
    assert await integrity.summary(pool) == {
        "untracked_file": 3,
        "missing_file": 1,
        "checksum_mismatch": 0,
    }
    # keyset pages in path order
    first = await integrity.page(pool, "untracked_file", after=None, limit=2)
    assert [i.path for i in first] == ["upload/x/1", "upload/x/2"]
    rest = await integrity.page(pool, "untracked_file", after=first[-1].path, limit=2)
    assert [i.path for i in rest] == ["upload/x/3"]
    assert [
        i.path
        for b_ in [x async for x in integrity.batches(pool, "untracked_file", size=1)]
        for i in b_
    ] == ["upload/x/1", "upload/x/2", "upload/x/3"]

    # references: an original, a derived file, a person's thumbnail; not a stray
    await pool.execute(
        "INSERT INTO asset_files (id, asset_id, owner_id, type, path, mime_type) "
        "VALUES ($1, $2, $3, 'preview', 'thumbs/p.jpeg', 'image/jpeg')",
        uuid.uuid4(),
        b,
        user.id,
    )
    keys = [key_a, "thumbs/p.jpeg", "upload/x/1"]
    assert await integrity.referenced(pool, keys) == {key_a, "thumbs/p.jpeg"}
    assert (await integrity.tracked(pool, b, "thumbs/p.jpeg")) is not None
    assert (await integrity.tracked(pool, b, key_a)) is None

    # verification order: never verified first, then the longest ago
    now = datetime.now(UTC)
    await integrity.mark_checked(pool, [a], now - timedelta(days=2))
    await integrity.mark_checked(pool, [b], now - timedelta(days=1))
    order = [f.asset_id for f in await integrity.least_recently_checked(pool, limit=10)]
    assert order[-2:] == [a, b] and c in order[:-2]
    await integrity.mark_checked(pool, [c, a], now)
    order = [f.asset_id for f in await integrity.least_recently_checked(pool, limit=10)]
    assert order.index(b) < order.index(a) and order.index(b) < order.index(c)

    # an item of an asset goes with it
    await pool.execute("DELETE FROM assets WHERE id = $1", a)
    assert (await integrity.summary(pool))["missing_file"] == 0
    await pool.execute("DELETE FROM users WHERE id = $1", user.id)


async def test_an_asset_deleted_while_its_item_is_recorded_is_left_out(
    pool: asyncpg.Pool,
) -> None:
    """A purge committing while a check records what it found (the nightly check and the trash
    purge run side by side): the gone asset's item is left out, the others are recorded, and
    nothing raises (it raised a foreign key violation and failed the whole check)."""
    user = await users.create_user(
        pool, email=f"{uuid.uuid4().hex}@x.test", name="U", password_hash="h"
    )
    kept, gone, deleted_before = [await new_asset(pool, user.id, n) for n in ("k", "g", "d")]
    await pool.execute("DELETE FROM assets WHERE id = $1", deleted_before)
    items = [(f"race/{a}", a) for a in (kept, gone, deleted_before)]

    async with pool.acquire() as purge:
        deleting = purge.transaction()
        await deleting.start()
        await purge.execute("DELETE FROM assets WHERE id = $1", gone)
        # the insert sees `gone` (the delete is not committed) and waits on its row lock
        recording = asyncio.create_task(integrity.add(pool, "missing_file", items))
        await _until_waiting_on_a_lock(pool, "INSERT INTO integrity_reports", recording)
        await deleting.commit()
        assert await recording == 1
    recorded = await pool.fetch("SELECT asset_id FROM integrity_reports WHERE path LIKE 'race/%'")
    assert [r["asset_id"] for r in recorded] == [kept]

    # mark_checked the same way: the asset deleted meanwhile is skipped
    other = await new_asset(pool, user.id, "o")
    async with pool.acquire() as purge:
        deleting = purge.transaction()
        await deleting.start()
        await purge.execute("DELETE FROM assets WHERE id = $1", other)
        checking = asyncio.create_task(
            integrity.mark_checked(pool, [kept, other], datetime.now(UTC))
        )
        await _until_waiting_on_a_lock(pool, "INSERT INTO integrity_checksums", checking)
        await deleting.commit()
        await checking
    checked = await pool.fetch("SELECT asset_id FROM integrity_checksums")
    assert other not in {r["asset_id"] for r in checked}
    assert kept in {r["asset_id"] for r in checked}
