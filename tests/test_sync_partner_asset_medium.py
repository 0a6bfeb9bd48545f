"""Replays Immich's server/test/medium/specs/sync/sync-partner-asset.spec.ts over HTTP
(PartnerAssetsV1).

Checked, each with fresh users and sessions:

* a sharer's asset, even one older than the partnership, is a ``PartnerAssetV1`` line on a
  session's first sync (no checkpoint: nothing to back-fill), with the asset's values and
  ``isFavorite`` false; acked, it does not come again;
* a sharer's asset deleted for good is a ``PartnerAssetDeleteV1`` line ``{assetId}``;
* the caller's own assets, and assets of a user who shares with nobody, never come as partner
  assets (nor their deletions);
* a sharer deleted for good sends no partner asset lines (Immich's asset audit trigger skips
  cascades);
* a partnership made after the caller's checkpoint back-fills the sharer's assets up to that
  checkpoint (``PartnerAssetBackfillV1``, before the upserts, closed by a ``SyncAckV1`` line
  whose ack is of the backfill type), and sends the newer ones as
  ``PartnerAssetV1`` (Immich: 'should only backfill partner assets created prior to the current
  partner asset checkpoint').

Left as Darkroom does it: ending a partnership sends a ``PartnerAssetDeleteV1`` for each of the
sharer's assets (Immich sends only the ``PartnerDeleteV1``).
"""

from __future__ import annotations

from typing import Any

from darkroom_stack.supervisor import Stack

from .conftest import User, make_user
from .test_sync import Device, upload_processed

TYPES = ["PartnerAssetsV1"]


def _types(lines: list[dict[str, Any]]) -> list[str]:
    return [line["type"] for line in lines]


def _partner(by: User, with_: User) -> None:
    r = by.client.post("/api/partners", json={"sharedWithId": with_.id})
    assert r.status_code == 201, r.text


def _ids(lines: list[dict[str, Any]]) -> list[str]:
    return [x["data"].get("id") or x["data"]["assetId"] for x in lines[:-1]]


def test_partner_asset_values_and_delete(stack: Stack, admin: User) -> None:
    me, sharer = make_user(stack, admin), make_user(stack, admin)
    asset = upload_processed(sharer)
    assert sharer.client.put(f"/api/assets/{asset}", json={"isFavorite": True}).status_code == 200
    _partner(sharer, me)
    phone = Device(stack, me)

    lines = phone.sync(TYPES)
    assert _types(lines) == ["PartnerAssetV1", "SyncCompleteV1"], lines
    got = sharer.client.get(f"/api/assets/{asset}").json()
    data = lines[0]["data"]
    assert data["id"] == asset and data["ownerId"] == sharer.id
    assert data["isFavorite"] is False and data["deletedAt"] is None
    for field in ("checksum", "thumbhash", "fileCreatedAt", "fileModifiedAt", "localDateTime"):
        assert data[field] == got[field], field
    assert data["duration"] is None and data["type"] == "IMAGE"
    phone.ack(lines)
    assert _types(phone.sync(TYPES)) == ["SyncCompleteV1"]

    r = sharer.client.request("DELETE", "/api/assets", json={"ids": [asset], "force": True})
    assert r.status_code == 204, r.text
    lines = phone.sync(TYPES)
    assert lines[:-1] == [
        {"type": "PartnerAssetDeleteV1", "data": {"assetId": asset}, "ack": lines[0]["ack"]}
    ], lines
    phone.ack(lines)
    assert _types(phone.sync(TYPES)) == ["SyncCompleteV1"]


def test_own_and_unrelated_assets_never_come(stack: Stack, admin: User) -> None:
    me, sharer, stranger = (make_user(stack, admin) for _ in range(3))
    _partner(sharer, me)
    mine, theirs = upload_processed(me), upload_processed(stranger)
    phone = Device(stack, me)
    assert _types(phone.sync(TYPES)) == ["SyncCompleteV1"]
    for user, asset in ((me, mine), (stranger, theirs)):
        r = user.client.request("DELETE", "/api/assets", json={"ids": [asset], "force": True})
        assert r.status_code == 204, r.text
    assert _types(phone.sync(TYPES)) == ["SyncCompleteV1"]


def test_no_partner_asset_lines_for_a_purged_sharer(stack: Stack, admin: User) -> None:
    me, sharer = make_user(stack, admin), make_user(stack, admin)
    _partner(sharer, me)
    upload_processed(sharer)
    r = admin.client.request("DELETE", f"/api/admin/users/{sharer.id}", json={"force": True})
    assert r.status_code == 200, r.text
    assert _types(Device(stack, me).sync(TYPES)) == ["SyncCompleteV1"]


def test_new_partner_backfills_earlier_assets(stack: Stack, admin: User) -> None:
    me, first, second = (make_user(stack, admin) for _ in range(3))
    old = upload_processed(second)
    current = upload_processed(first)
    middle = upload_processed(second)
    _partner(first, me)
    phone = Device(stack, me)
    lines = phone.sync(TYPES)
    assert _types(lines) == ["PartnerAssetV1", "SyncCompleteV1"], lines
    assert _ids(lines) == [current]
    phone.ack(lines)

    _partner(second, me)
    lines = phone.sync(TYPES)
    assert _types(lines) == [
        "PartnerAssetBackfillV1",
        "SyncAckV1",
        "PartnerAssetV1",
        "SyncCompleteV1",
    ], lines
    assert lines[1]["data"] == {} and lines[1]["ack"].startswith("PartnerAssetBackfillV1|")
    assert [lines[0]["data"]["id"], lines[2]["data"]["id"]] == [old, middle]
    phone.ack(lines[1:2])  # the backfill's SyncAckV1 alone closes it, as in Immich's test
    assert _ids(phone.sync(TYPES)) == [middle]
    phone.ack(lines)
    assert _types(phone.sync(TYPES)) == ["SyncCompleteV1"]
    newer = upload_processed(second)
    lines = phone.sync(TYPES)
    assert _types(lines)[-1] == "SyncCompleteV1" and set(_ids(lines)) == {newer}, lines
    assert set(_types(lines)[:-1]) == {"PartnerAssetV1"}
    phone.ack(lines)
    assert _types(phone.sync(TYPES)) == ["SyncCompleteV1"]
