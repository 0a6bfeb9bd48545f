-- Memories (Immich's "Memories": "On this day" flashbacks and the assets of each).
--
-- A memory belongs to one user; ``type`` is Immich's MemoryType (only ``on_this_day`` in 3.1)
-- and ``data`` its payload (OnThisDayDto ``{"year": 2019}``). ``show_at``/``hide_at`` bound the
-- days it is shown (``GET /api/memories?for=<day>``). The generator
-- (darkroom_db.memories.create_on_this_day) records each (owner, type, day shown, year) it made
-- in ``memory_generated`` with ``ON CONFLICT DO NOTHING``: a second run creates nothing, and a
-- memory the user deleted is not made again (Immich keeps the last day done instead). Deleting is for good, as in Immich;
-- the sync stream learns of it from the audit tables, written by triggers (as 0012_sync_*.sql),
-- so a cascade from a deleted asset or user is told too.

CREATE TABLE memories (
    id uuid PRIMARY KEY,
    owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type text NOT NULL CHECK (type IN ('on_this_day')),
    data jsonb NOT NULL DEFAULT '{}'::jsonb,
    memory_at timestamptz NOT NULL,
    show_at timestamptz,
    hide_at timestamptz,
    seen_at timestamptz,
    is_saved boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    update_pos bigint NOT NULL DEFAULT pg_current_xact_id()::text::bigint
);
CREATE INDEX memories_owner_idx ON memories (owner_id, memory_at);
CREATE INDEX memories_sync_idx ON memories (owner_id, update_pos);
-- What the generator made (a user's own memories, POST /api/memories, may repeat one).
CREATE TABLE memory_generated (
    owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type text NOT NULL,
    show_at timestamptz NOT NULL,
    memory_at timestamptz NOT NULL,
    PRIMARY KEY (owner_id, type, show_at, memory_at)
);

CREATE TABLE memory_assets (
    memory_id uuid NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
    asset_id uuid NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    update_pos bigint NOT NULL DEFAULT pg_current_xact_id()::text::bigint,
    PRIMARY KEY (memory_id, asset_id)
);
CREATE INDEX memory_assets_asset_idx ON memory_assets (asset_id);
CREATE INDEX memory_assets_sync_idx ON memory_assets (owner_id, update_pos);

CREATE TRIGGER memories_sync_touch BEFORE INSERT OR UPDATE ON memories
    FOR EACH ROW EXECUTE FUNCTION darkroom_sync_touch();
CREATE TRIGGER memory_assets_sync_touch BEFORE INSERT OR UPDATE ON memory_assets
    FOR EACH ROW EXECUTE FUNCTION darkroom_sync_touch();

CREATE TABLE memory_audit (
    id bigserial PRIMARY KEY,
    memory_id uuid NOT NULL,
    owner_id uuid NOT NULL,
    deleted_at timestamptz NOT NULL DEFAULT now(),
    update_pos bigint NOT NULL DEFAULT pg_current_xact_id()::text::bigint
);
CREATE TABLE memory_asset_audit (
    id bigserial PRIMARY KEY,
    memory_id uuid NOT NULL,
    asset_id uuid NOT NULL,
    owner_id uuid NOT NULL,
    deleted_at timestamptz NOT NULL DEFAULT now(),
    update_pos bigint NOT NULL DEFAULT pg_current_xact_id()::text::bigint
);
CREATE INDEX memory_audit_sync_idx ON memory_audit (owner_id, update_pos);
CREATE INDEX memory_asset_audit_sync_idx ON memory_asset_audit (owner_id, update_pos);

CREATE FUNCTION darkroom_memory_audit_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'memories' THEN
        INSERT INTO memory_audit (memory_id, owner_id) VALUES (OLD.id, OLD.owner_id);
    ELSE
        -- A link that goes with its memory is told by the memory's deletion alone.
        IF EXISTS (SELECT 1 FROM memories WHERE id = OLD.memory_id) THEN
            INSERT INTO memory_asset_audit (memory_id, asset_id, owner_id)
                VALUES (OLD.memory_id, OLD.asset_id, OLD.owner_id);
        END IF;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER memories_sync_audit AFTER DELETE ON memories
    FOR EACH ROW EXECUTE FUNCTION darkroom_memory_audit_delete();
CREATE TRIGGER memory_assets_sync_audit AFTER DELETE ON memory_assets
    FOR EACH ROW EXECUTE FUNCTION darkroom_memory_audit_delete();
