"""``POST /api/sessions/{id}/lock`` and ``POST /api/admin/auth/unlink-all`` on the session stack.

- Locking a session ends its PIN unlock (``isElevated`` false, the locked folder hidden again)
  and nothing else: it stays signed in; only the owner may lock it (another user 400
  ``Not found or no session.lock access``, anonymous 401, a shared-link visitor 403).
- Unlink-all clears every user's OAuth link (``oauthId`` empty), admin only (403 otherwise).
"""

from __future__ import annotations

import httpx
from darkroom_stack.supervisor import Stack

from tests.conftest import User, db_rows, make_user, noise_jpeg, upload_jpeg

PIN = "083512"


def _signed_in(stack: Stack, user: User) -> tuple[httpx.Client, str]:
    """A Bearer session of ``user`` and its session id."""
    login = httpx.post(
        f"{stack.url}/api/auth/login",
        json={"email": user.email, "password": user.password},
        timeout=60,
    )
    assert login.status_code == 201, login.text
    client = httpx.Client(
        base_url=stack.url,
        headers={"Authorization": f"Bearer {login.json()['accessToken']}"},
        timeout=60,
    )
    current = [s for s in client.get("/api/sessions").json() if s["current"]]
    assert len(current) == 1
    return client, current[0]["id"]


def test_lock_ends_the_pin_unlock_of_that_session_only(
    stack: Stack, admin: User, other_user: User
) -> None:
    owner = make_user(stack, admin)
    session, session_id = _signed_in(stack, owner)
    assert session.post("/api/auth/pin-code", json={"pinCode": PIN}).status_code == 204
    assert session.post("/api/auth/session/unlock", json={"pinCode": PIN}).status_code == 204
    assert session.get("/api/auth/status").json()["isElevated"] is True
    second, second_id = _signed_in(stack, owner)
    assert second.post("/api/auth/session/unlock", json={"pinCode": PIN}).status_code == 204

    # refused: another user, anonymous, a shared-link visitor; the session stays unlocked
    refused = other_user.client.post(f"/api/sessions/{session_id}/lock")
    assert refused.status_code == 400, refused.text
    assert refused.json()["message"] == "Not found or no session.lock access"
    anon = httpx.Client(base_url=stack.url, timeout=60)
    assert anon.post(f"/api/sessions/{session_id}/lock").status_code == 401
    photo = upload_jpeg(owner, noise_jpeg(8301))
    link = owner.client.post("/api/shared-links", json={"type": "INDIVIDUAL", "assetIds": [photo]})
    assert link.status_code == 201, link.text
    visitor = anon.post(f"/api/sessions/{session_id}/lock", params={"key": link.json()["key"]})
    assert visitor.status_code == 403, visitor.text
    assert session.get("/api/auth/status").json()["isElevated"] is True
    unknown = owner.client.post("/api/sessions/00000000-0000-4000-8000-000000000000/lock")
    assert unknown.status_code == 400

    # the owner (here with an API key) locks the first session: only it
    assert owner.client.post(f"/api/sessions/{session_id}/lock").status_code == 204
    status = session.get("/api/auth/status")
    assert status.status_code == 200  # still signed in
    assert status.json()["isElevated"] is False and status.json().get("pinExpiresAt") is None
    assert second.get("/api/auth/status").json()["isElevated"] is True
    assert owner.client.post(f"/api/sessions/{session_id}/lock").status_code == 204  # again
    # a session may lock itself
    assert second.post(f"/api/sessions/{second_id}/lock").status_code == 204
    assert second.get("/api/auth/status").json()["isElevated"] is False


def test_unlink_all_clears_every_oauth_link(stack: Stack, admin: User, other_user: User) -> None:
    users = [make_user(stack, admin) for _ in range(2)]
    for n, user in enumerate(users):
        db_rows(
            stack, "UPDATE users SET oauth_id = $2 WHERE id = $1", user.id, f"sub-{n}-{user.id}"
        )
    linked = admin.client.get(f"/api/admin/users/{users[0].id}").json()
    assert linked["oauthId"] == f"sub-0-{users[0].id}"

    assert other_user.client.post("/api/admin/auth/unlink-all").status_code == 403
    anon = httpx.Client(base_url=stack.url, timeout=60)
    assert anon.post("/api/admin/auth/unlink-all").status_code == 401
    assert all(admin.client.get(f"/api/admin/users/{u.id}").json()["oauthId"] for u in users), (
        "a refused call unlinked someone"
    )

    r = admin.client.post("/api/admin/auth/unlink-all")
    assert r.status_code == 204, r.text
    for user in users:
        assert admin.client.get(f"/api/admin/users/{user.id}").json()["oauthId"] == ""
    left = db_rows(stack, "SELECT count(*) AS n FROM users WHERE oauth_id <> ''")
    assert left[0]["n"] == 0
    # signing in by password still works
    assert _signed_in(stack, users[0])[0].get("/api/users/me").status_code == 200
