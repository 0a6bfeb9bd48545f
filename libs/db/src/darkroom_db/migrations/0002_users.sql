-- Users, version 2: preferences, onboarding, session sync state, user audit, login throttling
-- and a quota usage counter kept current by a trigger on assets.

-- UserPreferencesResponseDto as sent by clients, sparse: only what a user changed is stored;
-- the gateway fills in the defaults.
ALTER TABLE users
    ADD COLUMN preferences jsonb NOT NULL DEFAULT '{}'::jsonb,
    ADD COLUMN is_onboarded boolean NOT NULL DEFAULT false;

ALTER TABLE sessions
    ADD COLUMN is_pending_sync_reset boolean NOT NULL DEFAULT false,
    -- sessions made by POST /api/sessions (e.g. a cast receiver) end with the session that made them
    ADD COLUMN parent_id uuid REFERENCES sessions (id) ON DELETE CASCADE;

-- One row per user deletion (soft or permanent), read by the sync stream to tell clients.
CREATE TABLE user_audit (
    id bigserial PRIMARY KEY,
    user_id uuid NOT NULL,
    deleted_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX user_audit_deleted_at_idx ON user_audit (deleted_at);

-- Failed logins per (lower(email), client address), for the login rate limit. Kept in the
-- database so that the limit holds across gateway replicas; rows older than an hour are pruned.
CREATE TABLE login_failures (
    key text NOT NULL,
    failed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_key_idx ON login_failures (key, failed_at);

-- users.quota_usage_in_bytes = SUM(file_size) of the user's assets that are not permanently
-- deleted (trashed assets still use disk, so they count, as in Immich). Maintained here so that
-- every writer of assets (ingest, trash, delete) keeps it right without knowing about quotas.
CREATE FUNCTION darkroom_assets_quota_usage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.owner_id = NEW.owner_id AND OLD.file_size = NEW.file_size
            AND (OLD.status = 'deleted') = (NEW.status = 'deleted') THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status <> 'deleted' THEN
        UPDATE users SET quota_usage_in_bytes = quota_usage_in_bytes - OLD.file_size
        WHERE id = OLD.owner_id;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.status <> 'deleted' THEN
        UPDATE users SET quota_usage_in_bytes = quota_usage_in_bytes + NEW.file_size
        WHERE id = NEW.owner_id;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER assets_quota_usage
    AFTER INSERT OR DELETE OR UPDATE OF owner_id, file_size, status ON assets
    FOR EACH ROW EXECUTE FUNCTION darkroom_assets_quota_usage();

UPDATE users u SET quota_usage_in_bytes = COALESCE(
    (SELECT sum(a.file_size) FROM assets a WHERE a.owner_id = u.id AND a.status <> 'deleted'), 0);
