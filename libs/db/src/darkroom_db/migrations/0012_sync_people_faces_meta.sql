-- Sync, version 2: people, faces, OCR, asset metadata and user metadata join the mobile sync
-- stream (PeopleV1, AssetFacesV1/V2, AssetOcrV1, AssetMetadataV1, UserMetadataV1 and their
-- deletions), and deletion audits get a retention.
--
-- As in 0005_sync.sql: every synced row carries ``update_pos`` (the writing transaction's id,
-- set by ``darkroom_sync_touch``), and every deletion leaves an audit row with its own
-- ``update_pos``. Here the audit rows are written by AFTER DELETE triggers, so every way a row
-- goes (a route, a worker, a cascade from its asset or owner) is told to the app.

-- --- asset metadata (spec: AssetMetadataUpsertItemDto; the iOS app's upload ``metadata`` field,
-- e.g. key "mobile-app" with {"iCloudId": ...}) ---------------------------------------------
CREATE TABLE asset_metadata (
    asset_id uuid NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key text NOT NULL,
    value jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (asset_id, key)
);

-- --- user metadata (spec: UserMetadataKey: preferences, license, onboarding) ------------------
-- One JSON object per (user, key); ``preferences`` is sparse (only what the user changed), as
-- users.preferences was (moved here below).
CREATE TABLE user_metadata (
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key text NOT NULL CHECK (key IN ('preferences', 'license', 'onboarding')),
    value jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
INSERT INTO user_metadata (user_id, key, value)
    SELECT id, 'preferences', preferences FROM users WHERE preferences <> '{}'::jsonb;
INSERT INTO user_metadata (user_id, key, value)
    SELECT id, 'onboarding', jsonb_build_object('isOnboarded', true) FROM users WHERE is_onboarded;
ALTER TABLE users DROP COLUMN preferences;

-- users.is_onboarded stays the flag the routes read; this mirrors it into user_metadata so that
-- the app's UserMetadataV1 sees onboarding (Immich: key "onboarding", {"isOnboarded": bool}).
CREATE FUNCTION darkroom_user_onboarding_mirror() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' AND NOT NEW.is_onboarded THEN
        RETURN NULL;
    END IF;
    INSERT INTO user_metadata (user_id, key, value)
        VALUES (NEW.id, 'onboarding', jsonb_build_object('isOnboarded', NEW.is_onboarded))
        ON CONFLICT (user_id, key) DO UPDATE SET value = EXCLUDED.value, updated_at = now();
    RETURN NULL;
END
$$;
CREATE TRIGGER users_onboarding_mirror AFTER INSERT OR UPDATE OF is_onboarded ON users
    FOR EACH ROW WHEN (NEW.deleted_at IS NULL) EXECUTE FUNCTION darkroom_user_onboarding_mirror();

-- --- OCR lines get a stable public id (SyncAssetOcrV1.id is a UUID) ----------------------------
ALTER TABLE asset_ocr ADD COLUMN uid uuid NOT NULL DEFAULT gen_random_uuid();
CREATE UNIQUE INDEX asset_ocr_uid_idx ON asset_ocr (uid);

-- --- positions ---------------------------------------------------------------------------------
ALTER TABLE people ADD COLUMN update_pos bigint NOT NULL DEFAULT pg_current_xact_id()::text::bigint;
ALTER TABLE asset_faces
    ADD COLUMN update_pos bigint NOT NULL DEFAULT pg_current_xact_id()::text::bigint;
ALTER TABLE asset_ocr
    ADD COLUMN update_pos bigint NOT NULL DEFAULT pg_current_xact_id()::text::bigint;
ALTER TABLE asset_metadata
    ADD COLUMN update_pos bigint NOT NULL DEFAULT pg_current_xact_id()::text::bigint;
ALTER TABLE user_metadata
    ADD COLUMN update_pos bigint NOT NULL DEFAULT pg_current_xact_id()::text::bigint;

CREATE TRIGGER people_sync_touch BEFORE INSERT OR UPDATE ON people
    FOR EACH ROW EXECUTE FUNCTION darkroom_sync_touch();
CREATE TRIGGER asset_faces_sync_touch BEFORE INSERT OR UPDATE ON asset_faces
    FOR EACH ROW EXECUTE FUNCTION darkroom_sync_touch();
CREATE TRIGGER asset_ocr_sync_touch BEFORE INSERT OR UPDATE ON asset_ocr
    FOR EACH ROW EXECUTE FUNCTION darkroom_sync_touch();
CREATE TRIGGER asset_metadata_sync_touch BEFORE INSERT OR UPDATE ON asset_metadata
    FOR EACH ROW EXECUTE FUNCTION darkroom_sync_touch();
CREATE TRIGGER user_metadata_sync_touch BEFORE INSERT OR UPDATE ON user_metadata
    FOR EACH ROW EXECUTE FUNCTION darkroom_sync_touch();

CREATE INDEX people_sync_idx ON people (owner_id, update_pos, id);
CREATE INDEX asset_faces_sync_idx ON asset_faces (owner_id, update_pos, id);
CREATE INDEX asset_ocr_sync_idx ON asset_ocr (owner_id, update_pos);
CREATE INDEX asset_metadata_sync_idx ON asset_metadata (owner_id, update_pos);
CREATE INDEX user_metadata_sync_idx ON user_metadata (user_id, update_pos);

-- --- deletion audits ---------------------------------------------------------------------------
CREATE TABLE person_audit (
    id bigserial PRIMARY KEY,
    person_id uuid NOT NULL,
    owner_id uuid NOT NULL,
    deleted_at timestamptz NOT NULL DEFAULT now(),
    update_pos bigint NOT NULL DEFAULT pg_current_xact_id()::text::bigint
);
CREATE TABLE asset_face_audit (
    id bigserial PRIMARY KEY,
    asset_face_id uuid NOT NULL,
    owner_id uuid NOT NULL,
    deleted_at timestamptz NOT NULL DEFAULT now(),
    update_pos bigint NOT NULL DEFAULT pg_current_xact_id()::text::bigint
);
CREATE TABLE asset_ocr_audit (
    id bigserial PRIMARY KEY,
    ocr_id uuid NOT NULL,
    asset_id uuid NOT NULL,
    owner_id uuid NOT NULL,
    deleted_at timestamptz NOT NULL DEFAULT now(),
    update_pos bigint NOT NULL DEFAULT pg_current_xact_id()::text::bigint
);
CREATE TABLE asset_metadata_audit (
    id bigserial PRIMARY KEY,
    asset_id uuid NOT NULL,
    owner_id uuid NOT NULL,
    key text NOT NULL,
    deleted_at timestamptz NOT NULL DEFAULT now(),
    update_pos bigint NOT NULL DEFAULT pg_current_xact_id()::text::bigint
);
CREATE TABLE user_metadata_audit (
    id bigserial PRIMARY KEY,
    user_id uuid NOT NULL,
    key text NOT NULL,
    deleted_at timestamptz NOT NULL DEFAULT now(),
    update_pos bigint NOT NULL DEFAULT pg_current_xact_id()::text::bigint
);
CREATE INDEX person_audit_sync_idx ON person_audit (owner_id, update_pos);
CREATE INDEX asset_face_audit_sync_idx ON asset_face_audit (owner_id, update_pos);
CREATE INDEX asset_ocr_audit_sync_idx ON asset_ocr_audit (owner_id, update_pos);
CREATE INDEX asset_metadata_audit_sync_idx ON asset_metadata_audit (owner_id, update_pos);
CREATE INDEX user_metadata_audit_sync_idx ON user_metadata_audit (user_id, update_pos);

CREATE FUNCTION darkroom_sync_audit_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'people' THEN
        INSERT INTO person_audit (person_id, owner_id) VALUES (OLD.id, OLD.owner_id);
    ELSIF TG_TABLE_NAME = 'asset_faces' THEN
        INSERT INTO asset_face_audit (asset_face_id, owner_id) VALUES (OLD.id, OLD.owner_id);
    ELSIF TG_TABLE_NAME = 'asset_ocr' THEN
        INSERT INTO asset_ocr_audit (ocr_id, asset_id, owner_id)
            VALUES (OLD.uid, OLD.asset_id, OLD.owner_id);
    ELSIF TG_TABLE_NAME = 'asset_metadata' THEN
        INSERT INTO asset_metadata_audit (asset_id, owner_id, key)
            VALUES (OLD.asset_id, OLD.owner_id, OLD.key);
    ELSIF TG_TABLE_NAME = 'user_metadata' THEN
        INSERT INTO user_metadata_audit (user_id, key) VALUES (OLD.user_id, OLD.key);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER people_sync_audit AFTER DELETE ON people
    FOR EACH ROW EXECUTE FUNCTION darkroom_sync_audit_delete();
CREATE TRIGGER asset_faces_sync_audit AFTER DELETE ON asset_faces
    FOR EACH ROW EXECUTE FUNCTION darkroom_sync_audit_delete();
CREATE TRIGGER asset_ocr_sync_audit AFTER DELETE ON asset_ocr
    FOR EACH ROW EXECUTE FUNCTION darkroom_sync_audit_delete();
CREATE TRIGGER asset_metadata_sync_audit AFTER DELETE ON asset_metadata
    FOR EACH ROW EXECUTE FUNCTION darkroom_sync_audit_delete();
CREATE TRIGGER user_metadata_sync_audit AFTER DELETE ON user_metadata
    FOR EACH ROW EXECUTE FUNCTION darkroom_sync_audit_delete();

-- --- retention ---------------------------------------------------------------------------------
-- Audit rows older than the retention are pruned (darkroom_db.sync.prune_audit); this one row
-- remembers the highest position pruned. A session with a checkpoint below it may have missed
-- a deletion, so its next stream is a SyncResetV1 (the app starts over).
CREATE TABLE sync_audit_horizon (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    pruned_pos bigint NOT NULL DEFAULT 0
);
INSERT INTO sync_audit_horizon DEFAULT VALUES;
