"""Album and shared-link request fields that no other test exercises on a success path.

What this proves (each against Immich 3.1.0: the spec's text and ``AlbumService`` /
``SharedLinkService``):
- ``POST /api/albums`` gives the new album the creator's ``albums.defaultAssetOrder`` preference;
- ``GET /api/albums?assetId=`` "ignores other parameters" (spec), while ``name`` and ``id`` filter
  exactly when given alone;
- ``POST /api/shared-links`` without ``allowUpload`` makes a link that allows uploads
  (Immich: ``allowUpload ?? true``), and an empty ``description`` is stored as null;
- ``GET /api/shared-links`` narrows by ``albumId`` and ``id``; ``PUT /api/albums/{id}/users``
  stores the ``role`` sent and ``PUT /api/albums/{id}/user/{userId}`` changes it.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from darkroom_stack.supervisor import Stack

from .conftest import User, make_user, noise_jpeg, upload_jpeg


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> User:
    """A fresh user (their preferences and albums are this module's own)."""
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def friend(stack: Stack, admin: User) -> User:
    """A user albums are shared with."""
    return make_user(stack, admin)


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, (r.status_code, r.text)
    return r.json() if r.content else None


def new_asset(user: User) -> str:
    return upload_jpeg(user, noise_jpeg(uuid.uuid4().int % 1_000_000))


def test_new_album_follows_default_asset_order_preference(stack: Stack, admin: User) -> None:
    user = make_user(stack, admin)
    before = ok(user.client.post("/api/albums", json={"albumName": "before"}), 201)
    assert before["order"] == "desc"
    prefs = ok(
        user.client.put("/api/users/me/preferences", json={"albums": {"defaultAssetOrder": "asc"}})
    )
    assert prefs["albums"] == {"defaultAssetOrder": "asc"}
    album = ok(user.client.post("/api/albums", json={"albumName": "after"}), 201)
    assert album["order"] == "asc", album  # Immich: getPreferences(...).albums.defaultAssetOrder
    assert ok(user.client.get(f"/api/albums/{album['id']}"))["order"] == "asc"


def test_album_list_asset_id_ignores_other_parameters(owner: User) -> None:
    c = owner.client
    asset = new_asset(owner)
    name = f"solo-{uuid.uuid4().hex[:8]}"
    album_id = ok(c.post("/api/albums", json={"albumName": name, "assetIds": [asset]}), 201)["id"]
    other_id = ok(c.post("/api/albums", json={"albumName": name + "-other"}), 201)["id"]

    # name and id alone filter exactly
    assert [a["id"] for a in ok(c.get("/api/albums", params={"name": name}))] == [album_id]
    assert [a["id"] for a in ok(c.get("/api/albums", params={"id": other_id}))] == [other_id]
    assert ok(c.get("/api/albums", params={"name": name[:-1]})) == []

    assert [a["id"] for a in ok(c.get("/api/albums", params={"assetId": asset}))] == [album_id]
    # Spec (GET /albums, assetId): "Filter albums containing this asset ID (ignores other
    # parameters)"; Immich's AlbumService.getAll calls getByAssetId and drops the rest.
    for extra in (
        {"isShared": "true"},
        {"isOwned": "false"},
        {"name": "no such album"},
        {"id": other_id},
    ):
        got = ok(c.get("/api/albums", params={"assetId": asset, **extra}))
        assert [a["id"] for a in got] == [album_id], (extra, got)


def test_shared_link_allow_upload_defaults_to_true(owner: User) -> None:
    asset = new_asset(owner)
    album_id = ok(owner.client.post("/api/albums", json={"albumName": "up"}), 201)["id"]
    album_link = ok(
        owner.client.post("/api/shared-links", json={"type": "ALBUM", "albumId": album_id}), 201
    )
    # Immich SharedLinkService.create: allowUpload: dto.allowUpload ?? true
    assert album_link["allowUpload"] is True, album_link
    individual = ok(
        owner.client.post("/api/shared-links", json={"type": "INDIVIDUAL", "assetIds": [asset]}),
        201,
    )
    assert individual["allowUpload"] is True, individual
    explicit = ok(
        owner.client.post(
            "/api/shared-links",
            json={"type": "ALBUM", "albumId": album_id, "allowUpload": False},
        ),
        201,
    )
    assert explicit["allowUpload"] is False


def test_shared_link_empty_description_is_null(owner: User) -> None:
    asset = new_asset(owner)
    link = ok(
        owner.client.post(
            "/api/shared-links",
            json={"type": "INDIVIDUAL", "assetIds": [asset], "description": ""},
        ),
        201,
    )
    # Immich SharedLinkService.create: description: dto.description || null
    assert link["description"] is None, link


def test_shared_link_list_filters_by_album_and_id(owner: User) -> None:
    c = owner.client
    a1 = ok(c.post("/api/albums", json={"albumName": "L1"}), 201)["id"]
    a2 = ok(c.post("/api/albums", json={"albumName": "L2"}), 201)["id"]
    l1 = ok(c.post("/api/shared-links", json={"type": "ALBUM", "albumId": a1}), 201)["id"]
    l1b = ok(c.post("/api/shared-links", json={"type": "ALBUM", "albumId": a1}), 201)["id"]
    l2 = ok(c.post("/api/shared-links", json={"type": "ALBUM", "albumId": a2}), 201)["id"]
    everything = {x["id"] for x in ok(c.get("/api/shared-links"))}
    assert {l1, l1b, l2} <= everything
    by_album = {x["id"] for x in ok(c.get("/api/shared-links", params={"albumId": a1}))}
    assert by_album == {l1, l1b}
    by_id = ok(c.get("/api/shared-links", params={"id": l2}))
    assert [x["id"] for x in by_id] == [l2] and by_id[0]["album"]["id"] == a2


def test_album_user_roles_are_stored(owner: User, friend: User) -> None:
    c = owner.client
    album_id = ok(c.post("/api/albums", json={"albumName": "roles"}), 201)["id"]
    album = ok(
        c.put(
            f"/api/albums/{album_id}/users",
            json={"albumUsers": [{"userId": friend.id, "role": "viewer"}]},
        )
    )
    assert [(u["role"], u["user"]["id"]) for u in album["albumUsers"]] == [
        ("owner", owner.id),
        ("viewer", friend.id),
    ]
    asset = new_asset(friend)
    refused = friend.client.put(f"/api/albums/{album_id}/assets", json={"ids": [asset]})
    assert refused.status_code == 400, refused.text  # Immich: BadRequest for a missing access
    assert refused.json()["message"] == "Not found or no albumAsset.create access"
    ok(c.put(f"/api/albums/{album_id}/user/{friend.id}", json={"role": "editor"}), 204)
    roles = [u["role"] for u in ok(c.get(f"/api/albums/{album_id}"))["albumUsers"]]
    assert roles == ["owner", "editor"]
    added = ok(friend.client.put(f"/api/albums/{album_id}/assets", json={"ids": [asset]}))
    assert added == [{"id": asset, "success": True}]
