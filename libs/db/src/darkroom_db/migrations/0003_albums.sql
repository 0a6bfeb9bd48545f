-- Albums: a user's named collections of assets, shared with other users as editor or viewer.
-- Column names follow Immich's (albums, album_assets, album_users) so the API maps one to one.
-- The *_audit tables record removals for incremental sync: each row says "this user no longer
-- sees this album / album asset / album membership" from ``deleted_at`` on.

CREATE TABLE albums (
    id uuid PRIMARY KEY,
    owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    album_name text NOT NULL DEFAULT '',
    description text NOT NULL DEFAULT '',
    album_thumbnail_asset_id uuid REFERENCES assets (id) ON DELETE SET NULL,
    is_activity_enabled boolean NOT NULL DEFAULT true,
    "order" text NOT NULL DEFAULT 'desc' CHECK ("order" IN ('asc', 'desc')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz                  -- reserved for a trash; deletes are hard for now
);
CREATE INDEX albums_owner_idx ON albums (owner_id, created_at DESC);

CREATE TABLE album_assets (
    album_id uuid NOT NULL REFERENCES albums (id) ON DELETE CASCADE,
    asset_id uuid NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (album_id, asset_id)
);
CREATE INDEX album_assets_asset_idx ON album_assets (asset_id);

-- Members other than the owner (the owner is albums.owner_id, role "owner" on the wire).
CREATE TABLE album_users (
    album_id uuid NOT NULL REFERENCES albums (id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role text NOT NULL DEFAULT 'editor' CHECK (role IN ('editor', 'viewer')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (album_id, user_id)
);
CREATE INDEX album_users_user_idx ON album_users (user_id);

CREATE TABLE album_audit (
    id bigserial PRIMARY KEY,
    album_id uuid NOT NULL,
    user_id uuid NOT NULL,
    deleted_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX album_audit_user_idx ON album_audit (user_id, deleted_at);

CREATE TABLE album_asset_audit (
    id bigserial PRIMARY KEY,
    album_id uuid NOT NULL,
    asset_id uuid NOT NULL,
    deleted_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX album_asset_audit_album_idx ON album_asset_audit (album_id, deleted_at);

CREATE TABLE album_user_audit (
    id bigserial PRIMARY KEY,
    album_id uuid NOT NULL,
    user_id uuid NOT NULL,
    deleted_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX album_user_audit_album_idx ON album_user_audit (album_id, deleted_at);

-- Audit rows are written by statement-level triggers, so removals made by cascades (an asset
-- or user deleted) are recorded too. Rows removed because their album is being deleted are not
-- audited individually: the album_audit row of each member covers them.
CREATE FUNCTION albums_audit_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO album_audit (album_id, user_id) SELECT id, owner_id FROM old_rows;
    RETURN NULL;
END
$$;

CREATE TRIGGER albums_audit AFTER DELETE ON albums
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION albums_audit_delete();

CREATE FUNCTION album_assets_audit_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO album_asset_audit (album_id, asset_id)
        SELECT o.album_id, o.asset_id FROM old_rows o
        WHERE EXISTS (SELECT 1 FROM albums a WHERE a.id = o.album_id);
    RETURN NULL;
END
$$;

CREATE TRIGGER album_assets_audit AFTER DELETE ON album_assets
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION album_assets_audit_delete();

-- A member removed (or the album deleted) loses the album: album_audit for that user too.
CREATE FUNCTION album_users_audit_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO album_audit (album_id, user_id) SELECT album_id, user_id FROM old_rows;
    INSERT INTO album_user_audit (album_id, user_id)
        SELECT o.album_id, o.user_id FROM old_rows o
        WHERE EXISTS (SELECT 1 FROM albums a WHERE a.id = o.album_id);
    RETURN NULL;
END
$$;

CREATE TRIGGER album_users_audit AFTER DELETE ON album_users
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION album_users_audit_delete();
