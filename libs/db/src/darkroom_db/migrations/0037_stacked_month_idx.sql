-- The timeline's stacked members counted from an index alone (issue #20 item 1).
--
-- With withStacked (the web app's Photos page), GET /api/timeline/buckets subtracts, per month,
-- the stacks' non-primary members (darkroom_db.timeline._counted_buckets). Through
-- assets_stacked_owner_idx (owner_id only) that visited every stacked asset's heap row: at 1M
-- assets with 10,000 stacked, ~75 ms of a ~160 ms request (EXPLAIN ANALYZE, loaded 2-core
-- machine). This index holds every column the count reads, so it is an index-only scan
-- (no heap fetches once vacuumed), and replaces the narrower one.
CREATE INDEX assets_stacked_month_idx ON assets (
    owner_id, status, visibility, date_trunc('month', local_date_time AT TIME ZONE 'UTC'),
    stack_id, id
) INCLUDE (local_date_time) WHERE stack_id IS NOT NULL;
DROP INDEX assets_stacked_owner_idx;
