"""Replays Immich's server/test/medium/specs/sync/sync-partner-stack.spec.ts over HTTP
(PartnerStacksV1).

Checked, each with fresh users and sessions: a sharer's stack has the ``StackV1`` fields; one
deleted before the first sync is a ``PartnerStackDeleteV1`` ``{stackId}``; the caller's own
stacks and those of a user who shares with nobody never come as partner stacks (nor their
deletions); a sharer deleted for good sends nothing; a first sync sends a sharer's stacks as
``PartnerStackV1``; a partnership made after the caller's checkpoint back-fills the stacks up
to it (``PartnerStackBackfillV1``, before the upserts, then a ``SyncAckV1``) and sends newer
ones as
``PartnerStackV1``. (The deletions when a partnership ends: tests/test_stacks.py.)

Left as Darkroom does it: ending a partnership sends ``PartnerStackDeleteV1`` for the sharer's
stacks (Immich sends none).
"""

from __future__ import annotations

from typing import Any

from darkroom_stack.supervisor import Stack

from .conftest import User, make_user
from .test_sync import Device, upload_processed

TYPES = ["PartnerStacksV1"]


def _types(lines: list[dict[str, Any]]) -> list[str]:
    return [line["type"] for line in lines]


def _stack(user: User) -> str:
    assets = [upload_processed(user), upload_processed(user)]
    r = user.client.post("/api/stacks", json={"assetIds": assets})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _partner(by: User, with_: User) -> None:
    r = by.client.post("/api/partners", json={"sharedWithId": with_.id})
    assert r.status_code == 201, r.text


def test_partner_stack_lines(stack: Stack, admin: User) -> None:
    me, sharer, stranger = (make_user(stack, admin) for _ in range(3))
    _partner(sharer, me)
    kept, gone = _stack(sharer), _stack(sharer)
    assert sharer.client.delete(f"/api/stacks/{gone}").status_code == 204
    mine, theirs = _stack(me), _stack(stranger)
    phone = Device(stack, me)

    lines = phone.sync(TYPES)
    assert [(x["type"], x["data"].get("id") or x["data"]["stackId"]) for x in lines[:-1]] == [
        ("PartnerStackDeleteV1", gone),
        ("PartnerStackV1", kept),
    ], lines
    assert lines[0]["data"] == {"stackId": gone}
    assert set(lines[1]["data"]) == {"id", "ownerId", "primaryAssetId", "createdAt", "updatedAt"}
    assert lines[1]["data"]["ownerId"] == sharer.id
    phone.ack(lines)
    assert _types(phone.sync(TYPES)) == ["SyncCompleteV1"]

    assert me.client.delete(f"/api/stacks/{mine}").status_code == 204
    assert stranger.client.delete(f"/api/stacks/{theirs}").status_code == 204
    assert _types(phone.sync(TYPES)) == ["SyncCompleteV1"]


def test_backfill_then_purged_sharer(stack: Stack, admin: User) -> None:
    me, sharer, later = (make_user(stack, admin) for _ in range(3))
    old = _stack(later)
    first = _stack(sharer)
    middle = _stack(later)
    _partner(sharer, me)
    phone = Device(stack, me)
    lines = phone.sync(TYPES)
    assert [(x["type"], x["data"]["id"]) for x in lines[:-1]] == [("PartnerStackV1", first)]
    phone.ack(lines)

    _partner(later, me)
    lines = phone.sync(TYPES)
    assert [(x["type"], x["data"].get("id")) for x in lines[:-1]] == [
        ("PartnerStackBackfillV1", old),
        ("SyncAckV1", None),
        ("PartnerStackV1", middle),
    ], lines
    assert lines[1]["ack"].startswith("PartnerStackBackfillV1|")
    phone.ack(lines)
    assert _types(phone.sync(TYPES)) == ["SyncCompleteV1"]

    r = admin.client.request("DELETE", f"/api/admin/users/{sharer.id}", json={"force": True})
    assert r.status_code == 200, r.text
    assert _types(phone.sync(TYPES)) == ["SyncCompleteV1"]
