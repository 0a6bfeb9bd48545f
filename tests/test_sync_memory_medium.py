"""Replays Immich's server/test/medium/specs/sync/sync-memory.spec.ts over HTTP (MemoriesV1).

Checked, each with fresh users and sessions: a memory is a ``MemoryV1`` line with exactly the
``SyncMemoryV1`` fields and its values (``data`` as given, ``deletedAt``/``hideAt``/``showAt``/
``seenAt`` null, ISO dates); one made and deleted before the first sync is one
``MemoryDeleteV1`` ``{memoryId}``; marking it seen sends it again with ``seenAt``; another
user's memory and its deletion never reach the caller; acked lines do not come again.
"""

from __future__ import annotations

from typing import Any

from darkroom_stack.supervisor import Stack

from .conftest import User, make_user
from .test_sync import Device

TYPES = ["MemoriesV1"]


def _types(lines: list[dict[str, Any]]) -> list[str]:
    return [line["type"] for line in lines]


def _memory(user: User, year: int = 2020) -> dict[str, Any]:
    r = user.client.post(
        "/api/memories",
        json={
            "type": "on_this_day",
            "data": {"year": year},
            "memoryAt": f"{year}-06-01T00:00:00.000Z",
        },
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_memory_lines(stack: Stack, admin: User) -> None:
    me, other = make_user(stack, admin), make_user(stack, admin)
    gone = _memory(me, 2019)["id"]
    assert me.client.delete(f"/api/memories/{gone}").status_code == 204
    theirs = _memory(other)["id"]
    made = _memory(me)
    phone = Device(stack, me)

    lines = phone.sync(TYPES)
    assert _types(lines) == ["MemoryDeleteV1", "MemoryV1", "SyncCompleteV1"], lines
    assert lines[0]["data"] == {"memoryId": gone}
    assert lines[1]["data"] == {
        "id": made["id"],
        "ownerId": me.id,
        "type": "on_this_day",
        "data": {"year": 2020},
        "memoryAt": made["memoryAt"],
        "createdAt": made["createdAt"],
        "updatedAt": made["updatedAt"],
        "deletedAt": None,
        "hideAt": None,
        "showAt": None,
        "seenAt": None,
        "isSaved": False,
    }
    phone.ack(lines)
    assert _types(phone.sync(TYPES)) == ["SyncCompleteV1"]

    seen = "2024-01-02T03:04:05.000Z"
    r = me.client.put(f"/api/memories/{made['id']}", json={"seenAt": seen})
    assert r.status_code == 200, r.text
    assert other.client.delete(f"/api/memories/{theirs}").status_code == 204
    lines = phone.sync(TYPES)
    assert _types(lines) == ["MemoryV1", "SyncCompleteV1"], lines
    assert (lines[0]["data"]["id"], lines[0]["data"]["seenAt"]) == (made["id"], seen)
    phone.ack(lines)
    phone.ack(lines)  # a re-sent ack is harmless
    assert _types(phone.sync(TYPES)) == ["SyncCompleteV1"]
