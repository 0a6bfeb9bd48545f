"""Replays Immich's e2e/src/api/specs/auth.e2e-spec.ts against a fresh gateway-only stack.

Checked here (the rest of the spec has tests already: lower-cased e-mail and the second admin in
test_auth_oauth_fields_more.py, the login cookies, validateToken, change-password and logout in
test_server_auth_users.py and test_password_change.py):

* ``POST /api/auth/admin-sign-up`` without an e-mail, a password or a name, or with an e-mail
  that is not one, is 400;
* the admin it creates is Immich's ``signupResponseDto.admin`` field for field, with
  ``shouldChangePassword: true`` (Immich leaves the column default), and
  ``POST /api/auth/login`` answers ``loginResponseDto.admin`` (``shouldChangePassword: true``,
  ``isOnboarded: false``).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from darkroom_stack.supervisor import Stack

from tests.conftest import running_stack

ADMIN = {"name": "Immich Admin", "email": "admin@immich.cloud", "password": "password"}


@pytest.fixture(scope="module")
def empty_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A gateway-only stack with no user yet (admin sign-up works once per server)."""
    with running_stack(tmp_path_factory.mktemp("e2e-auth"), services=("gateway",)) as running:
        yield running


def test_admin_sign_up_rejects_missing_or_invalid_fields(empty_stack: Stack) -> None:
    anon = httpx.Client(base_url=empty_stack.url, timeout=60)
    bodies = [{k: v for k, v in ADMIN.items() if k != drop} for drop in ADMIN]
    bodies.append({**ADMIN, "email": "immich"})
    for body in bodies:
        r = anon.post("/api/auth/admin-sign-up", json=body)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["message"], r.text


def test_admin_sign_up_and_login_answer_immichs_dtos(empty_stack: Stack) -> None:
    anon = httpx.Client(base_url=empty_stack.url, timeout=60)
    r = anon.post("/api/auth/admin-sign-up", json=ADMIN)
    assert r.status_code == 201, r.text
    body = r.json()
    for key in ("id", "avatarColor", "createdAt", "updatedAt", "profileChangedAt"):
        assert isinstance(body.pop(key), str), key
    assert body == {
        "name": "Immich Admin",
        "email": "admin@immich.cloud",
        "storageLabel": "admin",
        "profileImagePath": "",
        "shouldChangePassword": True,
        "isAdmin": True,
        "deletedAt": None,
        "oauthId": "",
        "quotaUsageInBytes": 0,
        "quotaSizeInBytes": None,
        "status": "active",
        "license": None,
    }

    login = httpx.post(
        f"{empty_stack.url}/api/auth/login",
        json={"email": ADMIN["email"], "password": ADMIN["password"]},
        timeout=60,
    )
    assert login.status_code == 201, login.text
    got = login.json()
    assert isinstance(got.pop("accessToken"), str) and isinstance(got.pop("userId"), str)
    assert got == {
        "name": "Immich Admin",
        "isAdmin": True,
        "isOnboarded": False,
        "profileImagePath": "",
        "shouldChangePassword": True,
        "userEmail": "admin@immich.cloud",
    }
