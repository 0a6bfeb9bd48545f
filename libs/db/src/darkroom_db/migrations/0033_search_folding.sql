-- Search text folding (issue #23 items 1 and 3; darkroom_db.search, darkroom_db.ocr,
-- docs/search.md).
--
-- darkroom_unaccent(text): PostgreSQL's unaccent with its dictionary fixed, so that it is
-- IMMUTABLE and can be used in index expressions (unaccent(text) itself is only STABLE because it
-- looks its dictionary up through search_path). The SQL-standard body binds the function and the
-- dictionary when this migration runs, so later search_path changes do not matter. unaccent is a
-- trusted extension: the database owner may create it without superuser rights.
--
-- darkroom_ocr_fold(text): the form OCR text and OCR queries are compared in: lower case, no
-- accents, and the characters OCR engines confuse mapped onto one representative (l, 1, |, ! ->
-- i; 0 -> o; rn -> m; vv -> w), so "INVOlCE" (lower-case L read for a capital I) and "invoice"
-- fold to the same word. Both stored text and the query are folded, so the mapping need not be
-- reversible. Changing it means a new migration that rebuilds the index below.
--
-- The trigram indexes of 0007 were on the raw text; searches now compare folded text, so they
-- are replaced by GIN trigram indexes on the folded expressions (they serve both LIKE '%w%' and
-- the strict word similarity operator %>>).
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE OR REPLACE FUNCTION darkroom_unaccent(t text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN unaccent('unaccent'::regdictionary, t);

CREATE OR REPLACE FUNCTION darkroom_ocr_fold(t text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN replace(replace(translate(lower(darkroom_unaccent(t)), '0l1|!', 'oiiii'), 'rn', 'm'),
        'vv', 'w');

DROP INDEX IF EXISTS asset_ocr_text_trgm_idx;
CREATE INDEX asset_ocr_text_fold_trgm_idx ON asset_ocr
    USING gin (darkroom_ocr_fold(text) gin_trgm_ops);

DROP INDEX IF EXISTS asset_exif_description_trgm_idx;
CREATE INDEX asset_exif_description_unaccent_trgm_idx ON asset_exif
    USING gin (darkroom_unaccent(description) gin_trgm_ops);

DROP INDEX IF EXISTS assets_file_name_trgm_idx;
CREATE INDEX assets_file_name_unaccent_trgm_idx ON assets
    USING gin (darkroom_unaccent(original_file_name) gin_trgm_ops);
