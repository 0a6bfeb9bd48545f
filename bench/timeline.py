"""Timeline benchmark: the two timeline queries on a 200k-asset library.

Starts its own PostgreSQL (embedded, in a temporary directory), applies the migrations, and
seeds with ``generate_series`` one user with 200,000 assets spread over 20 years (about 830 per
month; 2% favourites, 3% archived, 1% trashed, 8% videos, an EXIF row with a city for each),
plus a second user with 50,000 assets so the owner filter has something to skip. Then it times
the repository functions the API calls, 50 runs each after 5 warm-up runs:

- ``buckets``: :func:`darkroom_db.timeline.time_buckets` of the main timeline (every month with
  its count, the first call of a timeline);
- ``bucket``: :func:`darkroom_db.timeline.time_bucket` of one month (the columns of ~830
  assets), cycling through 50 different months;
- ``buckets_favorites`` / ``bucket_archive``: the same with ``isFavorite`` / ``visibility``.

Results (ms, p50 and p95, plus the query plans' index use): bench/results/timeline.json.
"""

from __future__ import annotations

import asyncio
import json
import platform
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path

import asyncpg
from darkroom_db import create_pool, migrate, timeline
from darkroom_stack.servers import start_postgres

RESULTS = Path(__file__).parent / "results"
ASSETS = 200_000
OTHER_ASSETS = 50_000
RUNS = 50
WARMUP = 5
YEARS = 20


async def seed(pool: asyncpg.Pool, owner: uuid.UUID, count: int) -> None:
    """Insert ``count`` assets (and their EXIF rows) for ``owner`` spread over ``YEARS``.

    Row triggers are off while seeding (``session_replication_role = replica``): the quota
    trigger of migration 0002 updates the owner's ``users`` row once per inserted asset, which
    in a single 200k-row statement costs minutes, and neither quota nor sync positions matter
    to the timeline queries.
    """
    async with pool.acquire() as conn:
        await conn.execute("SET session_replication_role = replica")
        try:
            await _insert(conn, owner, count)
        finally:
            await conn.execute("RESET session_replication_role")


async def _insert(pool: asyncpg.Connection, owner: uuid.UUID, count: int) -> None:
    await pool.execute(
        "INSERT INTO users (id, email, name) VALUES ($1, $2, 'bench')", owner, f"{owner}@bench"
    )
    await pool.execute(
        """INSERT INTO assets (id, owner_id, device_asset_id, device_id, type, status, visibility,
             original_path, original_file_name, original_mime_type, checksum, file_size,
             file_created_at, file_modified_at, local_date_time, is_favorite, width, height,
             thumbhash, deleted_at)
           SELECT gen_random_uuid(), $1::uuid, 'dev-' || i, 'bench',
             CASE WHEN i % 12 = 0 THEN 'VIDEO' ELSE 'IMAGE' END,
             CASE WHEN i % 100 = 7 THEN 'trashed' ELSE 'active' END,
             CASE WHEN i % 33 = 5 THEN 'archive' ELSE 'timeline' END,
             'upload/' || $1::uuid::text || '/' || i || '.jpg', 'IMG_' || i || '.jpg', 'image/jpeg',
             substring(sha256(($1::uuid::text || i)::bytea) FROM 1 FOR 20), 2000000 + i,
             t, t, t + interval '2 hours', i % 50 = 3, 4032, 3024, '\\x0102030405'::bytea,
             CASE WHEN i % 100 = 7 THEN now() END
           FROM generate_series(1, $2) AS i,
             LATERAL (SELECT timestamptz '2006-01-01 00:00:00+00'
                      + (i::double precision / $2) * interval '1 day' * 365.25 * $3) AS g(t)""",
        owner,
        count,
        YEARS,
    )
    await pool.execute(
        "INSERT INTO asset_exif (asset_id, owner_id, city, country, orientation) "
        "SELECT id, owner_id, 'Genoa', 'Italy', '1' FROM assets WHERE owner_id = $1",
        owner,
    )


async def timed(run: Callable[[int], Awaitable[object]]) -> dict[str, float]:
    """p50/p95/min/max in ms of ``RUNS`` calls of ``run(i)`` after ``WARMUP`` calls."""
    for i in range(WARMUP):
        await run(i)
    samples = []
    for i in range(RUNS):
        started = time.perf_counter()
        await run(i)
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(samples[int(len(samples) * 0.95) - 1], 2),
        "min_ms": round(samples[0], 2),
        "max_ms": round(samples[-1], 2),
    }


async def explain(pool: asyncpg.Pool, sql: str, *args: object) -> str:
    """The plan of ``sql`` as text (EXPLAIN ANALYZE)."""
    rows = await pool.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", *args)
    return "\n".join(r[0] for r in rows)


async def run(database_url: str) -> dict[str, object]:
    """Seed, time, and return the results."""
    pool = await create_pool(database_url, max_size=2)
    try:
        owner, other = uuid.uuid4(), uuid.uuid4()
        started = time.perf_counter()
        await seed(pool, owner, ASSETS)
        await seed(pool, other, OTHER_ASSETS)
        await pool.execute("VACUUM (ANALYZE) assets")
        await pool.execute("VACUUM (ANALYZE) asset_exif")
        seed_s = time.perf_counter() - started

        main = timeline.TimelineFilter(viewer_id=owner)
        months = [m for m, _ in await timeline.time_buckets(pool, main)]
        sample = months[:: max(1, len(months) // RUNS)][:RUNS]
        sizes = [len(await timeline.time_bucket(pool, main, m)) for m in sample[:5]]
        favorites = timeline.TimelineFilter(viewer_id=owner, is_favorite=True)
        archive = timeline.TimelineFilter(viewer_id=owner, visibility="archive")

        results = {
            "buckets": await timed(lambda i: timeline.time_buckets(pool, main)),
            "bucket": await timed(
                lambda i: timeline.time_bucket(pool, main, sample[i % len(sample)])
            ),
            "buckets_favorites": await timed(lambda i: timeline.time_buckets(pool, favorites)),
            "bucket_archive": await timed(
                lambda i: timeline.time_bucket(pool, archive, sample[i % len(sample)])
            ),
        }
        start, end = timeline.month_range(sample[1])
        plan_buckets = await explain(
            pool,
            f"SELECT {timeline.MONTH_OF_CAPTURE}, count(*) FROM assets a "
            "WHERE a.status = 'active' AND a.owner_id = $1 AND a.visibility = 'timeline' "
            "GROUP BY 1 ORDER BY 1 DESC",
            owner,
        )
        plan_bucket = await explain(
            pool,
            "SELECT a.id FROM assets a LEFT JOIN asset_exif e ON e.asset_id = a.id "
            "WHERE a.status = 'active' AND a.owner_id = $1 AND a.visibility = 'timeline' "
            f"AND {timeline.MONTH_OF_CAPTURE} = $2 "
            "AND a.local_date_time >= $3 AND a.local_date_time < $4 "
            "ORDER BY a.local_date_time DESC, a.id DESC",
            owner,
            start.replace(tzinfo=None),
            start,
            end,
        )
        return {
            "assets": ASSETS,
            "other_user_assets": OTHER_ASSETS,
            "months": len(months),
            "assets_per_bucket_sampled": sizes,
            "runs": RUNS,
            "seed_s": round(seed_s, 1),
            "results": results,
            "plans": {"buckets": plan_buckets, "bucket": plan_bucket},
            "postgres": await pool.fetchval("SHOW server_version"),
            "machine": platform.machine(),
            "python": platform.python_version(),
            "date": date.today().isoformat(),
        }
    finally:
        await pool.close()


def main() -> None:
    """Run the benchmark and write bench/results/timeline.json."""
    with tempfile.TemporaryDirectory(prefix="darkroom-bench-timeline-") as tmp:
        server = start_postgres(Path(tmp))
        try:
            migrate(server.url)
            result = asyncio.run(run(server.url))
        finally:
            server.stop()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "timeline.json").write_text(json.dumps(result, indent=2) + "\n")
    for name, numbers in result["results"].items():  # type: ignore[union-attr]
        print(f"{name:20s} p50 {numbers['p50_ms']:7.2f} ms   p95 {numbers['p95_ms']:7.2f} ms")  # noqa: T201


if __name__ == "__main__":
    main()
