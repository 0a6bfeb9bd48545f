-- Re-runs respect the user (issue #15 item 6) and admin user management (item 7).
--
-- ``asset_exif.locked_properties``: the fields an owner edited through PUT /api/assets(/{id})
-- (``description``, ``rating``, ``latitude``, ``longitude``, ``date_time_original``,
-- ``time_zone``), as Immich keeps ``asset_exif."lockedProperties"``. Metadata extraction
-- (a redelivery, a re-run, a sidecar refresh) leaves a locked field, and for a locked location
-- its place (city/state/country), as the user set it.
--
-- ``users.storage_label`` is unique, as Immich's: the storage template names folders with it.
-- Partial indexes for the nightly purges: the trash past ``trash.days`` and the users
-- soft-deleted past ``user.deleteDelay``.

ALTER TABLE asset_exif ADD COLUMN locked_properties text[] NOT NULL DEFAULT '{}';

CREATE UNIQUE INDEX users_storage_label_key ON users (storage_label)
    WHERE storage_label IS NOT NULL;

CREATE INDEX assets_trashed_idx ON assets (deleted_at) WHERE status = 'trashed';
CREATE INDEX users_deleted_idx ON users (deleted_at) WHERE deleted_at IS NOT NULL;
