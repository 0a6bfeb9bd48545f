-- Darkroom schema, version 1: users, credentials, assets and their processing state.
-- Column names follow Immich's where a concept is shared, so the API maps one to one.
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE users (
    id uuid PRIMARY KEY,
    email text NOT NULL,
    name text NOT NULL DEFAULT '',
    password_hash text NOT NULL DEFAULT '',
    is_admin boolean NOT NULL DEFAULT false,
    should_change_password boolean NOT NULL DEFAULT false,
    avatar_color text,
    profile_image_path text NOT NULL DEFAULT '',
    profile_changed_at timestamptz NOT NULL DEFAULT now(),
    storage_label text,
    quota_size_in_bytes bigint,
    quota_usage_in_bytes bigint NOT NULL DEFAULT 0,
    oauth_id text NOT NULL DEFAULT '',
    status text NOT NULL DEFAULT 'active',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

-- Secrets are stored only as SHA-256 hashes (hex) of the token the client holds.
CREATE TABLE api_keys (
    id uuid PRIMARY KEY,
    owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name text NOT NULL,
    key_hash text NOT NULL UNIQUE,
    permissions text[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_keys_owner_idx ON api_keys (owner_id);

CREATE TABLE sessions (
    id uuid PRIMARY KEY,
    owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash text NOT NULL UNIQUE,
    device_type text NOT NULL DEFAULT '',
    device_os text NOT NULL DEFAULT '',
    app_version text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz
);
CREATE INDEX sessions_owner_idx ON sessions (owner_id);

CREATE TABLE assets (
    id uuid PRIMARY KEY,
    owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    device_asset_id text NOT NULL,
    device_id text NOT NULL,
    type text NOT NULL CHECK (type IN ('IMAGE', 'VIDEO', 'AUDIO', 'OTHER')),
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'trashed', 'deleted')),
    visibility text NOT NULL DEFAULT 'timeline'
        CHECK (visibility IN ('archive', 'timeline', 'hidden', 'locked')),
    original_path text NOT NULL,
    original_file_name text NOT NULL,
    original_mime_type text NOT NULL,
    checksum bytea NOT NULL,                 -- SHA-1 of the original, 20 bytes
    file_size bigint NOT NULL,
    file_created_at timestamptz NOT NULL,
    file_modified_at timestamptz NOT NULL,
    local_date_time timestamptz NOT NULL,    -- capture wall-clock time, stored as if UTC (Immich)
    is_favorite boolean NOT NULL DEFAULT false,
    is_offline boolean NOT NULL DEFAULT false,
    is_external boolean NOT NULL DEFAULT false,
    live_photo_video_id uuid REFERENCES assets (id) ON DELETE SET NULL,
    duration_ms integer,                 -- videos and animations, milliseconds
    thumbhash bytea,
    width integer,
    height integer,
    sidecar_path text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);
-- One asset per (owner, checksum): re-uploads are answered as duplicates.
CREATE UNIQUE INDEX assets_owner_checksum_key ON assets (owner_id, checksum);
CREATE INDEX assets_owner_device_idx ON assets (owner_id, device_id, device_asset_id);
CREATE INDEX assets_timeline_idx ON assets (owner_id, local_date_time DESC)
    WHERE deleted_at IS NULL;

CREATE TABLE asset_exif (
    asset_id uuid PRIMARY KEY REFERENCES assets (id) ON DELETE CASCADE,
    owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    make text,
    model text,
    lens_model text,
    exif_image_width integer,
    exif_image_height integer,
    file_size_in_byte bigint,
    orientation text,
    date_time_original timestamptz,
    modify_date timestamptz,
    time_zone text,
    latitude double precision,
    longitude double precision,
    city text,
    state text,
    country text,
    description text NOT NULL DEFAULT '',
    rating integer,
    projection_type text,
    f_number double precision,
    focal_length double precision,
    iso integer,
    exposure_time text,
    live_photo_cid text,
    fps double precision,
    duration_s double precision,
    video_codec text,
    audio_codec text,
    bitrate bigint,
    rotation integer,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX asset_exif_live_photo_cid_idx ON asset_exif (owner_id, live_photo_cid)
    WHERE live_photo_cid IS NOT NULL;
CREATE INDEX asset_exif_city_idx ON asset_exif (owner_id, city);

-- Derived files: preview, thumbnail, encoded video, sidecar. One row per (asset, type).
CREATE TABLE asset_files (
    id uuid PRIMARY KEY,
    asset_id uuid NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type text NOT NULL CHECK (type IN ('preview', 'thumbnail', 'encoded_video', 'sidecar')),
    path text NOT NULL,
    mime_type text NOT NULL,
    width integer,
    height integer,
    size bigint,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (asset_id, type)
);

-- Per-asset progress through the pipeline; the jobs admin re-publishes for rows missing a step.
CREATE TABLE asset_job_status (
    asset_id uuid PRIMARY KEY REFERENCES assets (id) ON DELETE CASCADE,
    owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    metadata_extracted_at timestamptz,
    thumbnail_at timestamptz,
    transcoded_at timestamptz,
    embedding_at timestamptz,
    faces_at timestamptz,
    failed_step text,
    failed_reason text,
    failed_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX asset_job_status_failed_idx ON asset_job_status (failed_at) WHERE failed_at IS NOT NULL;

-- Dead letters: jobs that failed for good (permanent error, or max_deliver reached).
CREATE TABLE job_failures (
    id bigserial PRIMARY KEY,
    asset_id uuid REFERENCES assets (id) ON DELETE CASCADE,
    owner_id uuid REFERENCES users (id) ON DELETE CASCADE,
    subject text NOT NULL,
    durable text NOT NULL,
    stream_seq bigint,
    deliveries integer NOT NULL,
    error text NOT NULL,
    permanent boolean NOT NULL,
    payload bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    retried_at timestamptz
);
CREATE INDEX job_failures_open_idx ON job_failures (created_at) WHERE retried_at IS NULL;
