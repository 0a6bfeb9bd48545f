-- Integrity reports (Immich 3.1 "Maintenance (admin)": /api/admin/integrity/*; darkroom_db.integrity).
--
-- integrity_reports: one row per problem the integrity checks found (the integrity-* manual
-- jobs of POST /api/jobs and their nightly schedule): an original or derived file missing from
-- storage (missing_file), an object in a media prefix nothing references (untracked_file), an
-- original whose SHA-1 is not assets.checksum (checksum_mismatch). ``path`` is the storage key;
-- (type, path) is unique, so running a check again adds nothing twice. An item of an asset goes
-- with the asset (ON DELETE CASCADE).
--
-- integrity_checksums: when each original's checksum was last verified, so a check limited by
-- integrityChecks.checksumFiles.{percentageLimit,timeLimit} verifies the least recently checked
-- originals first and the next run goes on where it stopped.
--
-- The untracked-files check asks, per batch of listed objects, whether any row references each
-- key: asset_files.path and assets.sidecar_path get the indexes that lookup needs
-- (assets.original_path has one since 0026).

CREATE TABLE integrity_reports (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    type text NOT NULL CHECK (type IN ('untracked_file', 'missing_file', 'checksum_mismatch')),
    path text NOT NULL,
    asset_id uuid REFERENCES assets (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (type, path)
);
CREATE INDEX integrity_reports_asset_idx ON integrity_reports (asset_id) WHERE asset_id IS NOT NULL;

CREATE TABLE integrity_checksums (
    asset_id uuid PRIMARY KEY REFERENCES assets (id) ON DELETE CASCADE,
    checked_at timestamptz NOT NULL
);
CREATE INDEX integrity_checksums_checked_idx ON integrity_checksums (checked_at);

CREATE INDEX IF NOT EXISTS asset_files_path_idx ON asset_files (path);
CREATE INDEX IF NOT EXISTS assets_sidecar_path_idx ON assets (sidecar_path)
    WHERE sidecar_path IS NOT NULL;
