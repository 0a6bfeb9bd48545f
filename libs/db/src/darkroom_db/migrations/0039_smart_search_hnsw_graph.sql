-- Smart search at 1,000,000 assets (issue #20 item 2): a denser HNSW graph.
--
-- With pgvector's defaults (m = 16, ef_construction = 64) the recall@10 of an unfiltered smart
-- search at 1M embeddings stopped at 0.92-0.94 however large hnsw.ef_search was (400 and 800
-- differed by 0.01), below the 0.95 target: the graph did not reach some neighbourhoods.
-- m = 24, ef_construction = 128 (each node linked to more neighbours, chosen from a longer
-- candidate list) gave 0.998 at ef_search 200 and 400, p95 7.6 and 10.9 ms, for twice the
-- build time: 595 s against 294 s at 1M on the 2-core development machine, with 3 GB of
-- maintenance_work_mem and two parallel workers (bench/search.py variant "m=24,ef=128";
-- docs/performance.md, "Smart search"). The index is the same size (2.6 GB at 1M).
--
-- The index is rebuilt here, in this migration's transaction: a library of 100,000 embeddings
-- takes about a minute, 1M about ten. The build keeps the graph in memory while it fits
-- (maintenance_work_mem; PostgreSQL's 64 MB default would spill at ~25,000 embeddings and make a
-- large build many times slower), so this transaction allows it 2 GB, allocated only as the
-- graph grows. darkroom_db.smart_search.HNSW_INDEX builds the same index when the CLIP model's
-- dimension changes.
SET LOCAL maintenance_work_mem = '2GB';
DROP INDEX IF EXISTS smart_search_embedding_idx;
CREATE INDEX smart_search_embedding_idx ON smart_search
    USING hnsw (embedding vector_cosine_ops) WITH (m = 24, ef_construction = 128);
