"""Replays Immich's server/test/medium/specs/sync/sync-asset-exif.spec.ts over HTTP.

What is checked: a user's asset EXIF comes as one ``AssetExifV1`` line with the REST API's
values, ``description`` the empty string when none was written (Immich's column default) and
``profileDescription`` null; once acked it does not come again; a partner's EXIF never comes
in the caller's own ``AssetExifsV1`` (only its owner's stream has it).
"""

from __future__ import annotations

from darkroom_stack.supervisor import Stack

from tests.conftest import User, make_user
from tests.test_sync import Device, upload_processed


def test_own_exif_only(stack: Stack, admin: User) -> None:
    user, sharer = make_user(stack, admin), make_user(stack, admin)
    r = sharer.client.post("/api/partners", json={"sharedWithId": user.id})
    assert r.status_code == 201, r.text
    theirs = upload_processed(sharer)
    asset_id = upload_processed(user)
    exif = user.client.get(f"/api/assets/{asset_id}").json()["exifInfo"]

    phone = Device(stack, user)
    lines = phone.sync(["AssetExifsV1"])
    assert [x["type"] for x in lines] == ["AssetExifV1", "SyncCompleteV1"]
    data = lines[0]["data"]
    assert data["assetId"] == asset_id
    assert data["description"] == ""
    assert data["profileDescription"] is None
    assert data["fileSizeInByte"] == exif["fileSizeInByte"]
    assert data["exifImageWidth"] == exif["exifImageWidth"]
    assert data["make"] is None and data["dateTimeOriginal"] == exif["dateTimeOriginal"]
    phone.ack(lines)
    assert [x["type"] for x in phone.sync(["AssetExifsV1"])] == ["SyncCompleteV1"]

    other = Device(stack, sharer).sync(["AssetExifsV1"])
    assert [x["data"]["assetId"] for x in other[:-1]] == [theirs]
