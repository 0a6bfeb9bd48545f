"""Replays Immich's server/test/medium/specs/sync/sync-reset.spec.ts over HTTP.

What is checked: a session marked ``isPendingSyncReset`` (PUT /api/sessions/{id}) gets exactly
one line, ``{"type": "SyncResetV1", "data": {}, "ack": "SyncResetV1|reset"}`` (the ack as
Immich's ``toAck`` writes it), and none of the changes it asked for; streaming with ``reset:
true`` clears the pending reset and sends everything again; acking the reset line forgets the
session's progress, so the next plain stream is a full one.
"""

from __future__ import annotations

from darkroom_stack.supervisor import Stack

from tests.conftest import User, make_user
from tests.test_sync import Device, upload_processed

RESET_LINE = {"type": "SyncResetV1", "data": {}, "ack": "SyncResetV1|reset"}


def _types(lines: list[dict]) -> list[str]:
    return [line["type"] for line in lines]


def _mark_pending(device: Device) -> None:
    sessions = device.client.get("/api/sessions").json()
    current = next(s["id"] for s in sessions if s["current"])
    r = device.client.put(f"/api/sessions/{current}", json={"isPendingSyncReset": True})
    assert r.status_code == 200, r.text


def test_pending_reset_sends_only_the_reset_line(stack: Stack, admin: User) -> None:
    user = make_user(stack, admin)
    upload_processed(user)
    phone = Device(stack, user)
    assert _types(phone.sync(["AssetsV2"])) == ["AssetV2", "SyncCompleteV1"]
    _mark_pending(phone)
    assert phone.sync(["AssetsV2"]) == [RESET_LINE]
    # reset: true clears the pending reset and streams from the beginning
    assert _types(phone.sync(["AssetsV2"], reset=True)) == ["AssetV2", "SyncCompleteV1"]


def test_acking_the_reset_line_resets_the_progress(stack: Stack, admin: User) -> None:
    user = make_user(stack, admin)
    asset_id = upload_processed(user)
    phone = Device(stack, user)
    phone.ack(phone.sync(["AssetsV2"]))
    assert _types(phone.sync(["AssetsV2"])) == ["SyncCompleteV1"]
    _mark_pending(phone)
    reset = phone.sync(["AssetsV2"])
    assert reset == [RESET_LINE]
    phone.ack(reset)
    again = phone.sync(["AssetsV2"])
    assert _types(again) == ["AssetV2", "SyncCompleteV1"]
    assert again[0]["data"]["id"] == asset_id
