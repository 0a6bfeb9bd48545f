-- The websocket's fan-out of an asset deleted for good reads the albums that held it from
-- album_asset_audit by asset id (darkroom_db.albums.users_seeing_assets); the table's only index
-- was by album.
CREATE INDEX album_asset_audit_asset_idx ON album_asset_audit (asset_id);
