"""Replays Immich's server/test/medium/specs/services/auth.service.spec.ts over HTTP.

Checked: logging out removes the session (its token is refused afterwards); a password change
answers the user without a password, and the new password logs in while the old one is
``Incorrect email or password``. (Sign-up, the login response, the logout body and ``Wrong
password`` are covered by test_e2e_auth, test_auth_oauth_fields_more and test_password_change.)
"""

from __future__ import annotations

import httpx
from darkroom_stack.supervisor import Stack

from tests.conftest import User, make_user


def _login(stack: Stack, email: str, password: str) -> httpx.Response:
    return httpx.post(
        f"{stack.url}/api/auth/login", json={"email": email, "password": password}, timeout=60
    )


def test_logout_removes_the_session(stack: Stack, admin: User) -> None:
    user = make_user(stack, admin)
    token = _login(stack, user.email, user.password).json()["accessToken"]
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{stack.url}/api/users/me", headers=headers).status_code == 200
    out = httpx.post(f"{stack.url}/api/auth/logout", headers=headers, timeout=60)
    assert out.status_code == 200, out.text
    assert httpx.get(f"{stack.url}/api/users/me", headers=headers).status_code == 401


def test_change_password_then_login_with_it(stack: Stack, admin: User) -> None:
    user = make_user(stack, admin)
    body = {"password": user.password, "newPassword": "new-password-1"}
    r = user.client.post("/api/auth/change-password", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == user.id and r.json()["email"] == user.email
    assert "password" not in r.json()
    assert _login(stack, user.email, "new-password-1").status_code == 201
    old = _login(stack, user.email, user.password)
    assert old.status_code == 401 and old.json()["message"] == "Incorrect email or password"
