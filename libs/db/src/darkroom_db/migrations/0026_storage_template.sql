-- The storage template (issue #17 item 2): moves of originals in flight, as Immich's
-- ``move_history``, so that a crash at any point of a move is finished or rolled back.
--
-- A row is written (committed) before the copy to ``new_path`` starts and deleted only after
-- the object at ``old_path`` is gone: while it exists, both keys are reserved (no other move
-- picks them). Whether the move had switched the asset over is read from
-- ``assets.original_path`` (old: roll back by deleting the copies; new: finish by deleting the
-- old objects). No foreign key: a row outlives a deleted asset until its copies are removed.
CREATE TABLE asset_moves (
    asset_id uuid PRIMARY KEY,
    old_path text NOT NULL,
    new_path text NOT NULL,
    old_sidecar_path text,
    new_sidecar_path text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX asset_moves_new_path_key ON asset_moves (new_path);
CREATE INDEX asset_moves_old_path_idx ON asset_moves (old_path);

-- Collision checks of the template look keys up by path.
CREATE INDEX IF NOT EXISTS assets_original_path_idx ON assets (original_path);
