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

-- Timeline buckets and bucket pages: equality on (owner, status, visibility), then the capture
-- time in order; is_favorite and type ride along so counts are index-only scans.
CREATE INDEX assets_timeline_bucket_idx
    ON assets (owner_id, status, visibility, local_date_time)
    INCLUDE (is_favorite, type);

-- The same ordered by upload time (orderBy=createdAt).
CREATE INDEX assets_timeline_created_idx
    ON assets (owner_id, status, visibility, created_at)
    INCLUDE (is_favorite, type);
