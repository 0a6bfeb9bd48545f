"""Replays Immich's e2e/src/api/specs/session.e2e-spec.ts (3.x: e2e/src/specs/server/api/).

Checked here (logging out all other devices or one, another user's session and the
``authDevice.delete`` message are covered by test_server_auth_users.py and
test_error_bodies.py): ``GET /api/sessions`` right after a password login lists that one
session with Immich's values for a browser-less login: ``current: true``,
``isPendingSyncReset: false``, empty ``deviceOS``/``deviceType`` and a null ``appVersion``.
"""

from __future__ import annotations

import uuid

import httpx
from darkroom_stack.supervisor import Stack

from .conftest import User


def test_a_fresh_login_lists_its_own_session(stack: Stack, admin: User) -> None:
    """'should get a list of authorized devices'."""
    email, password = f"s{uuid.uuid4().hex[:10]}@darkroom.test", "password123456"
    made = admin.client.post(
        "/api/admin/users", json={"email": email, "name": "User 1", "password": password}
    )
    assert made.status_code == 201, made.text
    login = httpx.post(f"{stack.url}/api/auth/login", json={"email": email, "password": password})
    assert login.status_code == 201, login.text
    r = httpx.get(
        f"{stack.url}/api/sessions",
        headers={"Authorization": f"Bearer {login.json()['accessToken']}"},
    )
    assert r.status_code == 200, r.text
    [session] = r.json()
    assert {k: session[k] for k in ("current", "isPendingSyncReset", "deviceOS", "deviceType")} == {
        "current": True,
        "isPendingSyncReset": False,
        "deviceOS": "",
        "deviceType": "",
    }
    assert session["appVersion"] is None
    assert isinstance(session["id"], str) and session["createdAt"] and session["updatedAt"]
