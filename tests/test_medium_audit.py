"""Replays Immich's server/test/medium/specs/services/audit.database.spec.ts over HTTP.

Checked here: an EXIF row that changes gets a new sync position (Immich's ``exif`` trigger sets
``updatedAt`` and ``updateId`` on update), so a device that acked the asset's ``AssetExifV1``
gets it again, once, with the new value. The spec's cascade checks (a purged user's partners,
stacks and assets write no audit rows) are seen through the sync stream by
tests/test_sync_partner_medium.py and tests/test_sync_partner_asset_medium.py.
"""

from __future__ import annotations

from darkroom_stack.supervisor import Stack

from tests.conftest import User, make_user
from tests.test_sync import Device, upload_processed


def test_an_updated_exif_row_is_synced_again(stack: Stack, admin: User) -> None:
    user = make_user(stack, admin)
    asset_id = upload_processed(user)
    phone = Device(stack, user)
    first = phone.sync_and_ack(["AssetExifsV1"])
    assert [x["type"] for x in first] == ["AssetExifV1", "SyncCompleteV1"]

    r = user.client.put(f"/api/assets/{asset_id}", json={"description": "Canon 2"})
    assert r.status_code == 200, r.text
    again = phone.sync(["AssetExifsV1"])
    assert [x["type"] for x in again] == ["AssetExifV1", "SyncCompleteV1"], again
    assert again[0]["data"]["assetId"] == asset_id
    assert again[0]["data"]["description"] == "Canon 2"
    assert again[0]["ack"] != first[0]["ack"]
