"""Replays Immich's e2e/src/api/specs/user.e2e-spec.ts: the checks no other module makes.

Checked here (the rest of the spec, e.g. 401s, ``/users/me`` by a shared-link key, taken e-mail,
licences, the preference updates, is covered in test_server_auth_users.py,
test_users_auth_fields_more.py and test_shared_links.py):

* ``GET /api/users/{id}`` is the public UserResponseDto: no ``shouldChangePassword`` nor
  ``storageLabel``;
* ``PUT /api/users/me/preferences`` refuses (400) a non-integer ``download.archiveSize`` and a
  non-boolean ``download.includeEmbeddedVideos``, and leaves the stored preferences alone.
"""

from __future__ import annotations

from tests.conftest import User


def test_get_user_by_id_hides_the_private_fields(admin: User, other_user: User) -> None:
    r = other_user.client.get(f"/api/users/{admin.id}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"] == admin.id and body["email"] == admin.email
    assert "shouldChangePassword" not in body and "storageLabel" not in body


def test_download_preferences_are_type_checked(other_user: User) -> None:
    before = other_user.client.get("/api/users/me/preferences").json()
    for download in ({"archiveSize": 1_234_567.89}, {"includeEmbeddedVideos": 1_234_567.89}):
        r = other_user.client.put("/api/users/me/preferences", json={"download": download})
        assert r.status_code == 400, (download, r.text)
    assert other_user.client.get("/api/users/me/preferences").json() == before
