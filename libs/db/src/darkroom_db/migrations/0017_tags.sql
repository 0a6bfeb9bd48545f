-- Tags (Immich's "Tags"): a user's hierarchical labels and the assets carrying them.
--
-- ``value`` is the full path (``Travel/2024/Japan``); the name shown is its last part; the tree
-- is ``parent_id`` (a child goes with its parent: ON DELETE CASCADE, as Immich deletes a tag's
-- descendants with it). One value per user. ``darkroom_tag_subtree(id)`` is a tag and all its
-- descendants: the tag filters of search and timeline match an asset tagged with a descendant,
-- as Immich's ``tag_closure`` join does.

CREATE TABLE tags (
    id uuid PRIMARY KEY,
    owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    value text NOT NULL CHECK (value <> ''),
    parent_id uuid REFERENCES tags (id) ON DELETE CASCADE,
    color text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (owner_id, value)
);
CREATE INDEX tags_parent_idx ON tags (parent_id);

CREATE TABLE tag_assets (
    tag_id uuid NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    asset_id uuid NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tag_id, asset_id)
);
CREATE INDEX tag_assets_asset_idx ON tag_assets (asset_id);

CREATE FUNCTION darkroom_tag_subtree(root uuid) RETURNS SETOF uuid
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE subtree AS (
        SELECT id FROM tags WHERE id = root
        UNION
        SELECT t.id FROM tags t JOIN subtree s ON t.parent_id = s.id
    )
    SELECT id FROM subtree
$$;
