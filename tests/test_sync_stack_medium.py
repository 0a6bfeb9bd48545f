"""Replays Immich's server/test/medium/specs/sync/sync-stack.spec.ts over HTTP (StacksV1).

Checked, each with fresh users and sessions: a stack is a ``StackV1`` line exactly ``{id,
ownerId, primaryAssetId, createdAt, updatedAt}`` (dates as ISO strings), then
``SyncCompleteV1``; a stack made and deleted before the first sync is one ``StackDeleteV1``
``{stackId}``; a new primary asset sends the stack again; another user's stack, and its
deletion, never reach the caller; acked lines do not come again. (The asset lines' ``stackId``
and a stack's deletion after a first sync: tests/test_stacks.py.)
"""

from __future__ import annotations

import re
from typing import Any

from darkroom_stack.supervisor import Stack

from .conftest import User, make_user
from .test_sync import Device, upload_processed

TYPES = ["StacksV1"]
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def _types(lines: list[dict[str, Any]]) -> list[str]:
    return [line["type"] for line in lines]


def _stack(user: User, *assets: str) -> str:
    r = user.client.post("/api/stacks", json={"assetIds": list(assets)})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_stack_lines(stack: Stack, admin: User) -> None:
    me, other = make_user(stack, admin), make_user(stack, admin)
    a1, a2, a3, a4 = (upload_processed(me) for _ in range(4))
    gone = _stack(me, a3, a4)
    assert me.client.delete(f"/api/stacks/{gone}").status_code == 204
    theirs = _stack(other, upload_processed(other), upload_processed(other))
    made = _stack(me, a1, a2)
    phone = Device(stack, me)

    lines = phone.sync(TYPES)
    assert _types(lines) == ["StackDeleteV1", "StackV1", "SyncCompleteV1"], lines
    assert lines[0]["data"] == {"stackId": gone}
    data = lines[1]["data"]
    assert set(data) == {"id", "ownerId", "primaryAssetId", "createdAt", "updatedAt"}
    assert (data["id"], data["ownerId"], data["primaryAssetId"]) == (made, me.id, a1)
    assert ISO.match(data["createdAt"]) and ISO.match(data["updatedAt"]), data
    phone.ack(lines)
    assert _types(phone.sync(TYPES)) == ["SyncCompleteV1"]

    r = me.client.put(f"/api/stacks/{made}", json={"primaryAssetId": a2})
    assert r.status_code == 200, r.text
    assert other.client.delete(f"/api/stacks/{theirs}").status_code == 204
    lines = phone.sync(TYPES)
    assert _types(lines) == ["StackV1", "SyncCompleteV1"], lines
    assert (lines[0]["data"]["id"], lines[0]["data"]["primaryAssetId"]) == (made, a2)
    phone.ack(lines)
    phone.ack(lines)  # a re-sent ack is harmless
    assert _types(phone.sync(TYPES)) == ["SyncCompleteV1"]
