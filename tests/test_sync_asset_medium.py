"""Replays Immich's server/test/medium/specs/sync/sync-asset.spec.ts over HTTP.

What is checked: a user's first asset comes as one ``AssetV2`` line whose every field matches
what the REST API says of the asset (ids, base64 checksum and thumbhash, dates as Immich's ISO
strings, null duration/stack/live photo/library for a still image, its size, ``isEdited``),
then ``SyncCompleteV1``; once acked, nothing comes again; a permanent delete comes as
``AssetDeleteV1`` ``{assetId}`` alone (also when the asset was deleted before the first
sync); another user's assets and deletes never appear. Not
replayed: the NSFW cases (``hideNsfwAssets``, ``ml-enrichment`` metadata), a fork's feature
absent from the 3.1 spec.
"""

from __future__ import annotations

from darkroom_stack.supervisor import Stack

from tests.conftest import User, make_user
from tests.test_sync import Device, upload_processed


def _types(lines: list[dict]) -> list[str]:
    return [line["type"] for line in lines]


def test_first_asset_then_its_deletion(stack: Stack, admin: User) -> None:
    user = make_user(stack, admin)
    asset_id = upload_processed(user)
    rest = user.client.get(f"/api/assets/{asset_id}").json()
    phone = Device(stack, user)
    lines = phone.sync(["AssetsV2"])
    assert _types(lines) == ["AssetV2", "SyncCompleteV1"]
    assert lines[0]["data"] == {
        "id": asset_id,
        "ownerId": user.id,
        "originalFileName": rest["originalFileName"],
        "thumbhash": rest["thumbhash"],
        "checksum": rest["checksum"],
        "fileCreatedAt": rest["fileCreatedAt"],
        "fileModifiedAt": rest["fileModifiedAt"],
        "localDateTime": rest["localDateTime"],
        "createdAt": rest["createdAt"],
        "deletedAt": None,
        "isFavorite": False,
        "type": "IMAGE",
        "visibility": "timeline",
        "duration": None,
        "stackId": None,
        "livePhotoVideoId": None,
        "libraryId": None,
        "width": rest["width"],
        "height": rest["height"],
        "isEdited": False,
    }
    phone.ack(lines)
    assert _types(phone.sync(["AssetsV2"])) == ["SyncCompleteV1"]

    stranger = Device(stack, make_user(stack, admin))
    assert _types(stranger.sync(["AssetsV2"])) == ["SyncCompleteV1"]
    r = user.client.request("DELETE", "/api/assets", json={"ids": [asset_id], "force": True})
    assert r.status_code == 204, r.text
    lines = phone.sync(["AssetsV2"])
    assert [(x["type"], x["data"]) for x in lines[:-1]] == [
        ("AssetDeleteV1", {"assetId": asset_id})
    ]
    assert lines[-1]["type"] == "SyncCompleteV1"
    phone.ack(lines)
    phone.ack(lines)  # a re-sent ack is harmless
    assert _types(phone.sync(["AssetsV2"])) == ["SyncCompleteV1"]
    assert _types(stranger.sync(["AssetsV2"])) == ["SyncCompleteV1"]


def test_asset_deleted_before_the_first_sync(stack: Stack, admin: User) -> None:
    user = make_user(stack, admin)
    asset_id = upload_processed(user)
    r = user.client.request("DELETE", "/api/assets", json={"ids": [asset_id], "force": True})
    assert r.status_code == 204, r.text
    phone = Device(stack, user)
    lines = phone.sync(["AssetsV2"])
    assert [(x["type"], x["data"]) for x in lines] == [
        ("AssetDeleteV1", {"assetId": asset_id}),
        ("SyncCompleteV1", {}),
    ]
    phone.ack(lines)
    assert _types(phone.sync(["AssetsV2"])) == ["SyncCompleteV1"]
