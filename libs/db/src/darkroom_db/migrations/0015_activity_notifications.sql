-- Album activity (comments and likes) and in-app notifications, with the e-mails sent for them.
-- Names follow Immich's tables (activity, notification) so the API maps one to one.

-- A comment or a like by a user on an album (asset_id NULL) or on an asset in it. A like has no
-- comment; a user likes an album or an asset once (the partial unique indexes).
CREATE TABLE activity (
    id uuid PRIMARY KEY,
    album_id uuid NOT NULL REFERENCES albums (id) ON DELETE CASCADE,
    asset_id uuid REFERENCES assets (id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    comment text,
    is_liked boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK ((is_liked AND comment IS NULL) OR (NOT is_liked AND comment IS NOT NULL))
);
CREATE INDEX activity_album_idx ON activity (album_id, created_at);
CREATE INDEX activity_asset_idx ON activity (asset_id) WHERE asset_id IS NOT NULL;
CREATE UNIQUE INDEX activity_album_like_idx ON activity (album_id, user_id)
    WHERE is_liked AND asset_id IS NULL;
CREATE UNIQUE INDEX activity_asset_like_idx ON activity (album_id, asset_id, user_id)
    WHERE is_liked AND asset_id IS NOT NULL;

-- An in-app notification of one user (spec: NotificationDto). ``emailed_at`` is set once its
-- e-mail went out, so a redelivered e-mail request is not sent twice.
CREATE TABLE notification (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type text NOT NULL DEFAULT 'Custom' CHECK (type IN
        ('JobFailed', 'BackupFailed', 'SystemMessage', 'AlbumInvite', 'AlbumUpdate', 'Custom')),
    level text NOT NULL DEFAULT 'info' CHECK (level IN ('success', 'error', 'warning', 'info')),
    title text NOT NULL,
    description text,
    data jsonb,
    read_at timestamptz,
    emailed_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX notification_user_idx ON notification (user_id, created_at DESC);
-- The album update debounce looks up a user's latest AlbumUpdate notification of an album.
CREATE INDEX notification_album_update_idx ON notification (user_id, (data ->> 'albumId'))
    WHERE type = 'AlbumUpdate';
