-- Rollback of 0042_face_soft_delete: without the column a soft-deleted face would come back, so
-- the faces the user deleted are deleted for good first (their asset_face_audit rows tell the
-- apps, as a forced delete does).
DELETE FROM asset_faces WHERE deleted_at IS NOT NULL;
ALTER TABLE asset_faces DROP COLUMN deleted_at;
