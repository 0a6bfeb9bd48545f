"""Replays Immich's server/test/medium/specs/sync/sync-complete.spec.ts over HTTP.

What is checked: a new session with nothing to sync gets only ``SyncCompleteV1`` (``data``
``{}``); acking it (and acking it again) leaves the stream complete, and the checkpoint is
listed by GET /api/sync/ack. Not replayed: the 60-day / 7-day checkpoint cases, which forge an
Immich ack (a UUIDv7 update id); Darkroom's acks carry transaction positions, and a too-old
checkpoint is one older than the pruned deletion audit (tests/test_sync_types.py).
"""

from __future__ import annotations

from darkroom_stack.supervisor import Stack

from tests.conftest import User, make_user
from tests.test_sync import Device


def test_nothing_to_sync_is_complete(stack: Stack, admin: User) -> None:
    phone = Device(stack, make_user(stack, admin))
    lines = phone.sync(["AssetsV2"])
    assert [(x["type"], x["data"]) for x in lines] == [("SyncCompleteV1", {})]
    assert lines[0]["ack"].startswith("SyncCompleteV1|")
    phone.ack(lines)
    phone.ack(lines)
    assert phone.client.get("/api/sync/ack").json() == [
        {"type": "SyncCompleteV1", "ack": lines[0]["ack"]}
    ]
    assert [x["type"] for x in phone.sync(["AssetsV2"])] == ["SyncCompleteV1"]
