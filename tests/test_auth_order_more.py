"""Which credential a request is authenticated with when it carries both a session token and
an API key: the session's, as Immich 3.1 (auth.service ``validate``: shared link key, shared
link slug, then the session token from ``x-immich-user-token``, ``x-immich-session-token``,
``?sessionKey=``, a bearer ``Authorization`` or the ``immich_access_token`` cookie, and only
then ``x-api-key`` / ``?apiKey=``).

* A valid session with a narrow API key beside it is the session: no API key permission is
  checked (a key of another user beside it changes nothing either).
* A bad session token is refused (401 ``Invalid user token``) even with a valid key beside it.
* A valid key alone still works, and a bad key alone is 401 ``Invalid API key``.
"""

from __future__ import annotations

import httpx
import pytest
from darkroom_stack.supervisor import Stack

from .conftest import User, make_user


@pytest.fixture(scope="module")
def user(stack: Stack, admin: User) -> User:
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def token(stack: Stack, user: User) -> str:
    """A session token of ``user`` (a password login)."""
    r = httpx.post(
        f"{stack.url}/api/auth/login",
        json={"email": user.email, "password": user.password},
        timeout=60,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["accessToken"])


@pytest.fixture(scope="module")
def narrow_key(user: User) -> str:
    """An API key of ``user`` that may only read assets."""
    r = user.client.post("/api/api-keys", json={"name": "narrow", "permissions": ["asset.read"]})
    assert r.status_code == 201, r.text
    return str(r.json()["secret"])


def _me(stack: Stack, headers: dict[str, str], cookies: dict[str, str] | None = None) -> object:
    with httpx.Client(base_url=stack.url, timeout=60, cookies=cookies) as client:
        return client.get("/api/users/me", headers=headers)


def test_a_session_beside_a_narrow_key_is_the_session(
    stack: Stack, user: User, token: str, narrow_key: str
) -> None:
    alone = _me(stack, {"x-api-key": narrow_key})
    assert alone.status_code == 403, alone.text  # user.read is not the key's
    assert alone.json() == {"message": "Missing required permission: user.read"}

    for headers, cookies in (
        ({"Authorization": f"Bearer {token}", "x-api-key": narrow_key}, None),
        ({"x-immich-user-token": token, "x-api-key": narrow_key}, None),
        ({"x-api-key": narrow_key}, {"immich_access_token": token}),
    ):
        r = _me(stack, headers, cookies)
        assert r.status_code == 200, (headers, r.text)
        assert r.json()["id"] == user.id


def test_a_session_beside_another_users_key_is_the_sessions_user(
    stack: Stack, user: User, token: str, other_user: User
) -> None:
    r = _me(stack, {"Authorization": f"Bearer {token}", "x-api-key": other_user.api_key})
    assert r.status_code == 200, r.text
    assert r.json()["id"] == user.id


def test_a_bad_session_token_is_refused_whatever_key_comes_with_it(
    stack: Stack, user: User
) -> None:
    r = _me(stack, {"Authorization": "Bearer not-a-session", "x-api-key": user.api_key})
    assert r.status_code == 401, r.text
    assert r.json()["message"] == "Invalid user token"

    good = _me(stack, {"x-api-key": user.api_key})
    assert good.status_code == 200, good.text
    bad = _me(stack, {"x-api-key": "not-a-key"})
    assert bad.status_code == 401, bad.text
    assert bad.json()["message"] == "Invalid API key"
    anonymous = _me(stack, {})
    assert anonymous.status_code == 401, anonymous.text
