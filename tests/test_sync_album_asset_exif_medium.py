"""Replays Immich's server/test/medium/specs/sync/sync-album-asset-exif.spec.ts over HTTP
(AlbumAssetExifsV1).

Checked, each with fresh users and sessions: the EXIF of an asset in an album shared with the
caller is an ``AlbumAssetExifCreateV1`` line with exactly the ``SyncAssetExifV1`` fields and the
asset's values; the caller's own asset in their own album has one too (Immich's
``AlbumAssetExifSync`` does not filter by owner); the EXIF of an album asset of two other users
never reaches the caller; joining another album sends the EXIF the caller did not have yet;
acked lines do not come again.

Not replayed: the exact ``AlbumAssetExifBackfillV1`` + ``SyncAckV1`` lines of a join (Darkroom
sends them as ``AlbumAssetExifCreateV1`` lines positioned at the membership).
"""

from __future__ import annotations

from typing import Any

from darkroom_stack.supervisor import Stack

from .conftest import User, make_user
from .test_sync import SPEC_FIELDS, Device, upload_processed

TYPES = ["AlbumAssetExifsV1"]


def _types(lines: list[dict[str, Any]]) -> list[str]:
    return [line["type"] for line in lines]


def _album(user: User, assets: list[str], *members: User) -> str:
    r = user.client.post(
        "/api/albums",
        json={
            "albumName": "Medium",
            "assetIds": assets,
            "albumUsers": [{"userId": m.id, "role": "editor"} for m in members],
        },
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _asset_ids(lines: list[dict[str, Any]]) -> set[str]:
    return {x["data"]["assetId"] for x in lines if x["type"] == "AlbumAssetExifCreateV1"}


def test_album_asset_exif_lines(stack: Stack, admin: User) -> None:
    me, other, third = (make_user(stack, admin) for _ in range(3))
    mine = upload_processed(me)
    _album(me, [mine])
    shared, later = upload_processed(other), upload_processed(other)
    _album(other, [shared], me)
    _album(other, [upload_processed(third)], third)  # not the caller's business
    phone = Device(stack, me)

    lines = phone.sync(TYPES)
    assert lines[-1]["type"] == "SyncCompleteV1"
    assert _asset_ids(lines) == {mine, shared}, lines
    assert len(lines) == 3
    exif = next(x["data"] for x in lines if x["data"].get("assetId") == shared)
    assert set(exif) == SPEC_FIELDS["AssetExifV1"]
    info = other.client.get(f"/api/assets/{shared}").json()["exifInfo"]
    assert (exif["exifImageWidth"], exif["exifImageHeight"]) == (64, 48)
    assert exif["fileSizeInByte"] == info["fileSizeInByte"]
    assert exif["profileDescription"] is None and exif["make"] == info["make"]
    phone.ack(lines)
    assert _types(phone.sync(TYPES)) == ["SyncCompleteV1"]

    _album(other, [later, shared], me)
    lines = phone.sync(TYPES)
    assert later in _asset_ids(lines) and lines[-1]["type"] == "SyncCompleteV1", lines
    phone.ack(lines)
    assert _types(phone.sync(TYPES)) == ["SyncCompleteV1"]
