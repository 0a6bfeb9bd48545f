-- Faces are soft-deleted (Immich's asset_face."deletedAt"; darkroom_db.people).
--
-- DELETE /api/faces/{id} with {"force": false} sets deleted_at and keeps the row (Immich's
-- PersonService.deleteFace -> PersonRepository.softDeleteAssetFaces); {"force": true} deletes it.
-- A soft-deleted face is left out of the faces of an asset, the people list and its counts, a
-- person's statistics, the people of an asset and the person filter of searches; the sync stream
-- still sends it (SyncAssetFaceV2.deletedAt; the UPDATE moves its update_pos through the
-- asset_faces_sync_touch trigger of 0012). Face detection reads it to keep a face the user took
-- off from being detected again at the same place (Immich's handleDetectFaces).
ALTER TABLE asset_faces ADD COLUMN deleted_at timestamptz;
