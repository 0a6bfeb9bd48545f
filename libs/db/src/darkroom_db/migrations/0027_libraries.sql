-- External libraries (issue #17 item 1): folders an admin gives a user, whose files become
-- assets in place (never copied, moved or modified).
--
-- ``assets.library_id`` names the library of an external asset (``is_external`` true, its
-- ``original_path`` the file's absolute path, read through darkroom_storage's external
-- resolver). A path is imported once per library (unique (library_id, original_path)): a
-- redelivered scan batch creates nothing twice. As Immich, the (owner, checksum) rule that makes
-- a re-upload a duplicate holds for uploads only: a library may hold a copy of an uploaded photo.
-- The foreign key has no ON DELETE action: deleting a library first purges its assets (their
-- derived files and events), then the row.

CREATE TABLE libraries (
    id uuid PRIMARY KEY,
    owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name text NOT NULL,
    import_paths text[] NOT NULL DEFAULT '{}',
    exclusion_patterns text[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    refreshed_at timestamptz
);
CREATE INDEX libraries_owner_idx ON libraries (owner_id);

ALTER TABLE assets ADD COLUMN library_id uuid REFERENCES libraries (id);
CREATE UNIQUE INDEX assets_library_path_key ON assets (library_id, original_path)
    WHERE library_id IS NOT NULL;

DROP INDEX assets_owner_checksum_key;
CREATE UNIQUE INDEX assets_owner_checksum_key ON assets (owner_id, checksum)
    WHERE library_id IS NULL;
