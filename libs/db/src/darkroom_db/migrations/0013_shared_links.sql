-- Public shared links (Immich's "Shared links"): a link to one album (type ALBUM) or to a chosen
-- set of its owner's assets (type INDIVIDUAL), opened by anyone holding its key or slug.
--
-- key: the random URL-safe key (base64url of 50 random bytes, as Immich's), what callers send
-- as ?key= / x-immich-share-key; kept as is because the owner is shown it again (the link page
-- lists each link's URL). password_hash: bcrypt of the link's password, NULL for none.
-- album_id cascades: deleting the album deletes its links, so access ends with the album.
CREATE TABLE shared_links (
    id uuid PRIMARY KEY,
    owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type text NOT NULL CHECK (type IN ('ALBUM', 'INDIVIDUAL')),
    key text NOT NULL UNIQUE,
    slug text UNIQUE,
    album_id uuid REFERENCES albums (id) ON DELETE CASCADE,
    description text,
    password_hash text,
    expires_at timestamptz,
    allow_upload boolean NOT NULL DEFAULT false,
    allow_download boolean NOT NULL DEFAULT true,
    show_metadata boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((type = 'ALBUM') = (album_id IS NOT NULL))
);
CREATE INDEX shared_links_owner_idx ON shared_links (owner_id, created_at DESC);
CREATE INDEX shared_links_album_idx ON shared_links (album_id);

-- The assets of an INDIVIDUAL link.
CREATE TABLE shared_link_assets (
    shared_link_id uuid NOT NULL REFERENCES shared_links (id) ON DELETE CASCADE,
    asset_id uuid NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (shared_link_id, asset_id)
);
CREATE INDEX shared_link_assets_asset_idx ON shared_link_assets (asset_id);
