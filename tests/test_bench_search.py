"""The smart search benchmark (bench/search.py) runs end to end on a small library: it seeds the
real tables, rebuilds the migrations' HNSW index, times the production query per scenario and
scores it against numpy exact search under the same filters (issue #20 item 2).

The full run is ``python -m bench search`` (100k and 1M assets, bench/results/search.json); this
seeds 3,000 assets into a fresh database of the test server, to stay quick.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from darkroom_db import migrate
from darkroom_stack.testing import fresh_database

from bench import search as bench_search


def test_search_benchmark_scores_the_production_query(postgres_server, monkeypatch) -> None:
    url = fresh_database(postgres_server, "benchsearch")
    migrate(url)
    monkeypatch.setattr(bench_search, "QUERIES", 12)
    monkeypatch.setattr(bench_search, "WARMUP", 2)
    monkeypatch.setattr(bench_search, "SETTINGS", [{"ef_search": 40}])
    result: dict = {}
    saves: list[int] = []
    asyncio.run(
        bench_search.run_size(url, 3000, np.random.default_rng(1), result, lambda: saves.append(1))
    )
    assert saves, "the JSON is written as the run goes"
    (index,) = result["indexes"]
    assert index["variant"] == "production" and index["m"] == 24  # migration 0039
    assert "USING hnsw" in index["definition"] and index["build_s"] > 0
    runs = index["runs"]
    assert [r["production"] for r in runs] == [True, False]
    assert runs[0]["settings"] == bench_search.production_settings()
    for run in runs:
        scenarios = run["scenarios"]
        assert set(scenarios) == set(bench_search.SCENARIOS)
        # nested filters: the library holds the top city, which holds more than the rare one
        counts = [scenarios[s]["matching_rows"] for s in ("library", "city_top", "city_rare")]
        assert counts[0] > counts[1] > counts[2] >= 0
        for name, figures in scenarios.items():
            assert figures["p95_ms"] >= figures["p50_ms"] > 0, name
            if figures["matching_rows"] == 0:
                assert figures["recall_at_10"] is None, name
                continue
            # 3,000 rows: the HNSW walk and the filter-first plan both find the exact top 10
            assert figures["recall_at_10"] == pytest.approx(1.0), (name, figures)
            assert figures["short_pages"] == 0, name
    # the plan PostgreSQL chose per scenario is kept (at 3,000 rows it may skip the index)
    assert set(index["plans"]) == set(bench_search.SCENARIOS)
    assert all(any("smart_search" in line for line in p) for p in index["plans"].values())
