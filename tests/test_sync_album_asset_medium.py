"""Replays Immich's server/test/medium/specs/sync/sync-album-asset.spec.ts over HTTP
(AlbumAssetsV1/V2).

Checked, each with fresh users and sessions:

* an asset of another user in an album shared with the caller is an ``AlbumAssetCreateV2``
  line with the asset's values (ids, base64 checksum and thumbhash, ISO dates, ``duration`` in
  ms, nulls) and its favourite hidden (``isFavorite`` false);
* the caller's own asset in their own album is an album asset line too (Immich's
  ``AlbumAssetSync`` selects every asset of the albums the caller sees, owner or not), and so
  is the caller's own asset in an album someone else shares with them, with its favourite;
* an album asset of two other users never reaches the caller;
* joining an album sends its assets once, an asset the owner adds later comes, and an update
  of a shared asset comes again; acked lines do not come back.

Not replayed (Darkroom sends a shared album's content at the join as ``AlbumAssetCreate``
lines, positioned at the membership, rather than Immich's separate ``AlbumAssetBackfillV2`` /
``AlbumAssetUpdateV2`` lines and their ``SyncAckV1`` markers; the app stores all three
alike): the exact backfill/update line types and the ``SyncAckV1`` lines.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from darkroom_stack.supervisor import Stack

from .conftest import User, make_user
from .test_sync import Device, upload_processed

TYPES = ["AlbumAssetsV2"]


def _types(lines: list[dict[str, Any]]) -> list[str]:
    return [line["type"] for line in lines]


def _ids(lines: list[dict[str, Any]], entity_type: str = "AlbumAssetCreateV2") -> list[str]:
    return [x["data"]["id"] for x in lines if x["type"] == entity_type]


def _album(user: User, assets: list[str]) -> str:
    r = user.client.post("/api/albums", json={"albumName": "Medium", "assetIds": assets})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _share(owner: User, album: str, member: User, role: str = "editor") -> None:
    r = owner.client.put(
        f"/api/albums/{album}/users", json={"albumUsers": [{"userId": member.id, "role": role}]}
    )
    assert r.status_code == 200, r.text


@pytest.fixture
def owner(stack: Stack, admin: User) -> User:
    return make_user(stack, admin)


def test_shared_album_asset_values(stack: Stack, admin: User, owner: User) -> None:
    me = make_user(stack, admin)
    asset = upload_processed(owner)
    assert owner.client.put(f"/api/assets/{asset}", json={"isFavorite": True}).status_code == 200
    album = _album(owner, [asset])
    _share(owner, album, me, "viewer")
    phone = Device(stack, me)

    lines = phone.sync(TYPES)
    assert _types(lines) == ["AlbumAssetCreateV2", "SyncCompleteV1"], lines
    got = owner.client.get(f"/api/assets/{asset}").json()
    assert lines[0]["data"] == {
        "id": asset,
        "ownerId": owner.id,
        "originalFileName": "gen.jpg",
        "thumbhash": got["thumbhash"],
        "checksum": got["checksum"],
        "fileCreatedAt": got["fileCreatedAt"],
        "fileModifiedAt": got["fileModifiedAt"],
        "localDateTime": got["localDateTime"],
        "createdAt": got["createdAt"],
        "deletedAt": None,
        "duration": None,
        "type": "IMAGE",
        "visibility": "timeline",
        "isFavorite": False,  # the owner's favourite is theirs alone
        "isEdited": False,
        "livePhotoVideoId": None,
        "stackId": None,
        "libraryId": None,
        "width": 64,
        "height": 48,
    }
    assert len(base64.b64decode(lines[0]["data"]["checksum"])) == 20
    phone.ack(lines)
    assert _types(phone.sync(TYPES)) == ["SyncCompleteV1"]


def test_own_assets_in_albums_are_album_assets(stack: Stack, admin: User, owner: User) -> None:
    """Immich: 'should sync album asset for own user' and 'should sync isFavorite for album
    assets owned by the requesting user'."""
    me = make_user(stack, admin)
    in_own = upload_processed(me)
    _album(me, [in_own])
    in_shared = upload_processed(me)
    assert me.client.put(f"/api/assets/{in_shared}", json={"isFavorite": True}).status_code == 200
    album = _album(owner, [])
    _share(owner, album, me)
    r = me.client.put(f"/api/albums/{album}/assets", json={"ids": [in_shared]})
    assert r.status_code == 200, r.text
    phone = Device(stack, me)

    assert _types(phone.sync(["AssetsV2"])).count("AssetV2") == 2
    lines = phone.sync(TYPES)
    assert sorted(_ids(lines)) == sorted([in_own, in_shared]), lines
    favourite = {x["data"]["id"]: x["data"]["isFavorite"] for x in lines[:-1]}
    assert favourite == {in_own: False, in_shared: True}
    assert all(x["data"]["ownerId"] == me.id for x in lines[:-1])
    phone.ack(lines)
    assert _types(phone.sync(TYPES)) == ["SyncCompleteV1"]


def test_unrelated_album_assets_never_come(stack: Stack, admin: User, owner: User) -> None:
    me = make_user(stack, admin)
    third = make_user(stack, admin)
    asset = upload_processed(third)
    album = _album(owner, [])
    _share(owner, album, third)
    r = third.client.put(f"/api/albums/{album}/assets", json={"ids": [asset]})
    assert r.status_code == 200, r.text
    assert _types(Device(stack, me).sync(TYPES)) == ["SyncCompleteV1"]


def test_join_then_additions_and_updates(stack: Stack, admin: User, owner: User) -> None:
    me = make_user(stack, admin)
    first, second, third = (upload_processed(owner) for _ in range(3))
    album1 = _album(owner, [second])
    album2 = _album(owner, [first, second])
    _share(owner, album1, me)
    phone = Device(stack, me)

    lines = phone.sync(TYPES)
    assert _ids(lines) == [second], lines
    phone.ack(lines)

    _share(owner, album2, me)  # joining sends what the caller did not have yet
    lines = phone.sync(TYPES)
    assert first in _ids(lines) and lines[-1]["type"] == "SyncCompleteV1", lines
    phone.ack(lines)
    assert _types(phone.sync(TYPES)) == ["SyncCompleteV1"]

    r = owner.client.put(f"/api/albums/{album2}/assets", json={"ids": [third]})
    assert r.status_code == 200, r.text
    lines = phone.sync(TYPES)
    assert _ids(lines) == [third], lines
    phone.ack(lines)

    r = owner.client.put(f"/api/assets/{first}", json={"description": "after"})
    assert r.status_code == 200, r.text
    r = owner.client.put(f"/api/assets/{second}", json={"dateTimeOriginal": "2021-02-03T04:05:06Z"})
    assert r.status_code == 200, r.text
    lines = phone.sync(TYPES)
    assert second in _ids(lines), lines
    phone.ack(lines)
    phone.ack(lines)  # a re-sent ack is harmless
    assert _types(phone.sync(TYPES)) == ["SyncCompleteV1"]
