"""Replays Immich's server/test/medium/specs/sync/sync-user-metadata.spec.ts over HTTP.

What is checked: setting onboarding (PUT /api/users/me/onboarding) comes as one
``UserMetadataV1`` ``{key: "onboarding", userId, value: {isOnboarded: true}}``; acked, nothing
comes again; changing it sends the new value; deleting it (DELETE /api/users/me/onboarding)
comes as ``UserMetadataDeleteV1`` ``{userId, key}``.
"""

from __future__ import annotations

from darkroom_stack.supervisor import Stack

from tests.conftest import User, make_user
from tests.test_sync import Device


def _data(lines: list[dict]) -> list[tuple[str, dict]]:
    assert lines[-1]["type"] == "SyncCompleteV1"
    return [(x["type"], x["data"]) for x in lines[:-1]]


def test_onboarding_set_updated_deleted(stack: Stack, admin: User) -> None:
    user = make_user(stack, admin)
    phone = Device(stack, user)
    key = "onboarding"
    assert user.client.put("/api/users/me/onboarding", json={"isOnboarded": True}).is_success
    lines = phone.sync(["UserMetadataV1"])
    assert _data(lines) == [
        ("UserMetadataV1", {"key": key, "userId": user.id, "value": {"isOnboarded": True}})
    ]
    phone.ack(lines)
    assert _data(phone.sync(["UserMetadataV1"])) == []

    assert user.client.put("/api/users/me/onboarding", json={"isOnboarded": False}).is_success
    lines = phone.sync(["UserMetadataV1"])
    assert _data(lines) == [
        ("UserMetadataV1", {"key": key, "userId": user.id, "value": {"isOnboarded": False}})
    ]
    phone.ack(lines)

    assert user.client.delete("/api/users/me/onboarding").status_code == 204
    lines = phone.sync(["UserMetadataV1"])
    assert _data(lines) == [("UserMetadataDeleteV1", {"userId": user.id, "key": key})]
    phone.ack(lines)
    assert _data(phone.sync(["UserMetadataV1"])) == []
