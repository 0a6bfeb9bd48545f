"""Sync stream rows: the VALUES of their fields, as Immich 3.1 sends them (which rows are sent
and when is covered by tests/test_sync.py, test_sync_types.py and test_sync_fields_more.py).

* A favourite is its owner's: a partner's asset comes with ``isFavorite: false``
  (``PartnerAssetV2``, ``PartnerAssetBackfillV2``, and the V1 forms), and so does another
  member's asset in a shared album (``AlbumAssetCreateV2``/``V1``); the owner's own ``AssetV2``
  keeps it (Immich sync.repository ``PartnerAssetsSync.getBackfill``/``getUpserts`` select
  ``false AS isFavorite``, ``AlbumAssetSync`` selects the favourite only where the asset's
  owner is the caller, as asset-response.dto ``mapAsset`` answers the REST API). A stranger
  gets none of these rows.
* ``avatarColor`` of ``UserV1`` and ``AuthUserV1`` is the stored colour, null when the user
  never chose one (Immich ``columns.syncUser`` selects ``avatarColor`` as stored; the mobile
  app's ``SyncStreamRepository.updateUsersV1`` shows ``primary`` for null), and the chosen
  colour once set (PUT /api/users/me with ``avatarColor``).
* ``PersonV1.birthDate`` is a date-time as Immich writes a ``date`` column read back as a
  JavaScript ``Date``: midnight UTC with milliseconds, ``1990-05-01T00:00:00.000Z`` (sync.dto
  ``SyncPersonV1.birthDate``; the server's ``JSON.stringify``).
"""

from __future__ import annotations

from typing import Any

import pytest
from darkroom_stack.supervisor import Stack

from .conftest import User, db_rows, make_user, noise_jpeg, upload_jpeg, wait_processed
from .test_sync import Device


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> User:
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def viewer(stack: Stack, admin: User) -> User:
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def stranger(stack: Stack, admin: User) -> User:
    return make_user(stack, admin)


def _by_type(lines: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """type -> id -> data of the asset lines."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for line in lines:
        if "id" in line["data"]:
            out.setdefault(line["type"], {})[line["data"]["id"]] = line["data"]
    return out


def test_a_favourite_is_its_owners_alone(
    stack: Stack, owner: User, viewer: User, stranger: User
) -> None:
    favourite = upload_jpeg(owner, noise_jpeg(9101))
    plain = upload_jpeg(owner, noise_jpeg(9102))
    later = upload_jpeg(owner, noise_jpeg(9103))
    wait_processed(owner, [favourite, plain, later])
    for asset_id in (favourite, later):
        r = owner.client.put(f"/api/assets/{asset_id}", json={"isFavorite": True})
        assert r.status_code == 200, r.text
    # the viewer is a partner of the owner and a member of an album holding the favourite
    r = owner.client.post(f"/api/partners/{viewer.id}", json={})
    assert r.status_code == 201, r.text
    r = owner.client.post(
        "/api/albums",
        json={
            "albumName": "Favourites",
            "assetIds": [favourite, plain],
            "albumUsers": [{"userId": viewer.id, "role": "viewer"}],
        },
    )
    assert r.status_code == 201, r.text

    types = ["AssetsV2", "PartnerAssetsV2", "AlbumAssetsV2", "PartnerAssetsV1", "AlbumAssetsV1"]
    mine = _by_type(Device(stack, owner).sync(["AssetsV2"]))
    assert mine["AssetV2"][favourite]["isFavorite"] is True
    assert mine["AssetV2"][plain]["isFavorite"] is False

    phone = Device(stack, viewer)
    lines = phone.sync(types)
    got = _by_type(lines)
    # a first sync: the partner's assets are upserts (no checkpoint, nothing to back-fill)
    for kind in ("PartnerAssetV2", "AlbumAssetCreateV2", "AlbumAssetCreateV1"):
        assert favourite in got[kind], (kind, got.keys())
        assert got[kind][favourite]["isFavorite"] is False, kind
    # the partner's favourite as the REST API answers it to the viewer
    seen = viewer.client.get(f"/api/assets/{favourite}")
    assert seen.status_code == 200 and seen.json()["isFavorite"] is False, seen.text
    phone.ack(lines)

    # a change after the partnership: PartnerAssetV2 (and V1) carry no favourite either
    r = owner.client.put(f"/api/assets/{later}", json={"isFavorite": False})
    assert r.status_code == 200, r.text
    r = owner.client.put(f"/api/assets/{later}", json={"isFavorite": True})
    assert r.status_code == 200, r.text
    got = _by_type(phone.sync(types))
    assert got["PartnerAssetV2"][later]["isFavorite"] is False
    assert got["PartnerAssetV1"][later]["isFavorite"] is False

    # a stranger sees none of the owner's assets
    theirs = _by_type(Device(stack, stranger).sync(types))
    assert not any(
        asset_id in rows for rows in theirs.values() for asset_id in (favourite, plain, later)
    )


def test_avatar_color_is_the_stored_one(stack: Stack, admin: User) -> None:
    user = make_user(stack, admin)
    stored = db_rows(stack, "SELECT avatar_color FROM users WHERE id = $1::uuid", user.id)
    assert stored[0][0] is None
    phone = Device(stack, user)
    lines = phone.sync(["AuthUsersV1", "UsersV1"])
    auth = next(x["data"] for x in lines if x["type"] == "AuthUserV1")
    listed = next(x["data"] for x in lines if x["type"] == "UserV1" and x["data"]["id"] == user.id)
    assert auth["avatarColor"] is None and listed["avatarColor"] is None
    phone.ack(lines)

    r = user.client.put("/api/users/me", json={"avatarColor": "amber"})
    assert r.status_code == 200, r.text
    lines = phone.sync(["AuthUsersV1", "UsersV1"])
    auth = next(x["data"] for x in lines if x["type"] == "AuthUserV1")
    listed = next(x["data"] for x in lines if x["type"] == "UserV1" and x["data"]["id"] == user.id)
    assert auth["avatarColor"] == "amber" and listed["avatarColor"] == "amber"


def test_person_birth_date_is_an_immich_instant(stack: Stack, owner: User) -> None:
    r = owner.client.post("/api/people", json={"name": "Born", "birthDate": "1990-05-01"})
    assert r.status_code == 201, r.text
    person_id = r.json()["id"]
    r = owner.client.post("/api/people", json={"name": "Unknown"})
    assert r.status_code == 201, r.text
    unknown_id = r.json()["id"]
    people = _by_type(Device(stack, owner).sync(["PeopleV1"]))["PersonV1"]
    assert people[person_id]["birthDate"] == "1990-05-01T00:00:00.000Z"
    assert people[unknown_id]["birthDate"] is None
