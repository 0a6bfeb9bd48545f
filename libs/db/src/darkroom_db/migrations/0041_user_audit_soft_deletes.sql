-- A soft-deleted user is no deletion for the sync stream (Immich's UserSync: the user's row with
-- its deletedAt; user_audit only when the row is deleted for good).
--
-- Until now a soft delete also wrote a user_audit row, which the sync stream sends as
-- UserDeleteV1: a device would drop a user who still exists (and may be restored). Soft deletes no
-- longer write it (darkroom_db.users.soft_delete_user); this takes out the rows written before for
-- users that still exist, so devices that have not synced them yet get the user's UserV1 (with
-- deletedAt, the soft delete moved its position) instead. A purged user has no row in users: its
-- audit row stays.
DELETE FROM user_audit WHERE user_id IN (SELECT id FROM users);
