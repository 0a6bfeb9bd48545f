-- Faces and people (issue 5): detected faces with boxes, their identity embeddings, and the
-- people they are clustered into. Column names follow Immich's (AssetFaceResponseDto,
-- PersonResponseDto) so the API maps one to one.
--
-- Boxes are in ORIGINAL image pixels (image_width x image_height = the asset's size when the
-- faces were detected), as Immich's boundingBoxX1..Y2 + imageWidth/imageHeight.
--
-- face_search holds the 128-d descriptor of the default dlib model (ResNet, metric space where
-- two faces of one person are < 0.6 apart in L2: dlib's dnn_face_recognition_ex.cpp). The
-- distance is Euclidean (L2) everywhere: HNSW with vector_l2_ops.

CREATE TABLE people (
    id uuid PRIMARY KEY,
    owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name text NOT NULL DEFAULT '',
    birth_date date,
    is_hidden boolean NOT NULL DEFAULT false,
    is_favorite boolean NOT NULL DEFAULT false,
    color text,
    face_asset_id uuid,                -- the feature face (asset_faces.id), FK added below
    thumbnail_path text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX people_owner_idx ON people (owner_id);

CREATE TABLE asset_faces (
    id uuid PRIMARY KEY,
    asset_id uuid NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    person_id uuid REFERENCES people (id) ON DELETE SET NULL,
    image_width integer NOT NULL,
    image_height integer NOT NULL,
    bounding_box_x1 integer NOT NULL,
    bounding_box_y1 integer NOT NULL,
    bounding_box_x2 integer NOT NULL,
    bounding_box_y2 integer NOT NULL,
    score real NOT NULL DEFAULT 0,     -- detector confidence (model-specific scale)
    source_type text NOT NULL DEFAULT 'machine-learning'
        CHECK (source_type IN ('machine-learning', 'exif', 'manual')),
    -- Recognition progress: 'pending' (new), 'deferred' (not a core face yet: retried after the
    -- queue drains), 'unmatched' (retried by the nightly "cluster new faces" job), 'done'.
    recognition text NOT NULL DEFAULT 'pending'
        CHECK (recognition IN ('pending', 'deferred', 'unmatched', 'done')),
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX asset_faces_asset_idx ON asset_faces (asset_id);
CREATE INDEX asset_faces_person_idx ON asset_faces (person_id);
CREATE INDEX asset_faces_unassigned_idx ON asset_faces (owner_id, recognition, created_at)
    WHERE person_id IS NULL;

ALTER TABLE people ADD CONSTRAINT people_face_asset_fk
    FOREIGN KEY (face_asset_id) REFERENCES asset_faces (id) ON DELETE SET NULL;

CREATE TABLE face_search (
    face_id uuid PRIMARY KEY REFERENCES asset_faces (id) ON DELETE CASCADE,
    owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    embedding vector(128) NOT NULL
);
CREATE INDEX face_search_embedding_idx ON face_search USING hnsw (embedding vector_l2_ops);
CREATE INDEX face_search_owner_idx ON face_search (owner_id);
