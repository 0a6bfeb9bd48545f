"""Replays Immich's server/test/medium/specs/sync/sync-album.spec.ts over HTTP (AlbumsV1).

Checked, each with a fresh user and a fresh session:

* an own album is one ``AlbumV1`` line with the album's values (``name``, ``ownerId``, an empty
  ``description``, null ``thumbnailAssetId``, ISO dates), then ``SyncCompleteV1``; once acked
  only ``SyncCompleteV1`` comes, and acking the same lines again changes nothing;
* deleting it is one ``AlbumDeleteV1`` line whose data is exactly ``{"albumId": ...}``;
* an album another user shares with the caller (before the first sync or after it) comes as
  ``AlbumV1``; its deletion by its owner and an unshare each come as ``AlbumDeleteV1``;
* an album of another user that is not shared with the caller never appears.

Not replayed: the NSFW thumbnail case (a fork's ``hideNsfwAssets``, absent from the 3.1 spec).
"""

from __future__ import annotations

from typing import Any

import pytest
from darkroom_stack.supervisor import Stack

from .conftest import User, make_user
from .test_sync import Device

TYPES = ["AlbumsV1"]


def _types(lines: list[dict[str, Any]]) -> list[str]:
    return [line["type"] for line in lines]


def _assert_complete(phone: Device) -> None:
    """Immich's ``assertSyncIsComplete``: nothing but the complete line is left."""
    assert _types(phone.sync(TYPES)) == ["SyncCompleteV1"]


@pytest.fixture
def owner(stack: Stack, admin: User) -> User:
    return make_user(stack, admin)


def _album(user: User, name: str = "Medium") -> str:
    r = user.client.post("/api/albums", json={"albumName": name})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _share(owner: User, album: str, member: User, role: str = "editor") -> None:
    r = owner.client.put(
        f"/api/albums/{album}/users", json={"albumUsers": [{"userId": member.id, "role": role}]}
    )
    assert r.status_code == 200, r.text


def test_own_album_then_its_delete(stack: Stack, admin: User) -> None:
    me = make_user(stack, admin)
    stranger = make_user(stack, admin)
    _album(stranger, "not mine")
    album = _album(me, "Holiday")
    phone = Device(stack, me)

    lines = phone.sync(TYPES)
    assert _types(lines) == ["AlbumV1", "SyncCompleteV1"], lines
    data = lines[0]["data"]
    got = me.client.get(f"/api/albums/{album}").json()
    assert data == {
        "id": album,
        "name": "Holiday",
        "ownerId": me.id,
        "description": "",
        "createdAt": got["createdAt"],
        "updatedAt": got["updatedAt"],
        "thumbnailAssetId": None,
        "isActivityEnabled": True,
        "order": "desc",
    }
    phone.ack(lines)
    _assert_complete(phone)
    phone.ack(lines)  # a re-sent ack is harmless
    _assert_complete(phone)

    assert me.client.delete(f"/api/albums/{album}").status_code == 204
    lines = phone.sync(TYPES)
    assert lines[:-1] == [
        {"type": "AlbumDeleteV1", "data": {"albumId": album}, "ack": lines[0]["ack"]}
    ], lines
    assert lines[-1]["type"] == "SyncCompleteV1"
    phone.ack(lines)
    _assert_complete(phone)


def test_shared_albums_come_and_go(stack: Stack, admin: User, owner: User) -> None:
    me = make_user(stack, admin)
    before = _album(owner, "shared before")
    _share(owner, before, me)
    mine = _album(me, "mine")
    after = _album(owner, "shared after")
    phone = Device(stack, me)

    lines = phone.sync(TYPES)
    assert _types(lines) == ["AlbumV1", "AlbumV1", "SyncCompleteV1"], lines
    assert {x["data"]["id"] for x in lines[:-1]} == {before, mine}
    assert next(x for x in lines if x["data"].get("id") == before)["data"]["ownerId"] == owner.id
    phone.ack(lines)
    _assert_complete(phone)

    _share(owner, after, me)
    lines = phone.sync(TYPES)
    assert _types(lines) == ["AlbumV1", "SyncCompleteV1"], lines
    assert lines[0]["data"]["id"] == after
    phone.ack(lines)
    _assert_complete(phone)

    # the owner deletes one, and takes the caller off the other: both are album deletes
    assert owner.client.delete(f"/api/albums/{before}").status_code == 204
    assert owner.client.delete(f"/api/albums/{after}/user/{me.id}").status_code == 204
    lines = phone.sync(TYPES)
    assert _types(lines) == ["AlbumDeleteV1", "AlbumDeleteV1", "SyncCompleteV1"], lines
    assert [x["data"] for x in lines[:-1]] == [{"albumId": before}, {"albumId": after}]
    phone.ack(lines)
    _assert_complete(phone)
