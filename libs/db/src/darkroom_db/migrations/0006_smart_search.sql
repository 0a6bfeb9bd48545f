-- Smart search (issue 4): CLIP embeddings of asset previews, near-duplicate groups, and the state
-- of the ML models that services report for /api/server/features.
--
-- smart_search.embedding has the dimension of the CLIP model in use: 512 (ViT-B-32, Immich's
-- default) here. A model of another size changes it at start-up, as Immich does: the embedding
-- service calls darkroom_db.smart_search.ensure_dimension, which (in one transaction) empties
-- the table, alters the column to vector(D), rebuilds the HNSW index and marks every asset's
-- "embedding" step as not done, so the jobs admin can re-run it. One typed column keeps every
-- query simple (`embedding <=> $1` uses the index); embeddings of two models are never comparable
-- anyway. Vectors are L2-normalised, so cosine distance = 1 - dot product.
CREATE TABLE smart_search (
    asset_id uuid PRIMARY KEY REFERENCES assets (id) ON DELETE CASCADE,
    owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    model text NOT NULL,                 -- e.g. ViT-B-32__openai
    embedding vector(512) NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- pgvector's defaults (m=16, ef_construction=64); recall is tuned per query with hnsw.ef_search.
CREATE INDEX smart_search_embedding_idx ON smart_search
    USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64);
CREATE INDEX smart_search_owner_idx ON smart_search (owner_id);

-- Near-duplicates (Immich: AssetResponseDto.duplicateId): assets of one owner whose embeddings
-- are within the configured cosine distance share a duplicate id.
ALTER TABLE assets ADD COLUMN duplicate_id uuid;
CREATE INDEX assets_duplicate_idx ON assets (owner_id, duplicate_id) WHERE duplicate_id IS NOT NULL;

-- What each ML task's service loaded (written by the service at start-up): the gateway reads it
-- to report features (smartSearch, duplicateDetection) and to explain why one is off.
CREATE TABLE ml_model_status (
    task text PRIMARY KEY,               -- darkroom_ml.ModelTask: 'clip', 'facial-recognition', ...
    model text NOT NULL,
    dim integer,                         -- embedding size when ready
    ready boolean NOT NULL,
    reason text NOT NULL DEFAULT '',     -- why not ready
    options jsonb NOT NULL DEFAULT '{}', -- e.g. {"duplicate_detection": true, "max_distance": 0.01}
    updated_at timestamptz NOT NULL DEFAULT now()
);
