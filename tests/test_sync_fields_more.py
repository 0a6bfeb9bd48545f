"""Sync stream and acks: behaviours of Immich's sync that the Immich app relies on and no other
test checks.

* ``AlbumUsersV1`` carries each album's owner as an ``AlbumUserV1`` row with role ``owner``,
  for the owner and for every member, as a change positioned with the album (Immich 3.x keeps
  the owner as an ``album_user`` row, so sync.repository ``AlbumUserSync.getUpserts`` streams
  it like any member; the app's ``SyncStreamRepository.updateAlbumsV2`` stores no owner, since
  ``SyncAlbumV2`` has no ``ownerId``, and its album list joins on that owner row). A user who
  does not see the album gets neither row.
* ``POST /api/sync/ack`` with a ``SyncResetV1`` ack resets the session's sync: its checkpoints
  go and its pending reset is cleared, and the other acks of that request are not stored
  (Immich sync.service ``setAcks`` -> session.repository ``resetSyncProgress``, then returns).
  The app never streams with ``reset: true``: mobile ``SyncStreamService.sync`` acks the
  ``SyncResetV1`` line and streams again, which must then be a full sync, not another reset.
  Another session of the same user keeps its checkpoints.
"""

from __future__ import annotations

from typing import Any

import pytest
from darkroom_stack.supervisor import Stack

from .conftest import User, make_user
from .test_sync import Device


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> User:
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def member(stack: Stack, admin: User) -> User:
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def stranger(stack: Stack, admin: User) -> User:
    return make_user(stack, admin)


def _album_users(lines: list[dict[str, Any]], album_id: str) -> dict[str, str]:
    """userId -> role of the album's AlbumUserV1 lines."""
    return {
        line["data"]["userId"]: line["data"]["role"]
        for line in lines
        if line["type"] == "AlbumUserV1" and line["data"]["albumId"] == album_id
    }


def _types(lines: list[dict[str, Any]]) -> list[str]:
    return [line["type"] for line in lines]


def test_album_users_carry_the_owner(
    stack: Stack, owner: User, member: User, stranger: User
) -> None:
    types = ["UsersV1", "AlbumsV2", "AlbumUsersV1"]
    owners_phone = Device(stack, owner)
    owners_phone.ack(owners_phone.sync(types))
    r = owner.client.post("/api/albums", json={"albumName": "Owned"})
    assert r.status_code == 201, r.text
    album_id = r.json()["id"]

    lines = owners_phone.sync(types)
    assert _album_users(lines, album_id) == {owner.id: "owner"}
    owner_line = next(x for x in lines if x["type"] == "AlbumUserV1")
    assert set(owner_line["data"]) == {"albumId", "userId", "role"}
    # the album before its users (the app's foreign keys)
    assert _types(lines).index("AlbumV2") < _types(lines).index("AlbumUserV1")
    owners_phone.ack(lines)
    assert _types(owners_phone.sync(types)) == ["SyncCompleteV1"]

    members_phone = Device(stack, member)
    members_phone.ack(members_phone.sync(types))
    r = owner.client.put(
        f"/api/albums/{album_id}/users",
        json={"albumUsers": [{"userId": member.id, "role": "viewer"}]},
    )
    assert r.status_code == 200, r.text
    lines = members_phone.sync(types)
    assert _album_users(lines, album_id) == {owner.id: "owner", member.id: "viewer"}
    assert _album_users(owners_phone.sync(types), album_id)[member.id] == "viewer"

    # someone the album is not shared with gets neither row
    assert _album_users(Device(stack, stranger).sync(types), album_id) == {}


def test_reset_ack_starts_the_session_over(stack: Stack, member: User) -> None:
    phone = Device(stack, member)
    tablet = Device(stack, member)
    types = ["AuthUsersV1"]
    phone.ack(phone.sync(types))
    tablet.ack(tablet.sync(types))
    assert _types(phone.sync(types)) == ["SyncCompleteV1"]

    sessions = phone.client.get("/api/sessions").json()
    current = next(s["id"] for s in sessions if s["current"])
    r = phone.client.put(f"/api/sessions/{current}", json={"isPendingSyncReset": True})
    assert r.status_code == 200, r.text
    lines = phone.sync(types)
    assert _types(lines) == ["SyncResetV1"]

    # the app acks the reset line (with whatever else it holds) and streams again, no reset flag
    r = phone.client.post("/api/sync/ack", json={"acks": [lines[0]["ack"], "AuthUserV1|1|x"]})
    assert r.status_code == 204, r.text
    assert phone.client.get("/api/sync/ack").json() == []
    sessions = phone.client.get("/api/sessions").json()
    assert next(s for s in sessions if s["id"] == current)["isPendingSyncReset"] is False
    lines = phone.sync(types)
    assert _types(lines) == ["AuthUserV1", "SyncCompleteV1"]
    assert lines[0]["data"]["id"] == member.id

    # the other session of the same user keeps its checkpoints
    assert {a["type"] for a in tablet.client.get("/api/sync/ack").json()} >= {"AuthUserV1"}
    assert _types(tablet.sync(types)) == ["SyncCompleteV1"]
