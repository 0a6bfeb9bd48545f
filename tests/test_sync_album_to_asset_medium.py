"""Replays Immich's server/test/medium/specs/sync/sync-album-to-asset.spec.ts over HTTP
(AlbumToAssetsV1).

Checked, each with fresh users and sessions: an album-asset link is an ``AlbumToAssetV1`` line
whose data is exactly ``{"albumId", "assetId"}``, for the caller's own album, for an album
shared with them holding another user's asset, and for their own asset in an album shared with
them; an unshared album of another user gives nothing; removing the asset from the album, and
deleting the asset for good, each give one ``AlbumToAssetDeleteV1`` with the same data;
deleting the album gives no ``AlbumToAssetDeleteV1`` (its ``AlbumDeleteV1`` tells it); acked
lines do not come again.

Not replayed: the NSFW case (a fork's ``hideNsfwAssets``), and the exact
``AlbumToAssetBackfillV1`` + ``SyncAckV1`` lines of a join (Darkroom sends the links of an album
joined later as ``AlbumToAssetV1`` lines positioned at the membership).
"""

from __future__ import annotations

from typing import Any

from darkroom_stack.supervisor import Stack

from .conftest import User, make_user
from .test_sync import Device, upload_processed

TYPES = ["AlbumToAssetsV1"]


def _types(lines: list[dict[str, Any]]) -> list[str]:
    return [line["type"] for line in lines]


def _album(user: User, assets: list[str]) -> str:
    r = user.client.post("/api/albums", json={"albumName": "Medium", "assetIds": assets})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _share(owner: User, album: str, member: User) -> None:
    r = owner.client.put(
        f"/api/albums/{album}/users", json={"albumUsers": [{"userId": member.id, "role": "editor"}]}
    )
    assert r.status_code == 200, r.text


def _data(lines: list[dict[str, Any]], entity_type: str) -> list[dict[str, Any]]:
    return [x["data"] for x in lines if x["type"] == entity_type]


def test_links_of_own_and_shared_albums(stack: Stack, admin: User) -> None:
    me = make_user(stack, admin)
    other = make_user(stack, admin)
    theirs = upload_processed(other)
    mine = upload_processed(me)
    mine_in_theirs = upload_processed(me)
    _album(other, [theirs])  # never shared: never seen
    own_album = _album(me, [mine])
    shared = _album(other, [theirs])
    _share(other, shared, me)
    r = me.client.put(f"/api/albums/{shared}/assets", json={"ids": [mine_in_theirs]})
    assert r.status_code == 200, r.text
    phone = Device(stack, me)

    lines = phone.sync(TYPES)
    assert lines[-1]["type"] == "SyncCompleteV1"
    got = _data(lines, "AlbumToAssetV1")
    assert sorted(got, key=str) == sorted(
        [
            {"albumId": own_album, "assetId": mine},
            {"albumId": shared, "assetId": theirs},
            {"albumId": shared, "assetId": mine_in_theirs},
        ],
        key=str,
    ), lines
    phone.ack(lines)
    assert _types(phone.sync(TYPES)) == ["SyncCompleteV1"]


def test_removed_link_deleted_asset_and_deleted_album(stack: Stack, admin: User) -> None:
    me = make_user(stack, admin)
    removed, deleted, kept = (upload_processed(me) for _ in range(3))
    album = _album(me, [removed, deleted])
    other_album = _album(me, [kept])
    phone = Device(stack, me)
    phone.ack(phone.sync(TYPES))

    r = me.client.request("DELETE", f"/api/albums/{album}/assets", json={"ids": [removed]})
    assert r.status_code == 200, r.text
    lines = phone.sync(TYPES)
    assert _types(lines) == ["AlbumToAssetDeleteV1", "SyncCompleteV1"], lines
    assert lines[0]["data"] == {"albumId": album, "assetId": removed}
    phone.ack(lines)

    r = me.client.request("DELETE", "/api/assets", json={"ids": [deleted], "force": True})
    assert r.status_code == 204, r.text
    lines = phone.sync(TYPES)
    assert _types(lines) == ["AlbumToAssetDeleteV1", "SyncCompleteV1"], lines
    assert lines[0]["data"] == {"albumId": album, "assetId": deleted}
    phone.ack(lines)

    assert me.client.delete(f"/api/albums/{other_album}").status_code == 204
    assert _types(phone.sync(TYPES)) == ["SyncCompleteV1"]
