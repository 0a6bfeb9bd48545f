"""Replays Immich's e2e/src/api/specs/api-key.e2e-spec.ts (3.x: e2e/src/specs/server/api/).

Checked here (the rest of the spec file is covered by test_server_auth_users.py,
test_error_bodies.py and test_auth_order_more.py): ``POST /api/api-keys`` answers the new key's
fields at the top level as well as under ``apiKey`` (Immich 3.x's ``{...apiKey, secret,
apiKey}``), whether the caller is a session or an API key holding ``apiKey.create``.
"""

from __future__ import annotations

import httpx
from darkroom_stack.supervisor import Stack

from .conftest import User

KEY_FIELDS = {"id", "name", "permissions", "createdAt", "updatedAt"}


def _token(stack: Stack, user: User) -> str:
    r = httpx.post(
        f"{stack.url}/api/auth/login", json={"email": user.email, "password": user.password}
    )
    assert r.status_code == 201, r.text
    return str(r.json()["accessToken"])


def test_create_answers_the_key_flat_and_nested(stack: Stack, other_user: User) -> None:
    """'should create an api key' and 'should work with apiKey.create'."""
    bearer = {"Authorization": f"Bearer {_token(stack, other_user)}"}
    r = httpx.post(
        f"{stack.url}/api/api-keys",
        json={"name": "API Key", "permissions": ["all"]},
        headers=bearer,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) == KEY_FIELDS | {"secret", "apiKey"}
    assert body["name"] == "API Key" and body["permissions"] == ["all"]
    assert body["apiKey"] == {k: body[k] for k in KEY_FIELDS}
    assert isinstance(body["secret"], str) and body["secret"]

    creator = httpx.post(
        f"{stack.url}/api/api-keys",
        json={"name": "api key", "permissions": ["apiKey.create", "apiKey.read"]},
        headers=bearer,
    ).json()["secret"]
    r = httpx.post(
        f"{stack.url}/api/api-keys",
        json={"name": "API Key", "permissions": ["apiKey.read"]},
        headers={"x-api-key": creator},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) == KEY_FIELDS | {"secret", "apiKey"}
    assert body["permissions"] == ["apiKey.read"] and body["apiKey"]["id"] == body["id"]
    listed = other_user.client.get("/api/api-keys").json()
    assert body["apiKey"] in listed  # the nested key is what GET /api/api-keys lists
