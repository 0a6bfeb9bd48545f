"""Replays Immich's server/test/medium/specs/sync/sync-auth-user.spec.ts over HTTP.

What is checked: a new user's first ``AuthUsersV1`` stream is one ``AuthUserV1`` line whose
fields match the user as the admin API shows it (``isAdmin``, ``deletedAt`` null, ``pinCode``
null, ``hasProfileImage`` false, ``profileChangedAt`` as an ISO string, ``oauthId``, quota,
storage label), then ``SyncCompleteV1``; once acked nothing comes again; making the user an
admin sends the row again with ``isAdmin`` true. Darkroom deliberately differs on ``pinCode``
when a PIN is set (a marker, never the hash): not exercised here.
"""

from __future__ import annotations

from darkroom_stack.supervisor import Stack

from tests.conftest import User, make_user
from tests.test_sync import Device


def test_first_user_then_a_change(stack: Stack, admin: User) -> None:
    user = make_user(stack, admin)
    shown = admin.client.get(f"/api/admin/users/{user.id}").json()
    phone = Device(stack, user)
    lines = phone.sync(["AuthUsersV1"])
    assert [x["type"] for x in lines] == ["AuthUserV1", "SyncCompleteV1"]
    assert lines[0]["data"] == {
        "id": user.id,
        "isAdmin": False,
        "deletedAt": None,
        "name": shown["name"],
        "avatarColor": None,
        "email": user.email,
        "pinCode": None,
        "hasProfileImage": False,
        "profileChangedAt": shown["profileChangedAt"],
        "oauthId": shown["oauthId"],
        "quotaSizeInBytes": shown["quotaSizeInBytes"],
        "quotaUsageInBytes": shown["quotaUsageInBytes"],
        "storageLabel": shown["storageLabel"],
    }
    phone.ack(lines)
    assert [x["type"] for x in phone.sync(["AuthUsersV1"])] == ["SyncCompleteV1"]

    r = admin.client.put(f"/api/admin/users/{user.id}", json={"isAdmin": True})
    assert r.status_code == 200, r.text
    lines = phone.sync(["AuthUsersV1"])
    assert [x["type"] for x in lines] == ["AuthUserV1", "SyncCompleteV1"]
    assert lines[0]["data"]["id"] == user.id and lines[0]["data"]["isAdmin"] is True
