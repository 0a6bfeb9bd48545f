-- Sync, version 1: change positions for the mobile app's sync stream (POST /api/sync/stream) and
-- each session's acknowledged checkpoints (/api/sync/ack).
--
-- Every synced row carries ``update_pos``: the id of the top-level transaction that last wrote it
-- (``pg_current_xact_id()``, a 64-bit xid8 as bigint). The stream sends rows ordered by
-- (update_pos, row key) and only those with update_pos below the xmin of its snapshot, i.e. rows
-- of transactions that have all finished: a transaction still in flight always has an xid at or
-- above that xmin, so no row can later appear below a position a client has acknowledged (a
-- sequence value taken at write time would not promise that: commit order differs from nextval
-- order). Rows written by one transaction share a position; the row key breaks the tie.

CREATE FUNCTION darkroom_sync_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- A no-op update (e.g. quota usage recomputed to the same value) is not a change.
    IF TG_OP = 'UPDATE' AND NEW IS NOT DISTINCT FROM OLD THEN
        RETURN NEW;
    END IF;
    NEW.update_pos := pg_current_xact_id()::text::bigint;
    RETURN NEW;
END
$$;

ALTER TABLE users ADD COLUMN update_pos bigint NOT NULL DEFAULT pg_current_xact_id()::text::bigint;
ALTER TABLE assets ADD COLUMN update_pos bigint NOT NULL DEFAULT pg_current_xact_id()::text::bigint;
ALTER TABLE asset_exif
    ADD COLUMN update_pos bigint NOT NULL DEFAULT pg_current_xact_id()::text::bigint;
ALTER TABLE albums ADD COLUMN update_pos bigint NOT NULL DEFAULT pg_current_xact_id()::text::bigint;
ALTER TABLE album_assets
    ADD COLUMN update_pos bigint NOT NULL DEFAULT pg_current_xact_id()::text::bigint;
ALTER TABLE album_users
    ADD COLUMN update_pos bigint NOT NULL DEFAULT pg_current_xact_id()::text::bigint;
-- Deletions: the audit rows are only ever inserted, so the column default is enough.
ALTER TABLE user_audit
    ADD COLUMN update_pos bigint NOT NULL DEFAULT pg_current_xact_id()::text::bigint;
ALTER TABLE asset_audit
    ADD COLUMN update_pos bigint NOT NULL DEFAULT pg_current_xact_id()::text::bigint;
ALTER TABLE album_audit
    ADD COLUMN update_pos bigint NOT NULL DEFAULT pg_current_xact_id()::text::bigint;
ALTER TABLE album_asset_audit
    ADD COLUMN update_pos bigint NOT NULL DEFAULT pg_current_xact_id()::text::bigint;
ALTER TABLE album_user_audit
    ADD COLUMN update_pos bigint NOT NULL DEFAULT pg_current_xact_id()::text::bigint;

CREATE TRIGGER users_sync_touch BEFORE INSERT OR UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION darkroom_sync_touch();
CREATE TRIGGER assets_sync_touch BEFORE INSERT OR UPDATE ON assets
    FOR EACH ROW EXECUTE FUNCTION darkroom_sync_touch();
CREATE TRIGGER asset_exif_sync_touch BEFORE INSERT OR UPDATE ON asset_exif
    FOR EACH ROW EXECUTE FUNCTION darkroom_sync_touch();
CREATE TRIGGER albums_sync_touch BEFORE INSERT OR UPDATE ON albums
    FOR EACH ROW EXECUTE FUNCTION darkroom_sync_touch();
CREATE TRIGGER album_assets_sync_touch BEFORE INSERT OR UPDATE ON album_assets
    FOR EACH ROW EXECUTE FUNCTION darkroom_sync_touch();
CREATE TRIGGER album_users_sync_touch BEFORE INSERT OR UPDATE ON album_users
    FOR EACH ROW EXECUTE FUNCTION darkroom_sync_touch();

CREATE INDEX users_sync_idx ON users (update_pos, id);
CREATE INDEX assets_sync_idx ON assets (owner_id, update_pos, id);
CREATE INDEX asset_exif_sync_idx ON asset_exif (owner_id, update_pos, asset_id);
CREATE INDEX albums_sync_idx ON albums (owner_id, update_pos);
CREATE INDEX user_audit_sync_idx ON user_audit (update_pos);
CREATE INDEX asset_audit_sync_idx ON asset_audit (owner_id, update_pos);
CREATE INDEX album_audit_sync_idx ON album_audit (user_id, update_pos);

-- The last acknowledged position of each SyncEntityType, per session: ``ack`` is the opaque
-- string the stream sent ("<type>|<position>|<row key>").
CREATE TABLE session_sync_checkpoints (
    session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    type text NOT NULL,
    ack text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (session_id, type)
);
