-- Full-size renderings (issue #19 item 4; Immich's AssetFileType.FullSize): a JPEG/WebP of the
-- whole original, for photos a browser cannot show (HEIC, RAW, TIFF...), rendered by the
-- thumbnail service when image.fullsize.enabled and served for ?size=fullsize.
-- The inline CHECK of 0001_initial.sql is named asset_files_type_check by PostgreSQL.
ALTER TABLE asset_files DROP CONSTRAINT IF EXISTS asset_files_type_check,
    ADD CONSTRAINT asset_files_type_check
    CHECK (type IN ('preview', 'thumbnail', 'encoded_video', 'sidecar', 'fullsize'));
