"""The EXIF filters of a search read only their index (migration 0040): the sub-query
``darkroom_db.search.where_clause`` writes for a city, a country or a camera is answered by an
index-only scan, with no read of the wide ``asset_exif`` rows."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from darkroom_db import search, users
from darkroom_stack.testing import fresh_database

from .conftest import new_asset

CITIES = ("Arezzo", "Siena", "Lucca", "Pisa")
CAMERAS = (("Canon", "EOS R6"), ("Nikon", "Z6"), ("Apple", "iPhone 15"))
PLACES = (("Italy", "Tuscany"), ("France", "Brittany"), ("Japan", "Kyoto"), ("Spain", "Galicia"))


@pytest.fixture(scope="module")
def db_url(postgres_server: object) -> str:
    from darkroom_db import migrate

    url = fresh_database(postgres_server, "exifidx")
    migrate(url)
    return url


async def _library(pool: asyncpg.Pool, n: int) -> uuid.UUID:
    """A user with ``n`` assets spread over the cities, places and cameras; the id."""
    owner = await users.create_user(
        pool, email=f"{uuid.uuid4().hex}@x.test", name="U", password_hash="h"
    )
    for i in range(n):
        asset_id = await new_asset(pool, owner.id, str(i))
        make, model = CAMERAS[i % len(CAMERAS)]
        await pool.execute(
            "INSERT INTO asset_exif (asset_id, owner_id, city, state, country, make, model) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7)",
            asset_id,
            owner.id,
            CITIES[i % len(CITIES)],
            PLACES[i % len(PLACES)][1],
            PLACES[i % len(PLACES)][0],
            make,
            model,
        )
    return owner.id


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        ({"city": "Arezzo"}, "asset_exif_city_idx"),
        ({"country": "Italy", "state": "Tuscany"}, "asset_exif_country_state_idx"),
        ({"make": "Canon", "model": "EOS R6"}, "asset_exif_make_model_idx"),
    ],
)
async def test_an_exif_filter_is_an_index_only_scan(
    pool: asyncpg.Pool, filters: dict[str, str], index: str
) -> None:
    owner = await _library(pool, 200)
    await _library(pool, 200)  # another user's rows in the same indexes
    await pool.execute("VACUUM (ANALYZE) asset_exif")  # all-visible pages, as autovacuum leaves
    where, params = search.where_clause(owner, search.AssetFilters(**filters))  # type: ignore[arg-type]
    async with pool.acquire() as conn, conn.transaction():
        # small tables: without these the planner reads them whole, as it would not at scale
        await conn.execute("SET LOCAL enable_seqscan = off")
        await conn.execute("SET LOCAL enable_bitmapscan = off")
        rows = await conn.fetch(f"EXPLAIN SELECT a.id FROM assets a WHERE {where}", *params)
    plan = "\n".join(r[0] for r in rows)
    assert f"Index Only Scan using {index} on asset_exif" in plan, plan
