"""Replays Immich's server/test/medium/specs/sync/sync-user.spec.ts over HTTP.

What is checked: the caller's own ``UserV1`` line (``deletedAt`` null, email, name); acked, it
does not come again; a name change sends the row again with the new name, once. (Soft-deleted
and purged users: tests/test_sync_deleted_users.py.)
"""

from __future__ import annotations

from darkroom_stack.supervisor import Stack

from tests.conftest import User, make_user
from tests.test_sync import Device


def _mine(lines: list[dict], user_id: str) -> list[dict]:
    return [x["data"] for x in lines if x["type"] == "UserV1" and x["data"]["id"] == user_id]


def test_user_then_an_update(stack: Stack, admin: User) -> None:
    user = make_user(stack, admin)
    phone = Device(stack, user)
    lines = phone.sync(["UsersV1"])
    assert lines[-1]["type"] == "SyncCompleteV1"
    [me] = _mine(lines, user.id)
    assert (me["deletedAt"], me["email"]) == (None, user.email)
    phone.ack(lines)
    assert _mine(phone.sync(["UsersV1"]), user.id) == []

    r = user.client.put("/api/users/me", json={"name": "new name"})
    assert r.status_code == 200, r.text
    lines = phone.sync(["UsersV1"])
    assert [d["name"] for d in _mine(lines, user.id)] == ["new name"]
    phone.ack(lines)
    assert _mine(phone.sync(["UsersV1"]), user.id) == []
