"""Replays Immich's server/test/medium/specs/sync/sync-album-user.spec.ts over HTTP
(AlbumUsersV1).

Checked, each with fresh users and sessions, for the album's owner and for a member: a member
is an ``AlbumUserV1`` line ``{albumId, userId, role}``; after the acks, a role change is one
``AlbumUserV1`` line with the new role, and taking a member off is one ``AlbumUserDeleteV1``
line ``{albumId, userId}``; acked lines do not come again; joining an album later sends its
other members.

Not compared: the number of lines of a first sync (Darkroom, as Immich 3.x, also sends the
owner as a member with role ``owner``, which the older spec file predates; that row is
positioned with its album, so a change that touches the album sends it again) and the exact
``AlbumUserBackfillV1`` + ``SyncAckV1`` lines of a join (Darkroom sends the members of an album
joined later as ``AlbumUserV1`` lines positioned at the membership).
"""

from __future__ import annotations

from typing import Any

from darkroom_stack.supervisor import Stack

from .conftest import User, make_user
from .test_sync import Device

TYPES = ["AlbumUsersV1"]


def _types(lines: list[dict[str, Any]]) -> list[str]:
    return [line["type"] for line in lines]


def _album(owner: User, *members: User) -> str:
    r = owner.client.post(
        "/api/albums",
        json={
            "albumName": "Medium",
            "albumUsers": [{"userId": m.id, "role": "editor"} for m in members],
        },
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _role(owner: User, album: str, user: User, role: str) -> None:
    r = owner.client.put(f"/api/albums/{album}/user/{user.id}", json={"role": role})
    assert r.status_code in (200, 204), r.text


def _members(lines: list[dict[str, Any]]) -> dict[str, str]:
    return {x["data"]["userId"]: x["data"]["role"] for x in lines if x["type"] == "AlbumUserV1"}


def test_owner_and_member_see_role_changes_and_removals(stack: Stack, admin: User) -> None:
    owner, me, other = (make_user(stack, admin) for _ in range(3))
    album = _album(owner, me, other)
    phones = {"owner": Device(stack, owner), "member": Device(stack, me)}
    for phone in phones.values():
        lines = phone.sync(TYPES)
        assert _members(lines) == {owner.id: "owner", me.id: "editor", other.id: "editor"}
        assert all(set(x["data"]) == {"albumId", "userId", "role"} for x in lines[:-1])
        phone.ack(lines)
        assert _types(phone.sync(TYPES)) == ["SyncCompleteV1"]

    _role(owner, album, other, "viewer")
    for phone in phones.values():
        lines = phone.sync(TYPES)
        assert lines[:-1] == [
            {
                "type": "AlbumUserV1",
                "data": {"albumId": album, "userId": other.id, "role": "viewer"},
                "ack": lines[0]["ack"],
            }
        ], lines
        phone.ack(lines)

    assert owner.client.delete(f"/api/albums/{album}/user/{other.id}").status_code == 204
    for phone in phones.values():
        lines = phone.sync(TYPES)
        # the owner's row is positioned with its album, which the removal touched: it may come
        # again (Darkroom keeps no separate position for it; the app upserts it unchanged)
        changed = [x for x in lines if x["data"].get("role") != "owner"]
        assert _types(changed) == ["AlbumUserDeleteV1", "SyncCompleteV1"], lines
        assert changed[0]["data"] == {"albumId": album, "userId": other.id}
        phone.ack(lines)
        phone.ack(lines)  # a re-sent ack is harmless
        assert _types(phone.sync(TYPES)) == ["SyncCompleteV1"]


def test_joining_later_sends_the_other_members(stack: Stack, admin: User) -> None:
    owner, me, other = (make_user(stack, admin) for _ in range(3))
    first = _album(owner, other)
    second = _album(owner, me)
    phone = Device(stack, me)
    lines = phone.sync(TYPES)
    assert {x["data"]["albumId"] for x in lines[:-1]} == {second}
    phone.ack(lines)

    r = owner.client.put(
        f"/api/albums/{first}/users", json={"albumUsers": [{"userId": me.id, "role": "editor"}]}
    )
    assert r.status_code == 200, r.text
    lines = phone.sync(TYPES)
    assert {x["data"]["albumId"] for x in lines[:-1]} == {first}
    assert _members(lines) == {owner.id: "owner", other.id: "editor", me.id: "editor"}
    phone.ack(lines)
    assert _types(phone.sync(TYPES)) == ["SyncCompleteV1"]
