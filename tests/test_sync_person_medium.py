"""Replays Immich's server/test/medium/specs/sync/sync-person.spec.ts over HTTP (PeopleV1).

Checked, each with fresh users and sessions: a person is a ``PersonV1`` line with the person's
values (``name``, ``ownerId``, ``isHidden``, ``isFavorite``, ``color``, null ``faceAssetId`` and
``birthDate``); one made and deleted before the first sync is one ``PersonDeleteV1``
``{personId}``; another user's person and its deletion never reach the caller, while that
user's own session gets them; acked lines do not come again.
"""

from __future__ import annotations

from typing import Any

from darkroom_stack.supervisor import Stack

from .conftest import User, make_user
from .test_sync import Device

TYPES = ["PeopleV1"]


def _types(lines: list[dict[str, Any]]) -> list[str]:
    return [line["type"] for line in lines]


def _person(user: User, name: str) -> dict[str, Any]:
    r = user.client.post("/api/people", json={"name": name})
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_person_lines(stack: Stack, admin: User) -> None:
    me, other = make_user(stack, admin), make_user(stack, admin)
    gone = _person(me, "Gone")["id"]
    assert me.client.delete(f"/api/people/{gone}").status_code == 204
    theirs = _person(other, "Theirs")["id"]
    made = _person(me, "Ada")
    phone, their_phone = Device(stack, me), Device(stack, other)

    lines = phone.sync(TYPES)
    assert _types(lines) == ["PersonDeleteV1", "PersonV1", "SyncCompleteV1"], lines
    assert lines[0]["data"] == {"personId": gone}
    data = lines[1]["data"]
    assert {k: data[k] for k in ("id", "ownerId", "name", "birthDate", "faceAssetId")} == {
        "id": made["id"],
        "ownerId": me.id,
        "name": "Ada",
        "birthDate": None,
        "faceAssetId": None,
    }
    assert data["isHidden"] is False and data["isFavorite"] is False
    assert data["color"] == made.get("color")
    phone.ack(lines)
    assert _types(phone.sync(TYPES)) == ["SyncCompleteV1"]
    assert _types(their_phone.sync_and_ack(TYPES)) == ["PersonV1", "SyncCompleteV1"]

    assert other.client.delete(f"/api/people/{theirs}").status_code == 204
    assert _types(phone.sync(TYPES)) == ["SyncCompleteV1"]
    assert _types(their_phone.sync(TYPES)) == ["PersonDeleteV1", "SyncCompleteV1"]
