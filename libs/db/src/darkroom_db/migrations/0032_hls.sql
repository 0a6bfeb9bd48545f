-- HLS adaptive streaming (issue #19 item 1; darkroom_db.hls).
--
-- A video's HLS ladder is one derived file of type 'hls': every rendition's MPEG-TS segments
-- concatenated in one stored object (so deleting the asset's files deletes it, as any other
-- derived file), and ``manifest`` describing the renditions and each segment's byte range and
-- duration, from which the gateway writes the master and media playlists.
ALTER TABLE asset_files DROP CONSTRAINT IF EXISTS asset_files_type_check,
    ADD CONSTRAINT asset_files_type_check
    CHECK (type IN ('preview', 'thumbnail', 'encoded_video', 'sidecar', 'fullsize',
        'edited_preview', 'edited_thumbnail', 'edited_fullsize', 'hls'));
ALTER TABLE asset_files ADD COLUMN IF NOT EXISTS manifest jsonb;
