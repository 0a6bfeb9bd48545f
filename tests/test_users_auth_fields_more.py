"""Users, admin users, sessions and auth: request fields and answers no other test pins down.

* ``PUT /api/users/me`` with ``password`` (deprecated in the spec, still sent by clients) sets
  the password and clears ``shouldChangePassword`` (Immich: user.service ``updateMe``).
* ``GET /api/admin/users/{id}/statistics`` honours ``isFavorite``, ``isTrashed`` and
  ``visibility``, and without ``visibility`` counts only timeline and archive assets (Immich:
  user-admin.service ``getStatistics`` -> asset.repository ``getStatistics``, the same query as
  ``GET /api/assets/statistics``, ``withDefaultVisibility``).
* ``DELETE /api/users/profile-image`` without a picture is 400 "Can't delete a missing profile
  Image" (Immich: user.service ``deleteProfileImage``).
* A new user's preferences are Immich's defaults: ``purchase.hideBuyButtonUntil`` is
  2022-02-12 (ISO), ``recentlyAdded.sidebarWeb`` is off (Immich: utils/preferences
  ``getDefaultPreferences``).
* ``POST /api/sessions`` from an API key is 400 "This endpoint can only be used with a session
  token" (Immich: session.service ``create``).
* ``PUT /api/sessions/{id}`` with no field is 400 "No fields to update", after the access check
  (another user's session: 400 no access) (Immich: session.service ``update``).
* ``GET /api/users/{id}`` and ``GET /api/users/{id}/profile-image`` of an unknown or deleted
  user are 400 "User not found" (Immich: user.service ``get`` / ``getProfileImage`` ->
  ``findOrFail``, a BadRequestException).
* The admin cannot update, delete again, or change the preferences of a soft-deleted user: 400
  "User not found"; reading it and its preferences still works (Immich: user-admin.service
  ``update``/``delete``/``updatePreferences`` use ``findOrFail(id, {})``, ``get`` and
  ``getPreferences`` ``withDeleted: true``).
* ``GET /api/users`` while system config ``server.publicUsers`` is off lists only the caller
  for a non-admin (an admin still sees everyone) (Immich: user.service ``search``).
"""

from __future__ import annotations

import uuid

import httpx
import pytest
from darkroom_stack.supervisor import Stack

from .conftest import User, db_rows, make_user, noise_jpeg, upload_jpeg, wait_processed

PASSWORD = "correct horse battery staple"


def _login(stack: Stack, email: str, password: str) -> httpx.Response:
    with httpx.Client(base_url=stack.url, timeout=60) as anon:
        return anon.post("/api/auth/login", json={"email": email, "password": password})


def _session_client(stack: Stack, user: User) -> httpx.Client:
    """A client of ``user`` sending a fresh session token (not their API key)."""
    r = _login(stack, user.email, user.password)
    assert r.status_code == 201, r.text
    token = r.json()["accessToken"]
    return httpx.Client(
        base_url=stack.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )


def _message(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    return str(r.json()["message"])


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> User:
    return make_user(stack, admin)


def test_update_me_password_sets_it_and_clears_should_change(stack: Stack, admin: User) -> None:
    email = f"pw{uuid.uuid4().hex[:10]}@darkroom.test"
    r = admin.client.post(
        "/api/admin/users",
        json={"email": email, "name": "Pw", "password": PASSWORD, "shouldChangePassword": True},
    )
    assert r.status_code == 201, r.text
    login = _login(stack, email, PASSWORD)
    assert login.json()["shouldChangePassword"] is True
    headers = {"Authorization": f"Bearer {login.json()['accessToken']}"}
    with httpx.Client(base_url=stack.url, headers=headers, timeout=60) as me:
        r = me.put("/api/users/me", json={"password": "a brand new secret"})
        assert r.status_code == 200, r.text
        assert r.json()["shouldChangePassword"] is False
    assert _login(stack, email, "a brand new secret").status_code == 201
    assert _login(stack, email, PASSWORD).status_code == 401


def test_admin_statistics_filters(stack: Stack, admin: User) -> None:
    user = make_user(stack, admin)
    ids = [upload_jpeg(user, noise_jpeg(9100 + i)) for i in range(5)]
    wait_processed(user, ids)
    favourite, archived, trashed, locked, hidden = ids
    r = user.client.put("/api/assets", json={"ids": [favourite], "isFavorite": True})
    assert r.status_code == 204, r.text
    r = user.client.put("/api/assets", json={"ids": [archived], "visibility": "archive"})
    assert r.status_code == 204, r.text
    r = user.client.request("DELETE", "/api/assets", json={"ids": [trashed]})
    assert r.status_code == 204, r.text
    for asset_id, visibility in ((locked, "locked"), (hidden, "hidden")):
        db_rows(
            stack,
            "UPDATE assets SET visibility = $2 WHERE id = $1",
            uuid.UUID(asset_id),
            visibility,
        )
    url = f"/api/admin/users/{user.id}/statistics"

    def images(**params: str) -> int:
        r = admin.client.get(url, params=params)
        assert r.status_code == 200, r.text
        assert r.json()["total"] == r.json()["images"] + r.json()["videos"]
        return int(r.json()["images"])

    assert images() == 2  # timeline + archive: not the trashed, locked or hidden ones
    assert images(isFavorite="true") == 1
    assert images(isFavorite="false") == 1
    assert images(isTrashed="true") == 1
    assert images(visibility="archive") == 1
    assert images(visibility="timeline") == 1
    assert images(visibility="locked") == 1
    # the admin's own statistics route answers the same as the user's own
    mine = user.client.get("/api/assets/statistics", params={"isFavorite": "true"}).json()
    assert admin.client.get(url, params={"isFavorite": "true"}).json() == mine


def test_delete_missing_profile_image_is_400(owner: User) -> None:
    assert owner.client.get("/api/users/me").json()["profileImagePath"] == ""
    r = owner.client.delete("/api/users/profile-image")
    assert _message(r, 400) == "Can't delete a missing profile Image"


def test_new_user_preferences_are_immich_defaults(stack: Stack, admin: User) -> None:
    user = make_user(stack, admin)
    prefs = user.client.get("/api/users/me/preferences").json()
    assert prefs["purchase"] == {
        "showSupportBadge": True,
        "hideBuyButtonUntil": "2022-02-12T00:00:00.000Z",
    }
    assert prefs["recentlyAdded"] == {"sidebarWeb": False}
    # an update elsewhere keeps them; the admin reads the same
    r = user.client.put("/api/users/me/preferences", json={"ratings": {"enabled": True}})
    assert r.status_code == 200, r.text
    assert r.json()["purchase"] == prefs["purchase"]
    assert r.json()["recentlyAdded"] == {"sidebarWeb": False}
    assert admin.client.get(f"/api/admin/users/{user.id}/preferences").json() == r.json()


def test_create_session_from_an_api_key_is_400(owner: User) -> None:
    r = owner.client.post("/api/sessions", json={"deviceType": "cast", "deviceOS": "tv"})
    assert _message(r, 400) == "This endpoint can only be used with a session token"


def test_update_session_without_fields_is_400(stack: Stack, admin: User, owner: User) -> None:
    with _session_client(stack, owner) as session:
        mine = next(s for s in session.get("/api/sessions").json() if s["current"])
        r = session.put(f"/api/sessions/{mine['id']}", json={})
        assert _message(r, 400) == "No fields to update"
        r = session.put(f"/api/sessions/{mine['id']}", json={"isPendingSyncReset": True})
        assert r.status_code == 200 and r.json()["isPendingSyncReset"] is True
        # a stranger's session: refused as no access, whether or not a field is sent
        stranger = make_user(stack, admin)
        for body in ({}, {"isPendingSyncReset": False}):
            r = stranger.client.put(f"/api/sessions/{mine['id']}", json=body)
            assert _message(r, 400) == "Not found or no session.update access"
        assert next(s for s in session.get("/api/sessions").json() if s["current"])[
            "isPendingSyncReset"
        ]


def test_unknown_or_deleted_user_is_400(stack: Stack, admin: User, owner: User) -> None:
    missing = uuid.uuid4()
    assert _message(owner.client.get(f"/api/users/{missing}"), 400) == "User not found"
    r = owner.client.get(f"/api/users/{missing}/profile-image")
    assert _message(r, 400) == "User not found"
    gone = make_user(stack, admin)
    assert admin.client.delete(f"/api/admin/users/{gone.id}").status_code == 200
    assert _message(owner.client.get(f"/api/users/{gone.id}"), 400) == "User not found"
    # a user without a picture is still 404, as Immich
    r = owner.client.get(f"/api/users/{owner.id}/profile-image")
    assert _message(r, 404) == "User does not have a profile image"


def test_admin_cannot_change_a_deleted_user(stack: Stack, admin: User) -> None:
    gone = make_user(stack, admin)
    base = f"/api/admin/users/{gone.id}"
    assert admin.client.delete(base).status_code == 200
    assert _message(admin.client.put(base, json={"name": "Ghost"}), 400) == "User not found"
    assert _message(admin.client.delete(base), 400) == "User not found"
    r = admin.client.put(f"{base}/preferences", json={"memories": {"enabled": False}})
    assert _message(r, 400) == "User not found"
    # reading still works (withDeleted), and nothing was changed
    assert admin.client.get(base).json()["name"] == "Other"
    assert admin.client.get(f"{base}/preferences").json()["memories"]["enabled"] is True
    restored = admin.client.post(f"{base}/restore")
    assert restored.status_code == 200, restored.text
    assert admin.client.put(base, json={"name": "Back"}).json()["name"] == "Back"


def test_users_list_without_public_users(stack: Stack, admin: User, owner: User) -> None:
    before = admin.client.get("/api/system-config").json()
    assert before["server"]["publicUsers"] is True
    assert len(owner.client.get("/api/users").json()) > 1
    config = {**before, "server": {**before["server"], "publicUsers": False}}
    assert admin.client.put("/api/system-config", json=config).status_code == 200
    try:
        assert [u["id"] for u in owner.client.get("/api/users").json()] == [owner.id]
        listed = {u["id"] for u in admin.client.get("/api/users").json()}
        assert {owner.id, admin.id} <= listed  # an admin still sees everyone
        # looking a user up by id is not affected (Immich's ``get`` has no such check)
        assert owner.client.get(f"/api/users/{admin.id}").status_code == 200
    finally:
        assert admin.client.put("/api/system-config", json=before).status_code == 200
    assert len(owner.client.get("/api/users").json()) > 1


def test_unchosen_avatar_color_follows_the_email(stack: Stack, admin: User) -> None:
    """Without a chosen colour, Immich's ``emailToAvatarColor``: the sum of the e-mail's code
    points modulo the ten colours of the spec's UserAvatarColor, in its order."""
    colors = ["primary", "pink", "red", "yellow", "blue", "green", "purple", "orange", "gray"]
    colors.append("amber")
    fresh = make_user(stack, admin)
    db_rows(stack, "UPDATE users SET avatar_color = NULL WHERE id = $1", uuid.UUID(fresh.id))
    expected = colors[sum(ord(c) for c in fresh.email) % len(colors)]
    assert fresh.client.get("/api/users/me").json()["avatarColor"] == expected
    listed = {u["id"]: u for u in admin.client.get("/api/users").json()}
    assert listed[fresh.id]["avatarColor"] == expected
