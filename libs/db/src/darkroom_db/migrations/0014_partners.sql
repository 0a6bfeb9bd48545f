-- Partner sharing (spec tag "Partners"; Immich's partner table): a user (shared_by) shares their
-- whole library with another (shared_with). The partner sees the sharer's assets through the
-- asset routes, and with ``in_timeline`` on also in their timeline, search and map.
--
-- Sync (docs/sync.md): ``update_pos`` as in 0005_sync.sql (the writing transaction's id, set by
-- ``darkroom_sync_touch``); ``create_pos`` is the position of the insert and never changes: the
-- sharer's assets written before it are sent once to the partner as backfill lines positioned
-- there (PartnerAssetBackfillV2 / PartnerAssetExifBackfillV1). Removing a partnership leaves a
-- ``partner_audit`` row (AFTER DELETE trigger, so a cascade from a deleted user counts too):
-- PartnerDeleteV1 for both users, and PartnerAssetDeleteV1 of the sharer's assets for the
-- partner.

CREATE TABLE partners (
    shared_by_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    shared_with_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    in_timeline boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    create_pos bigint NOT NULL DEFAULT pg_current_xact_id()::text::bigint,
    update_pos bigint NOT NULL DEFAULT pg_current_xact_id()::text::bigint,
    PRIMARY KEY (shared_by_id, shared_with_id),
    CHECK (shared_by_id <> shared_with_id)
);
CREATE INDEX partners_shared_with_idx ON partners (shared_with_id, shared_by_id);
CREATE TRIGGER partners_sync_touch BEFORE INSERT OR UPDATE ON partners
    FOR EACH ROW EXECUTE FUNCTION darkroom_sync_touch();

CREATE TABLE partner_audit (
    id bigserial PRIMARY KEY,
    shared_by_id uuid NOT NULL,
    shared_with_id uuid NOT NULL,
    deleted_at timestamptz NOT NULL DEFAULT now(),
    update_pos bigint NOT NULL DEFAULT pg_current_xact_id()::text::bigint
);
CREATE INDEX partner_audit_by_idx ON partner_audit (shared_by_id, update_pos);
CREATE INDEX partner_audit_with_idx ON partner_audit (shared_with_id, update_pos);

CREATE FUNCTION darkroom_partner_audit_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO partner_audit (shared_by_id, shared_with_id)
        VALUES (OLD.shared_by_id, OLD.shared_with_id);
    RETURN NULL;
END
$$;
CREATE TRIGGER partners_sync_audit AFTER DELETE ON partners
    FOR EACH ROW EXECUTE FUNCTION darkroom_partner_audit_delete();

