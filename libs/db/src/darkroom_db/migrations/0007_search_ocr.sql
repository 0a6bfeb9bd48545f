-- Search: text found in photos (OCR) and the indexes metadata search filters on.
--
-- asset_ocr holds one row per text line the OCR model read in an asset's preview, with its box
-- (four corner points, normalised to 0..1 of the preview's width/height, clockwise from top-left)
-- and the recogniser's confidence. A re-run replaces an asset's rows (delete + insert in one
-- transaction). Search matches words with a trigram index (pg_trgm) so "invoice" finds
-- "INVOICE 2024" and partial words, case-insensitively.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE asset_ocr (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    asset_id uuid NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    text text NOT NULL,
    box real[] NOT NULL,          -- x1, y1, x2, y2, x3, y3, x4, y4 in 0..1 of the preview
    score real NOT NULL,          -- recognition confidence, 0..1
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX asset_ocr_asset_idx ON asset_ocr (asset_id);
CREATE INDEX asset_ocr_text_trgm_idx ON asset_ocr USING gin (text gin_trgm_ops);

-- Per-asset OCR progress, for "run missing" (an asset with no text still gets a row here).
CREATE TABLE asset_ocr_status (
    asset_id uuid PRIMARY KEY REFERENCES assets (id) ON DELETE CASCADE,
    owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    lines integer NOT NULL,
    done_at timestamptz NOT NULL DEFAULT now()
);

-- Metadata search and search suggestions filter on these (per owner).
CREATE INDEX asset_exif_make_model_idx ON asset_exif (owner_id, make, model);
CREATE INDEX asset_exif_country_state_idx ON asset_exif (owner_id, country, state);
CREATE INDEX asset_exif_description_trgm_idx ON asset_exif USING gin (description gin_trgm_ops);
CREATE INDEX assets_file_name_trgm_idx ON assets USING gin (original_file_name gin_trgm_ops);
