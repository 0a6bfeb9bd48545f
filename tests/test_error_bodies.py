"""Error answers exactly as Immich 3.1 gives them, through HTTP.

- the body is ``{"message"}`` only (a validation error: ``message`` "Validation failed" plus
  ``errors``); the correlation id is in the ``x-immich-cid`` header;
- an id that does not exist or is not the caller's: 400 ``Not found or no <permission> access``
  (API keys: 400 ``API Key not found``), the same for both, so ids do not leak;
- who may call a route is decided before its body is validated (401 anonymous, 403 without the
  permission, even for an invalid body);
- an API key cannot make a key with permissions it does not hold (400).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
import pyvips
from darkroom_stack.supervisor import Stack

from .conftest import User, upload_jpeg


def _jpeg() -> bytes:
    noise = pyvips.Image.gaussnoise(40, 30, mean=128, sigma=60)
    return bytes(noise.cast("uchar").jpegsave_buffer())


def _scoped(user: User, permissions: list[str]) -> httpx.Client:
    """A client authenticated with a new API key of ``user`` holding ``permissions``."""
    r = user.client.post("/api/api-keys", json={"name": "scoped", "permissions": permissions})
    assert r.status_code == 201, r.text
    return httpx.Client(
        base_url=str(user.client.base_url), headers={"x-api-key": r.json()["secret"]}, timeout=60
    )


@pytest.fixture(scope="module")
def anonymous(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.url, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def owned(admin: User) -> dict[str, str]:
    """Ids of things the admin owns: an asset, an album, a person, an API key, a session."""
    asset = upload_jpeg(admin, _jpeg())
    album = admin.client.post("/api/albums", json={"albumName": "mine", "assetIds": [asset]})
    assert album.status_code == 201, album.text
    person = admin.client.post("/api/people", json={"name": "Someone"})
    assert person.status_code == 201, person.text
    key = admin.client.post("/api/api-keys", json={"name": "k", "permissions": ["asset.read"]})
    assert key.status_code == 201, key.text
    sessions = admin.client.get("/api/sessions")
    assert sessions.status_code == 200 and sessions.json(), sessions.text
    return {
        "asset": asset,
        "album": album.json()["id"],
        "person": person.json()["id"],
        "key": key.json()["apiKey"]["id"],
        "session": sessions.json()[0]["id"],
    }


def test_error_body_is_only_the_message(anonymous: httpx.Client, admin: User) -> None:
    r = anonymous.get("/api/users/me")
    assert r.status_code == 401
    assert r.json() == {"message": "Authentication required"}
    assert r.headers["x-immich-cid"]
    missing = admin.client.get("/api/no-such-route")
    assert missing.status_code == 404 and set(missing.json()) == {"message"}, missing.text


def test_validation_error_is_message_and_errors(admin: User) -> None:
    r = admin.client.post("/api/albums", json={"albumName": 5})
    assert r.status_code == 400, r.text
    body = r.json()
    assert set(body) == {"message", "errors"} and body["message"] == "Validation failed", body
    assert body["errors"] and all(
        set(e) == {"code", "path", "message"} and isinstance(e["path"], list)
        for e in body["errors"]
    ), body


def _invalid_uuid(name: str) -> dict[str, object]:
    return {
        "message": "Validation failed",
        "errors": [{"code": "invalid_format", "path": [name], "message": "Invalid UUID"}],
    }


def test_malformed_id_in_the_path_is_400(
    anonymous: httpx.Client, admin: User, owned: dict[str, str]
) -> None:
    """Immich validates path ids (``id must be a UUID``): 400, not the router's 404, and only
    after the caller is known (anonymous 401, a key without the permission 403)."""
    for method, path in [
        ("GET", "/api/assets/123"),
        ("PATCH", "/api/albums/not-a-uuid"),
        ("GET", "/api/people/123/statistics"),
        ("DELETE", "/api/memories/x"),
    ]:
        r = admin.client.request(method, path, json={} if method == "PATCH" else None)
        assert r.status_code == 400, (method, path, r.text)
        assert r.json() == _invalid_uuid("id"), (method, path, r.text)
    # a later parameter by the spec's name (/stacks/{id}/assets/{assetId})
    r = admin.client.delete(f"/api/stacks/{uuid.uuid4()}/assets/123")
    assert r.status_code == 400 and r.json() == _invalid_uuid("assetId"), r.text
    # who asks is decided first
    r = anonymous.get("/api/assets/123")
    assert r.status_code == 401 and r.json() == {"message": "Authentication required"}, r.text
    r = _scoped(admin, ["album.read"]).get("/api/assets/123")
    assert r.status_code == 403, r.text
    # a well-formed id that is not the caller's is still Immich's access refusal
    r = admin.client.get(f"/api/assets/{uuid.uuid4()}")
    assert r.status_code == 400 and r.json() == {"message": "Not found or no asset.read access"}, (
        r.text
    )
    assert admin.client.get(f"/api/assets/{owned['asset']}").status_code == 200


def test_permission_is_checked_before_the_body(anonymous: httpx.Client, admin: User) -> None:
    invalid = {"albumName": 5, "assetIds": "not a list"}
    r = anonymous.post("/api/albums", json=invalid)
    assert r.status_code == 401 and r.json() == {"message": "Authentication required"}, r.text
    r = anonymous.post(
        "/api/albums", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 401, r.text
    reader = _scoped(admin, ["asset.read"])
    r = reader.post("/api/albums", json=invalid)
    assert r.status_code == 403, r.text
    assert r.json() == {"message": "Missing required permission: album.create"}
    # an admin route: a non-admin is refused before the body is looked at
    r = reader.post("/api/admin/users", json={"email": 5})
    assert r.status_code == 403, r.text


def test_api_key_cannot_grant_more_than_it_holds(admin: User) -> None:
    limited = _scoped(admin, ["apiKey.create", "apiKey.update", "apiKey.read", "asset.read"])
    r = limited.post("/api/api-keys", json={"name": "x", "permissions": ["all"]})
    assert r.status_code == 400, r.text
    assert r.json() == {"message": "Cannot grant permissions you do not have"}
    r = limited.post("/api/api-keys", json={"name": "x", "permissions": ["asset.read"]})
    assert r.status_code == 201, r.text
    r = limited.put(f"/api/api-keys/{r.json()['apiKey']['id']}", json={"permissions": ["all"]})
    assert r.status_code == 400, r.text
    assert r.json() == {"message": "Cannot grant permissions you do not have"}


#: (method, path template, JSON body, Immich's message) for a route given someone else's id.
FOREIGN_ID_ROUTES = [
    ("GET", "/api/assets/{asset}", None, "Not found or no asset.read access"),
    ("PUT", "/api/assets/{asset}", {"isFavorite": True}, "Not found or no asset.update access"),
    ("GET", "/api/assets/{asset}/original", None, "Not found or no asset.download access"),
    ("GET", "/api/assets/{asset}/thumbnail", None, "Not found or no asset.view access"),
    ("GET", "/api/albums/{album}", None, "Not found or no album.read access"),
    ("PATCH", "/api/albums/{album}", {"albumName": "x"}, "Not found or no album.update access"),
    ("DELETE", "/api/albums/{album}", None, "Not found or no album.delete access"),
    ("PUT", "/api/albums/{album}/assets", {"ids": []}, "Not found or no albumAsset.create access"),
    ("GET", "/api/people/{person}", None, "Not found or no person.read access"),
    ("PUT", "/api/people/{person}", {"name": "x"}, "Not found or no person.update access"),
    ("DELETE", "/api/people/{person}", None, "Not found or no person.delete access"),
    ("GET", "/api/people/{person}/thumbnail", None, "Not found or no person.read access"),
    ("GET", "/api/people/{person}/statistics", None, "Not found or no person.read access"),
    ("GET", "/api/api-keys/{key}", None, "API Key not found"),
    ("PUT", "/api/api-keys/{key}", {"name": "x"}, "API Key not found"),
    ("DELETE", "/api/api-keys/{key}", None, "API Key not found"),
    ("PUT", "/api/sessions/{session}", {}, "Not found or no session.update access"),
    ("DELETE", "/api/sessions/{session}", None, "Not found or no authDevice.delete access"),
]


@pytest.mark.parametrize(("method", "path", "body", "message"), FOREIGN_ID_ROUTES)
def test_foreign_and_missing_ids_are_not_found_or_no_access(
    other_user: User,
    owned: dict[str, str],
    method: str,
    path: str,
    body: dict[str, object] | None,
    message: str,
) -> None:
    random = {name: str(uuid.uuid4()) for name in owned}
    for ids in (owned, random):  # someone else's id and one that does not exist: the same
        r = other_user.client.request(method, path.format(**ids), json=body)
        assert r.status_code == 400, (method, path, r.status_code, r.text)
        assert r.json() == {"message": message}, (method, path)
