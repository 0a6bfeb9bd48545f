"""Replays Immich's server/test/medium/specs/services/asset-media.service.spec.ts over HTTP.

Checked here (what no other test module covers):

* ``POST /api/assets`` through an individual shared link that allows uploads: the new asset
  joins the link (Immich: asset-media.service ``uploadAsset`` -> ``addToSharedLink``); a
  duplicate answers ``status: duplicate`` with the existing id, which the link then holds once.
* The same through an album link with a duplicate: ``duplicate`` and the album holds the
  existing asset once.

Not replayed: ``bulkUploadCheck`` through a shared link (a later Immich than 3.1: its spec gives
``checkBulkUpload`` no ``key`` parameter, so a link caller gets 403 there, as here);
``viewThumbnail`` original/edited (tests/test_asset_edits.py covers it).
"""

from __future__ import annotations

import uuid

import httpx
import pytest
from darkroom_stack.supervisor import Stack

from .conftest import User, make_user, noise_jpeg, upload_jpeg
from .test_e2e_shared_link import link as shared_link

_seed = iter(range(32_000, 32_100))


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> User:
    """A fresh user, so assets from other test files do not mix in."""
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def anon(stack: Stack) -> httpx.Client:
    return httpx.Client(base_url=stack.url, timeout=60)


def _send(anon: httpx.Client, key: str, data: bytes) -> httpx.Response:
    return anon.post(
        "/api/assets",
        params={"key": key},
        files={"assetData": ("visitor.jpg", data, "image/jpeg")},
        data={
            "deviceAssetId": uuid.uuid4().hex,
            "deviceId": "WEB",
            "fileCreatedAt": "2021-01-01T00:00:00.000Z",
            "fileModifiedAt": "2021-01-01T00:00:00.000Z",
        },
    )


def _link_assets(owner: User, link_id: str) -> list[str]:
    r = owner.client.get(f"/api/shared-links/{link_id}")
    assert r.status_code == 200, r.text
    return [a["id"] for a in r.json()["assets"]]


def test_upload_through_an_individual_link_joins_it(owner: User, anon: httpx.Client) -> None:
    first = upload_jpeg(owner, noise_jpeg(next(_seed)))
    link = shared_link(owner, type="INDIVIDUAL", assetIds=[first], allowUpload=True)
    r = _send(anon, link["key"], noise_jpeg(next(_seed)))
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "created"
    assert sorted(_link_assets(owner, link["id"])) == sorted([first, r.json()["id"]])

    data = noise_jpeg(next(_seed))
    existing = upload_jpeg(owner, data)
    other = shared_link(owner, type="INDIVIDUAL", assetIds=[existing], allowUpload=True)
    r = _send(anon, other["key"], data)
    assert r.status_code == 200, r.text
    assert r.json() == {"id": existing, "status": "duplicate"}
    assert _link_assets(owner, other["id"]) == [existing]


def test_duplicate_upload_through_an_album_link(owner: User, anon: httpx.Client) -> None:
    data = noise_jpeg(next(_seed))
    existing = upload_jpeg(owner, data)
    r = owner.client.post("/api/albums", json={"albumName": "link", "assetIds": [existing]})
    assert r.status_code == 201, r.text
    album_id = r.json()["id"]
    link = shared_link(owner, type="ALBUM", albumId=album_id, allowUpload=True)
    r = _send(anon, link["key"], data)
    assert r.status_code == 200, r.text
    assert r.json() == {"id": existing, "status": "duplicate"}
    album = owner.client.get(f"/api/albums/{album_id}").json()
    assert album["assetCount"] == 1, album
