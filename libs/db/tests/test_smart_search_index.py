"""Every smart search query walks the HNSW index: a query whose ORDER BY the index cannot
answer (another operator, a cast, an expression the index is not built on) still returns the
right rows, by reading and sorting every embedding, and only a million-asset library shows it.
Each repository query runs on a connection that refuses sequential scans where it can, and the
index's own scan counter must have moved."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import numpy as np
import pytest
from darkroom_db import migrate, search, smart_search, users
from darkroom_stack.testing import fresh_database
from pgvector.asyncpg import register_vector

from .conftest import new_asset

DIM = 512  # the migrations' column (ViT-B-32)
INDEX = "smart_search_embedding_idx"


@pytest.fixture(scope="module")
def db_url(postgres_server: object) -> str:
    url = fresh_database(postgres_server, "ssindex")
    migrate(url)
    return url


@pytest.fixture
async def one_connection(db_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool of one connection whose planner avoids sequential scans and sorts where it can
    (the test's tables are small: at scale the index is the cheaper plan anyway); the same
    connection reads the counters."""
    pool = await asyncpg.create_pool(
        db_url,
        min_size=1,
        max_size=1,
        init=register_vector,
        # the only plan left without a sequential scan or a sort is the HNSW index's
        server_settings={"enable_seqscan": "off", "enable_sort": "off"},
    )
    assert pool is not None
    yield pool
    await pool.close()


def _unit(rng: np.random.Generator) -> np.ndarray:
    v = rng.standard_normal(DIM).astype(np.float32)
    return v / np.linalg.norm(v)


async def _library(pool: asyncpg.Pool, rng: np.random.Generator, n: int) -> uuid.UUID:
    owner = await users.create_user(
        pool, email=f"{uuid.uuid4().hex}@x.test", name="U", password_hash="h"
    )
    rows = [(await new_asset(pool, owner.id, str(i)), owner.id, _unit(rng)) for i in range(n)]
    await smart_search.upsert_embeddings(pool, rows, model="ViT-B-32__openai")
    return owner.id


async def _index_scans(pool: asyncpg.Pool, run: Callable[[], Awaitable[object]]) -> int:
    """Scans of the smart search index that ``run`` made on the pool's one connection.

    ``pg_stat_force_next_flush`` makes the connection report its counters at the end of its
    next transaction, and ``pg_stat_clear_snapshot`` reads them afresh, so no waiting."""

    async def scans() -> int:
        await pool.execute("SELECT pg_stat_clear_snapshot()")
        return int(
            await pool.fetchval(
                "SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = $1", INDEX
            )
        )

    before = await scans()
    await run()
    await pool.execute("SELECT pg_stat_force_next_flush()")
    return await scans() - before


async def test_every_smart_search_query_uses_the_index(
    pool: asyncpg.Pool, one_connection: asyncpg.Pool
) -> None:
    rng = np.random.default_rng(7)
    owner = await _library(pool, rng, 40)
    query = _unit(rng)

    async def page() -> list[uuid.UUID]:
        async with one_connection.acquire() as conn:
            return await search.smart_search(
                conn, owner, query, search.AssetFilters(), offset=0, limit=10
            )

    ids: list[uuid.UUID] = []

    async def searched() -> None:
        ids.extend(await page())

    assert await _index_scans(one_connection, searched) >= 1
    assert len(ids) == 10

    near: list[tuple[uuid.UUID, float]] = []

    async def nearest() -> None:
        near.extend(await smart_search.nearest(one_connection, owner, query, limit=5))

    assert await _index_scans(one_connection, nearest) >= 1
    assert [d for _, d in near] == sorted(d for _, d in near) and len(near) == 5

    some_asset = ids[0]

    async def duplicates() -> None:
        await smart_search.assign_duplicates(one_connection, some_asset, query)

    assert await _index_scans(one_connection, duplicates) >= 1
