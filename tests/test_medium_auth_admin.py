"""Replays Immich's server/test/medium/specs/services/auth-admin.service.spec.ts over HTTP.

Checked: ``POST /api/admin/auth/unlink-all`` also clears the OAuth link of a user in the
deletion grace period. (Live users are covered by test_session_lock_unlink.)
"""

from __future__ import annotations

from darkroom_stack.supervisor import Stack

from tests.conftest import User, db_rows, make_user


def test_unlink_all_resets_a_deleted_user(stack: Stack, admin: User) -> None:
    user = make_user(stack, admin)
    # no route links an OAuth subject without an identity provider
    db_rows(stack, "UPDATE users SET oauth_id = 'test-oauth-id' WHERE id = $1::uuid", user.id)
    assert admin.client.delete(f"/api/admin/users/{user.id}").status_code == 200
    assert admin.client.post("/api/admin/auth/unlink-all").status_code == 204
    rows = db_rows(stack, "SELECT oauth_id, deleted_at FROM users WHERE id = $1::uuid", user.id)
    assert rows[0]["deleted_at"] is not None and rows[0]["oauth_id"] == ""
