"""Timeline benchmark: ``GET /api/timeline/buckets`` and ``GET /api/timeline/bucket`` over HTTP
on a library of 1,000,000 assets (issue #20 item 1).

What it times is what production serves: the embedded stack (:class:`Stack`: NATS, PostgreSQL
with its production settings, every service) in a temporary directory; users made over HTTP
(admin sign-up, ``POST /api/admin/users``, ``POST /api/auth/login``); the requests the web app's
Photos page sends (``visibility=timeline&withPartners=true&withStacked=true``), with the user's
session token, through the gateway's HTTP path (routing, authentication, the SQL, encoding).

The library is seeded straight into PostgreSQL (:func:`seed`; uploading a million files is
the ingest benchmark's business): the main user's ``ASSETS`` assets over 20 years (about 4,200
a month, the fullest months near 5,000), 10% videos, 30% with GPS, 3% archived, 1% trashed,
2% favourites, 1% in two-asset stacks, each with an EXIF row; a partner who shares 50,000
assets shown in the main user's timeline; and two other users with 100,000 assets each, so
the owner filters have rows to skip. Seeding bypasses triggers, so the timeline's month counts
(migration 0034) are rebuilt afterwards with ``darkroom_timeline_counts_rebuild()``.

Timed, ``RUNS`` requests each after ``WARMUP`` requests, one at a time:

- ``buckets``: the Photos page's bucket list (every month with its count);
- ``bucket``: the columns of one of the ``RUNS`` fullest months (cycling), size of its JSON too;
- ``buckets_favorites``: ``isFavorite=true`` (answered from the kept counts too);
- ``buckets_album``: an album of 20,000 of the user's assets (counted live).

Also ``trigger_cost``: what the month-count triggers add to one upload's INSERT of its asset
row: ``TRIGGER_SAMPLES`` single-row inserts (each its own transaction, as an upload commits),
median with the triggers and with them disabled on this bench's database only.

Targets (issue #20): buckets p95 < 50 ms, bucket of a ~5,000-asset month p95 < 100 ms.
``DARKROOM_BENCH_TIMELINE_ASSETS`` sets a smaller library for a quick run (the report says
which size it measured). Results: bench/results/timeline.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

import asyncpg
import httpx
import structlog
from darkroom_db import users
from darkroom_stack.servers import free_port
from darkroom_stack.supervisor import Stack, StackConfig

RESULTS = Path(__file__).parent / "results"
ASSETS = int(os.environ.get("DARKROOM_BENCH_TIMELINE_ASSETS", "1000000"))
PARTNER_ASSETS = max(1, ASSETS // 20)
OTHER_ASSETS = max(1, ASSETS // 10)
ALBUM_ASSETS = max(1, ASSETS // 50)
RUNS = 50
WARMUP = 5
YEARS = 20
TRIGGER_SAMPLES = 200
PASSWORD = "correct horse battery staple"
PHOTOS = {"visibility": "timeline", "withPartners": "true", "withStacked": "true"}

log = structlog.get_logger()


async def _seed_assets(conn: asyncpg.Connection, owner: uuid.UUID, count: int, tag: str) -> None:
    await conn.execute(
        """INSERT INTO assets (id, owner_id, device_asset_id, device_id, type, status, visibility,
             original_path, original_file_name, original_mime_type, checksum, file_size,
             file_created_at, file_modified_at, local_date_time, is_favorite, width, height,
             thumbhash, duration_ms, deleted_at)
           SELECT gen_random_uuid(), $1::uuid, $4 || i, $4,
             CASE WHEN i % 10 = 0 THEN 'VIDEO' ELSE 'IMAGE' END,
             CASE WHEN i % 100 = 7 THEN 'trashed' ELSE 'active' END,
             CASE WHEN i % 33 = 5 THEN 'archive' ELSE 'timeline' END,
             'upload/' || $1::uuid::text || '/' || i || '.jpg', 'IMG_' || i || '.jpg',
             CASE WHEN i % 10 = 0 THEN 'video/mp4' ELSE 'image/jpeg' END,
             substring(sha256(($1::uuid::text || i)::bytea) FROM 1 FOR 20), 2000000 + i,
             t, t, t + interval '2 hours', i % 50 = 3,
             CASE WHEN i % 4 = 1 THEN 3024 ELSE 4032 END,
             CASE WHEN i % 4 = 1 THEN 4032 ELSE 3024 END,
             '\\x1d08060d82d6a7a9877887785788877f6888'::bytea,
             CASE WHEN i % 10 = 0 THEN 12000 END,
             CASE WHEN i % 100 = 7 THEN now() END
           FROM generate_series(1, $2) AS i,
             LATERAL (SELECT timestamptz '2006-01-01 00:00:00+00'
                      + (i::double precision / $2) * interval '1 day' * 365.25 * $3
                      -- uneven months: summers fuller than winters, as phones take them
                      + interval '20 days' * sin(i::double precision / $2 * $3 * 2 * pi())
                      ) AS g(t)""",
        owner,
        count,
        YEARS,
        tag,
    )
    await conn.execute(
        """INSERT INTO asset_exif (asset_id, owner_id, city, country, orientation, latitude,
             longitude, make, model)
           SELECT id, owner_id,
             CASE WHEN right(device_asset_id, 1) IN ('1', '4', '7') THEN 'Genoa' END,
             CASE WHEN right(device_asset_id, 1) IN ('1', '4', '7') THEN 'Italy' END, '1',
             CASE WHEN right(device_asset_id, 1) IN ('1', '4', '7') THEN 44.4 END,
             CASE WHEN right(device_asset_id, 1) IN ('1', '4', '7') THEN 8.9 END,
             'Apple', 'iPhone 15'
           FROM assets WHERE owner_id = $1""",
        owner,
    )


async def _seed_stacks(conn: asyncpg.Connection, owner: uuid.UUID) -> int:
    """1% of ``owner``'s assets in two-asset stacks (pairs i, i+1 with i % 200 == 10)."""
    rows = await conn.fetch(
        "SELECT id, device_asset_id FROM assets WHERE owner_id = $1 "
        "AND split_part(device_asset_id, '-', 2)::bigint % 200 IN (10, 11) "
        "ORDER BY split_part(device_asset_id, '-', 2)::bigint",
        owner,
    )
    pairs = [(rows[k]["id"], rows[k + 1]["id"]) for k in range(0, len(rows) - 1, 2)]
    stack_ids = [uuid.uuid4() for _ in pairs]
    await conn.execute(
        "INSERT INTO stacks (id, owner_id, primary_asset_id) "
        "SELECT s, $1, p FROM unnest($2::uuid[], $3::uuid[]) AS u(s, p)",
        owner,
        stack_ids,
        [p for p, _ in pairs],
    )
    await conn.execute(
        "UPDATE assets a SET stack_id = u.s FROM unnest($1::uuid[], $2::uuid[], $3::uuid[]) "
        "AS u(s, p, m) WHERE a.id IN (u.p, u.m)",
        stack_ids,
        [p for p, _ in pairs],
        [m for _, m in pairs],
    )
    return len(pairs)


async def seed(
    database_url: str,
    owner: uuid.UUID,
    partner: uuid.UUID,
    others: list[uuid.UUID],
    album: uuid.UUID,
) -> dict[str, int]:
    """Seed the library described in the module docstring; returns what was made."""
    conn = await asyncpg.connect(database_url)
    try:
        # Row triggers off: quota and sync bookkeeping per row would cost an hour at 1M rows.
        await conn.execute("SET session_replication_role = replica")
        await _seed_assets(conn, owner, ASSETS, "main-")
        await _seed_assets(conn, partner, PARTNER_ASSETS, "partner-")
        for k, other in enumerate(others):
            await _seed_assets(conn, other, OTHER_ASSETS, f"other{k}-")
        stacked = await _seed_stacks(conn, owner)
        await conn.execute(
            "INSERT INTO album_assets (album_id, asset_id) SELECT $1, id FROM assets "
            "WHERE owner_id = $2 AND split_part(device_asset_id, '-', 2)::bigint % $3 = 0",
            album,
            owner,
            max(1, ASSETS // ALBUM_ASSETS),
        )
        await conn.execute("RESET session_replication_role")
        await conn.execute("SELECT darkroom_timeline_counts_rebuild()")
        await users.sync_quota_usage(conn)  # the quota trigger was off too
        for table in ("assets", "asset_exif", "album_assets", "stacks", "asset_month_counts"):
            await conn.execute(f"VACUUM (ANALYZE) {table}")
        return {"stacks": stacked}
    finally:
        await conn.close()


async def trigger_cost(database_url: str, owner: uuid.UUID) -> dict[str, float]:
    """Median ms of a one-row asset INSERT in its own transaction, with and without the
    month-count triggers (disabled on this database only, then enabled again)."""
    conn = await asyncpg.connect(database_url)
    triggers = ("assets_month_counts_insert",)

    async def one() -> float:
        started = time.perf_counter()
        await conn.execute(
            "INSERT INTO assets (id, owner_id, device_asset_id, device_id, type, original_path, "
            "original_file_name, original_mime_type, checksum, file_size, file_created_at, "
            "file_modified_at, local_date_time) SELECT i, $1, 'cost', 'cost', 'IMAGE', 'x', "
            "'x.jpg', 'image/jpeg', substring(sha256(i::text::bytea) FROM 1 FOR 20), 1, now(), "
            "now(), now() FROM (SELECT gen_random_uuid() AS i) g",
            owner,
        )
        return (time.perf_counter() - started) * 1000

    try:
        with_triggers = [await one() for _ in range(TRIGGER_SAMPLES)]
        for name in triggers:
            await conn.execute(f"ALTER TABLE assets DISABLE TRIGGER {name}")
        try:
            without = [await one() for _ in range(TRIGGER_SAMPLES)]
        finally:
            for name in triggers:
                await conn.execute(f"ALTER TABLE assets ENABLE TRIGGER {name}")
        await conn.execute("DELETE FROM assets WHERE device_id = 'cost'")
        await conn.execute("SELECT darkroom_timeline_counts_rebuild()")
        return {
            "insert_with_triggers_ms_median": round(statistics.median(with_triggers), 3),
            "insert_without_triggers_ms_median": round(statistics.median(without), 3),
        }
    finally:
        await conn.close()


def timed(client: httpx.Client, path: str, params: list[dict[str, str]]) -> dict[str, float]:
    """p50/p95/min/max in ms (and the median body size) of ``RUNS`` GETs after ``WARMUP``,
    cycling through ``params``."""
    for i in range(WARMUP):
        client.get(path, params=params[i % len(params)]).raise_for_status()
    samples, sizes = [], []
    for i in range(RUNS):
        started = time.perf_counter()
        r = client.get(path, params=params[i % len(params)])
        body = r.content
        samples.append((time.perf_counter() - started) * 1000)
        r.raise_for_status()
        sizes.append(len(body))
    samples.sort()
    return {
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(samples[int(len(samples) * 0.95) - 1], 2),
        "min_ms": round(samples[0], 2),
        "max_ms": round(samples[-1], 2),
        "body_bytes_median": int(statistics.median(sizes)),
    }


def _user(admin: httpx.Client, stack: Stack, name: str) -> tuple[str, httpx.Client]:
    email = f"{name}@bench.test"
    r = admin.post("/api/admin/users", json={"email": email, "password": PASSWORD, "name": name})
    r.raise_for_status()
    login = httpx.post(
        f"{stack.url}/api/auth/login", json={"email": email, "password": PASSWORD}, timeout=60
    )
    login.raise_for_status()
    token = login.json()["accessToken"]
    client = httpx.Client(
        base_url=stack.url, headers={"Authorization": f"Bearer {token}"}, timeout=300
    )
    return r.json()["id"], client


def measure(stack: Stack) -> dict[str, object]:
    """Make the users, seed, and time the requests (see the module docstring)."""
    r = httpx.post(
        f"{stack.url}/api/auth/admin-sign-up",
        json={"email": "admin@bench.test", "password": PASSWORD, "name": "Admin"},
        timeout=60,
    )
    r.raise_for_status()
    login = httpx.post(
        f"{stack.url}/api/auth/login",
        json={"email": "admin@bench.test", "password": PASSWORD},
        timeout=60,
    )
    admin = httpx.Client(
        base_url=stack.url,
        headers={"Authorization": f"Bearer {login.json()['accessToken']}"},
        timeout=300,
    )
    owner_id, owner = _user(admin, stack, "owner")
    partner_id, partner = _user(admin, stack, "partner")
    others = [_user(admin, stack, f"other{k}")[0] for k in range(2)]
    partner.post("/api/partners", json={"sharedWithId": owner_id}).raise_for_status()
    owner.put(f"/api/partners/{partner_id}", json={"inTimeline": True}).raise_for_status()
    album = owner.post("/api/albums", json={"albumName": "Bench album"})
    album.raise_for_status()
    album_id = album.json()["id"]

    database_url = stack.env()["DARKROOM_DATABASE_URL"]
    if database_url.startswith("postgresql+"):
        database_url = "postgresql://" + database_url.split("://", 1)[1]
    started = time.perf_counter()
    made = asyncio.run(
        seed(
            database_url,
            uuid.UUID(owner_id),
            uuid.UUID(partner_id),
            [uuid.UUID(o) for o in others],
            uuid.UUID(album_id),
        )
    )
    seed_s = time.perf_counter() - started

    buckets = owner.get("/api/timeline/buckets", params=PHOTOS)
    buckets.raise_for_status()
    fullest = sorted(buckets.json(), key=lambda b: -b["count"])[:RUNS]
    month_params = [{**PHOTOS, "timeBucket": b["timeBucket"]} for b in fullest]
    results = {
        "buckets": timed(owner, "/api/timeline/buckets", [PHOTOS]),
        "bucket": timed(owner, "/api/timeline/bucket", month_params),
        "buckets_favorites": timed(owner, "/api/timeline/buckets", [{"isFavorite": "true"}]),
        "buckets_album": timed(owner, "/api/timeline/buckets", [{"albumId": album_id}]),
    }
    return {
        "assets": ASSETS,
        "partner_assets": PARTNER_ASSETS,
        "other_users_assets": [OTHER_ASSETS] * len(others),
        "album_assets": ALBUM_ASSETS,
        **made,
        "months": len(buckets.json()),
        "bucket_sizes_timed": [b["count"] for b in fullest][:5]
        + ["..."]
        + [b["count"] for b in fullest][-2:],
        "seed_s": round(seed_s, 1),
        "runs": RUNS,
        "results": results,
        "trigger_cost": asyncio.run(trigger_cost(database_url, uuid.UUID(owner_id))),
    }


def main() -> None:
    """Run the benchmark and write bench/results/timeline.json."""
    with tempfile.TemporaryDirectory(prefix="darkroom-bench-timeline-") as tmp:
        stack = Stack(
            StackConfig(
                data_dir=Path(tmp), gateway_port=free_port(), log_to_files=True, metrics=False
            )
        )
        stack.start()
        try:
            measured = measure(stack)
        finally:
            stack.stop()
    result = {
        **measured,
        "targets": {"buckets_p95_ms": 50, "bucket_p95_ms": 100},
        "request": "GET over HTTP/1.1 (httpx), Bearer session token, one at a time",
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "date": date.today().isoformat(),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "timeline.json").write_text(json.dumps(result, indent=2) + "\n")
    for name, numbers in result["results"].items():  # type: ignore[union-attr]
        log.info("bench.timeline", name=name, **numbers)


if __name__ == "__main__":
    main()
