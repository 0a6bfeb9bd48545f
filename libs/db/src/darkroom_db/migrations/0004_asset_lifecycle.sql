-- Asset lifecycle: the trash (status 'trashed' + deleted_at), deletion for good (audited) and the
-- indexes the timeline needs to answer a 200k-asset library in tens of milliseconds
-- (bench/timeline.py measures them).

-- One row per asset deleted for good, for incremental sync ("this asset is gone since ...").
-- No foreign keys: the asset row is gone, and the log must outlive it.
CREATE TABLE asset_audit (
    id bigserial PRIMARY KEY,
    asset_id uuid NOT NULL,
    owner_id uuid NOT NULL,
    deleted_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX asset_audit_owner_idx ON asset_audit (owner_id, deleted_at);

-- Timeline buckets and bucket pages: equality on (owner, status, visibility), then the month of
-- the capture wall-clock time (the bucket), then the time itself. One month's page is a range
-- of it already in order; for the month counts the planner may use it or scan the table (for a
-- user owning most rows a parallel scan wins: ~20 ms for 200k assets, bench/timeline.py).
-- is_favorite and type ride along for the favourites filter and statistics.
-- The expression must stay identical to the one in darkroom_db.timeline (MONTH_OF_CAPTURE).
CREATE INDEX assets_timeline_month_idx
    ON assets (owner_id, status, visibility,
               (date_trunc('month', local_date_time AT TIME ZONE 'UTC')), local_date_time)
    INCLUDE (is_favorite, type);
