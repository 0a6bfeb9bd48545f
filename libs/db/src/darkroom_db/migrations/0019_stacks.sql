-- Stacks (Immich's "Stacks"): assets of one owner grouped under a primary asset (a burst, a
-- RAW+JPEG pair, versions of one photo). The timeline shows the primary with the count.
--
-- ``assets.stack_id`` says which stack an asset is in (at most one); ``stacks.primary_asset_id``
-- is one of them. Deleting a stack leaves its assets unstacked (ON DELETE SET NULL). The
-- primary's foreign key is checked at commit (DEFERRABLE), because ``darkroom_stack_tidy``
-- repairs a stack at the end of the statement that changed its members:
--
-- * a stack left with fewer than 2 assets is deleted (Immich: a stack needs two);
-- * a stack whose primary left it (moved to another stack, deleted for good) gets another
--   member as primary (the earliest captured, then by id).
--
-- So every way an asset leaves a stack (DELETE /api/stacks/{id}/assets/{assetId}, a new stack
-- taking members of another, an asset deleted for good) keeps the stacks whole, in one place.
-- ``stack_audit`` records deleted stacks for the sync stream (``StackDeleteV1``), written by
-- an AFTER DELETE trigger as in 0012_sync_people_faces_meta.sql.

CREATE TABLE stacks (
    id uuid PRIMARY KEY,
    owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    primary_asset_id uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    update_pos bigint NOT NULL DEFAULT pg_current_xact_id()::text::bigint
);
ALTER TABLE stacks ADD CONSTRAINT stacks_primary_asset_fk FOREIGN KEY (primary_asset_id)
    REFERENCES assets (id) DEFERRABLE INITIALLY DEFERRED;
CREATE INDEX stacks_primary_asset_idx ON stacks (primary_asset_id);
CREATE INDEX stacks_sync_idx ON stacks (owner_id, update_pos, id);
CREATE TRIGGER stacks_sync_touch BEFORE INSERT OR UPDATE ON stacks
    FOR EACH ROW EXECUTE FUNCTION darkroom_sync_touch();

ALTER TABLE assets ADD COLUMN stack_id uuid REFERENCES stacks (id) ON DELETE SET NULL;
CREATE INDEX assets_stack_idx ON assets (stack_id) WHERE stack_id IS NOT NULL;

CREATE TABLE stack_audit (
    id bigserial PRIMARY KEY,
    stack_id uuid NOT NULL,
    owner_id uuid NOT NULL,
    deleted_at timestamptz NOT NULL DEFAULT now(),
    update_pos bigint NOT NULL DEFAULT pg_current_xact_id()::text::bigint
);
CREATE INDEX stack_audit_sync_idx ON stack_audit (owner_id, update_pos);

CREATE FUNCTION darkroom_stack_audit_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO stack_audit (stack_id, owner_id) VALUES (OLD.id, OLD.owner_id);
    RETURN NULL;
END
$$;
CREATE TRIGGER stacks_sync_audit AFTER DELETE ON stacks
    FOR EACH ROW EXECUTE FUNCTION darkroom_stack_audit_delete();

CREATE FUNCTION darkroom_stack_tidy() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    members integer;
BEGIN
    SELECT count(*) INTO members FROM assets WHERE stack_id = OLD.stack_id;
    IF members < 2 THEN
        DELETE FROM stacks WHERE id = OLD.stack_id;
    ELSE
        UPDATE stacks s SET primary_asset_id = (
                SELECT a.id FROM assets a WHERE a.stack_id = s.id
                ORDER BY a.local_date_time, a.id LIMIT 1),
            updated_at = now()
        WHERE s.id = OLD.stack_id AND NOT EXISTS (
            SELECT 1 FROM assets a WHERE a.id = s.primary_asset_id AND a.stack_id = s.id);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER assets_stack_tidy_update AFTER UPDATE OF stack_id ON assets
    FOR EACH ROW WHEN (OLD.stack_id IS NOT NULL AND OLD.stack_id IS DISTINCT FROM NEW.stack_id)
    EXECUTE FUNCTION darkroom_stack_tidy();
CREATE TRIGGER assets_stack_tidy_delete AFTER DELETE ON assets
    FOR EACH ROW WHEN (OLD.stack_id IS NOT NULL) EXECUTE FUNCTION darkroom_stack_tidy();

-- Automatic stacking at ingest (the metadata service, DARKROOM_AUTO_STACK): the key an asset
-- groups under (a RAW+JPEG pair's base name and capture time, a burst's id); assets of one
-- owner with the same key are stacked together. NULL when the setting was off.
ALTER TABLE assets ADD COLUMN auto_stack_key text;
CREATE INDEX assets_auto_stack_idx ON assets (owner_id, auto_stack_key)
    WHERE auto_stack_key IS NOT NULL;
