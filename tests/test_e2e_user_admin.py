"""Replays Immich's e2e/src/api/specs/user-admin.e2e-spec.ts (3.x: e2e/src/specs/server/api/).

Checked here (listing with and without deleted users, ``isAdmin`` on create and update,
password and avatar colour updates, preferences, soft and hard delete and restore are covered
by test_server_auth_users.py, test_users_auth_fields_more.py and test_user_purge.py):
``PUT /api/admin/users/{id}`` ignores ``profileImagePath``, and a name update changes the name
and ``updatedAt`` and nothing else of UserAdminResponseDto.
"""

from __future__ import annotations

import time

from darkroom_stack.supervisor import Stack

from .conftest import User, make_user


def test_update_ignores_profile_image_path_and_changes_only_the_name(
    stack: Stack, admin: User
) -> None:
    """'ignores updates to profileImagePath' and 'should update first and last name'."""
    user = make_user(stack, admin)
    r = admin.client.put(f"/api/admin/users/{user.id}", json={"profileImagePath": "invalid.jpg"})
    assert r.status_code == 200, r.text
    assert r.json()["id"] == user.id and r.json()["profileImagePath"] == ""

    before = admin.client.get(f"/api/admin/users/{user.id}").json()
    time.sleep(0.01)  # updatedAt has millisecond precision
    r = admin.client.put(f"/api/admin/users/{user.id}", json={"name": "Name"})
    assert r.status_code == 200, r.text
    after = r.json()
    assert after == {**before, "updatedAt": after["updatedAt"], "name": "Name"}
    assert after["updatedAt"] != before["updatedAt"]
