-- Non-destructive edits (issue #19 item 2; Immich 2.5+ ``/api/assets/{id}/edits``).
--
-- ``asset_edits``: an asset's edit actions (crop, rotate, mirror), applied in ``sequence`` order
-- to the upright original (spec: AssetEditActionItemResponseDto; sync: SyncAssetEditV1). A PUT
-- replaces the whole list; a DELETE removes it. ``owner_id`` is the asset's, kept for the sync
-- stream's owner filter.
--
-- ``asset_edit_audit``: deleted edits for the sync stream (SyncAssetEditDeleteV1), written by
-- the trigger below; pruned with the other audits (darkroom_db.sync.prune_audit).
--
-- ``asset_files.type`` gains the edited renderings the thumbnail service makes from the
-- original with the edits applied: ``edited_preview``, ``edited_thumbnail`` and
-- ``edited_fullsize`` (served by ``?edited=true``; the unedited ones stay where they were).

CREATE TABLE asset_edits (
    id uuid PRIMARY KEY,
    asset_id uuid NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    sequence integer NOT NULL,
    action text NOT NULL CHECK (action IN ('crop', 'rotate', 'mirror')),
    parameters jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    update_pos bigint NOT NULL DEFAULT pg_current_xact_id()::text::bigint,
    UNIQUE (asset_id, sequence)
);
CREATE TRIGGER asset_edits_sync_touch BEFORE INSERT OR UPDATE ON asset_edits
    FOR EACH ROW EXECUTE FUNCTION darkroom_sync_touch();
CREATE INDEX asset_edits_sync_idx ON asset_edits (owner_id, update_pos);

CREATE TABLE asset_edit_audit (
    id bigserial PRIMARY KEY,
    edit_id uuid NOT NULL,
    asset_id uuid NOT NULL,
    owner_id uuid NOT NULL,
    deleted_at timestamptz NOT NULL DEFAULT now(),
    update_pos bigint NOT NULL DEFAULT pg_current_xact_id()::text::bigint
);
CREATE INDEX asset_edit_audit_sync_idx ON asset_edit_audit (owner_id, update_pos);

CREATE FUNCTION darkroom_asset_edit_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO asset_edit_audit (edit_id, asset_id, owner_id)
        VALUES (OLD.id, OLD.asset_id, OLD.owner_id);
    RETURN NULL;
END
$$;
CREATE TRIGGER asset_edits_sync_audit AFTER DELETE ON asset_edits
    FOR EACH ROW EXECUTE FUNCTION darkroom_asset_edit_audit();

ALTER TABLE asset_files DROP CONSTRAINT IF EXISTS asset_files_type_check,
    ADD CONSTRAINT asset_files_type_check CHECK (type IN (
        'preview', 'thumbnail', 'encoded_video', 'sidecar', 'fullsize',
        'edited_preview', 'edited_thumbnail', 'edited_fullsize'));
