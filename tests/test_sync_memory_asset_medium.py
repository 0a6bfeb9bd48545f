"""Replays Immich's server/test/medium/specs/sync/sync-memory-asset.spec.ts over HTTP
(MemoryToAssetsV1).

Checked, each with fresh users and sessions: a memory's asset is a ``MemoryToAssetV1`` line
exactly ``{memoryId, assetId}``; a link made and removed before the first sync is one
``MemoryToAssetDeleteV1`` with the same fields; another user's links and their removal never
reach the caller, while that user's own session gets them; acked lines do not come again.
"""

from __future__ import annotations

from typing import Any

from darkroom_stack.supervisor import Stack

from .conftest import User, make_user
from .test_sync import Device, upload_processed

TYPES = ["MemoryToAssetsV1"]


def _types(lines: list[dict[str, Any]]) -> list[str]:
    return [line["type"] for line in lines]


def _memory(user: User, assets: list[str]) -> str:
    r = user.client.post(
        "/api/memories",
        json={
            "type": "on_this_day",
            "data": {"year": 2020},
            "memoryAt": "2020-06-01T00:00:00.000Z",
            "assetIds": assets,
        },
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _unlink(user: User, memory: str, asset: str) -> None:
    r = user.client.request("DELETE", f"/api/memories/{memory}/assets", json={"ids": [asset]})
    assert r.status_code == 200, r.text


def test_memory_asset_lines(stack: Stack, admin: User) -> None:
    me, other = make_user(stack, admin), make_user(stack, admin)
    kept, removed = upload_processed(me), upload_processed(me)
    memory = _memory(me, [kept, removed])
    _unlink(me, memory, removed)
    theirs = upload_processed(other)
    their_memory = _memory(other, [theirs])
    phone, their_phone = Device(stack, me), Device(stack, other)

    lines = phone.sync(TYPES)
    assert [(x["type"], x["data"]) for x in lines[:-1]] == [
        ("MemoryToAssetDeleteV1", {"memoryId": memory, "assetId": removed}),
        ("MemoryToAssetV1", {"memoryId": memory, "assetId": kept}),
    ], lines
    assert lines[-1]["type"] == "SyncCompleteV1"
    phone.ack(lines)
    phone.ack(lines)  # a re-sent ack is harmless
    assert _types(phone.sync(TYPES)) == ["SyncCompleteV1"]
    assert _types(their_phone.sync_and_ack(TYPES)) == ["MemoryToAssetV1", "SyncCompleteV1"]

    _unlink(other, their_memory, theirs)
    assert _types(phone.sync(TYPES)) == ["SyncCompleteV1"]
    assert _types(their_phone.sync(TYPES)) == ["MemoryToAssetDeleteV1", "SyncCompleteV1"]
