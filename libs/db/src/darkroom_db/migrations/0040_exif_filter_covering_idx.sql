-- EXIF filters of search (city, state, country, camera make and model) read only their index
-- (issue #20 item 2).
--
-- Every EXIF filter of a search (darkroom_db.search.where_clause: smart search, metadata search,
-- the explore and suggestion pages) is "EXISTS (SELECT 1 FROM asset_exif e WHERE e.asset_id =
-- a.id AND e.owner_id = a.owner_id AND e.city = $n)". With the place or camera index holding
-- only (owner_id, city), PostgreSQL read each matching asset_exif row from the table (a wide
-- row: every EXIF column) to learn its asset_id: one random heap read per matching asset. With
-- asset_id in the index (INCLUDE: stored, not part of the key) the same rows come from the index
-- alone (an index-only scan, once autovacuum has marked the pages all-visible). Smart search with
-- the 10th most frequent city of a 1,000,000-asset library (2,976 of the user's assets): p50
-- 24-25 -> 17-21 ms on the 2-core development machine (docs/performance.md, "Smart search").
-- Cost: 16 bytes per row and index.
DROP INDEX IF EXISTS asset_exif_city_idx;
CREATE INDEX asset_exif_city_idx ON asset_exif (owner_id, city) INCLUDE (asset_id);
DROP INDEX IF EXISTS asset_exif_country_state_idx;
CREATE INDEX asset_exif_country_state_idx ON asset_exif (owner_id, country, state) INCLUDE (asset_id);
DROP INDEX IF EXISTS asset_exif_make_model_idx;
CREATE INDEX asset_exif_make_model_idx ON asset_exif (owner_id, make, model) INCLUDE (asset_id);
