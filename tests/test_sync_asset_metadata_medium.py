"""Replays Immich's server/test/medium/specs/sync/sync-asset-metadata.spec.ts over HTTP.

What is checked: asset metadata written through PUT /api/assets/{id}/metadata comes as one
``AssetMetadataV1`` ``{assetId, key, value}``; acked, it does not come again; writing the key
again sends the new value, once; deleting it comes as ``AssetMetadataDeleteV1`` ``{assetId,
key}``. Not replayed: the NSFW cases (``ml-enrichment`` metadata, ``hideNsfwAssets``), a fork's
feature absent from the 3.1 spec. (Upload metadata, other users: tests/test_sync_types.py.)
"""

from __future__ import annotations

from darkroom_stack.supervisor import Stack

from tests.conftest import User, make_user
from tests.test_sync import Device, upload_processed


def _data(lines: list[dict]) -> list[tuple[str, dict]]:
    assert lines[-1]["type"] == "SyncCompleteV1"
    return [(x["type"], x["data"]) for x in lines[:-1]]


def _put(user: User, asset_id: str, value: dict) -> None:
    r = user.client.put(
        f"/api/assets/{asset_id}/metadata",
        json={"items": [{"key": "mobile-app", "value": value}]},
    )
    assert r.status_code == 200, r.text


def test_metadata_new_updated_deleted(stack: Stack, admin: User) -> None:
    user = make_user(stack, admin)
    asset_id = upload_processed(user)
    phone = Device(stack, user)
    _put(user, asset_id, {"iCloudId": "abc123"})
    lines = phone.sync(["AssetMetadataV1"])
    assert _data(lines) == [
        (
            "AssetMetadataV1",
            {"assetId": asset_id, "key": "mobile-app", "value": {"iCloudId": "abc123"}},
        )
    ]
    phone.ack(lines)
    assert _data(phone.sync(["AssetMetadataV1"])) == []

    _put(user, asset_id, {"iCloudId": "abc456"})
    lines = phone.sync(["AssetMetadataV1"])
    assert _data(lines) == [
        (
            "AssetMetadataV1",
            {"assetId": asset_id, "key": "mobile-app", "value": {"iCloudId": "abc456"}},
        )
    ]
    phone.ack(lines)

    assert user.client.delete(f"/api/assets/{asset_id}/metadata/mobile-app").status_code == 204
    lines = phone.sync(["AssetMetadataV1"])
    assert _data(lines) == [("AssetMetadataDeleteV1", {"assetId": asset_id, "key": "mobile-app"})]
    phone.ack(lines)
    assert _data(phone.sync(["AssetMetadataV1"])) == []
