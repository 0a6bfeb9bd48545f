"""Socket.io events Immich's clients listen to that no other test checked, through real sockets.

* ``AssetUploadReadyV2`` (``{asset: SyncAssetV2, exif: SyncAssetExifV1}``, ``duration`` in
  milliseconds) goes with ``on_upload_success`` to the owner's sockets only: Immich 3.x's
  ``JobService.onDone`` (``AssetGenerateThumbnails``) sends it, and the mobile app's
  ``websocket.provider.dart`` batches it into its local database (``syncWebsocketBatchV2``).
* ``AssetEditReadyV1``/``AssetEditReadyV2`` carry ``edit`` as ``SyncAssetEditV1`` items
  (``id, assetId, action, parameters, sequence``: Immich's ``JobService.onDone``,
  ``AssetEditThumbnailGeneration``, sends ``assetEditRepository.getWithSyncInfo``); the app's
  generated ``SyncAssetEditV1.fromJson`` fails on an item without ``assetId`` or ``sequence``.
  V2 has ``asset`` as ``SyncAssetV2``. Neither reaches another user.
* ``on_user_delete`` (the user id) is broadcast to every socket when a user is removed for good
  (Immich ``NotificationService.onUserDelete``, ``clientBroadcast``); the web app drops the user
  from its admin list (``UserAdminDeleted``).
* ``AppRestartV1`` (``{isMaintenanceMode}``) is broadcast when maintenance mode goes on and off
  (Immich ``NotificationService.onAppRestart`` on ``startMaintenance``, and
  ``MaintenanceWorkerService.endMaintenance``); the web app shows the restart and reloads.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from darkroom_stack.supervisor import Stack

from tests.conftest import User, make_user, noise_jpeg, upload_jpeg, wait_processed
from tests.test_socketio import (  # noqa: F401 - sockets is a fixture
    call,
    check_schema,
    connected,
    sockets,
)


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> User:
    """A fresh user, so other modules' uploads do not mix in."""
    return make_user(stack, admin)


async def test_upload_ready_v2_reaches_the_owner_only(
    stack: Stack,
    admin: User,
    owner: User,
    sockets: Any,  # noqa: F811 - the fixture imported above
) -> None:
    mine = await connected(sockets, stack.url, owner)
    stranger = await asyncio.to_thread(make_user, stack, admin)
    theirs = await connected(sockets, stack.url, stranger)
    asset_id = await asyncio.to_thread(upload_jpeg, owner, noise_jpeg(uuid.uuid4().int % 2**31))
    ready = await mine.wait_for("AssetUploadReadyV2", lambda d: d["asset"]["id"] == asset_id)
    check_schema(ready["asset"], "SyncAssetV2")
    check_schema(ready["exif"], "SyncAssetExifV1")
    assert ready["exif"]["assetId"] == asset_id
    # the stranger's own upload arrives after the owner's was dispatched (stream order)
    own = await asyncio.to_thread(upload_jpeg, stranger, noise_jpeg(uuid.uuid4().int % 2**31))
    await theirs.wait_for("AssetUploadReadyV2", lambda d: d["asset"]["id"] == own)
    assert all(d["asset"]["id"] != asset_id for d in theirs.of("AssetUploadReadyV2"))


async def test_edit_ready_carries_sync_asset_edit_items_in_v1_and_v2(
    stack: Stack,
    admin: User,
    owner: User,
    sockets: Any,  # noqa: F811 - the fixture imported above
) -> None:
    mine = await connected(sockets, stack.url, owner)
    stranger = await asyncio.to_thread(make_user, stack, admin)
    theirs = await connected(sockets, stack.url, stranger)
    asset_id = await asyncio.to_thread(upload_jpeg, owner, noise_jpeg(uuid.uuid4().int % 2**31))
    await asyncio.to_thread(wait_processed, owner, [asset_id])
    edits = {
        "edits": [
            {"action": "rotate", "parameters": {"angle": 90}},
            {"action": "mirror", "parameters": {"axis": "horizontal"}},
        ]
    }
    await asyncio.to_thread(call, owner, "PUT", f"/api/assets/{asset_id}/edits", edits)
    for name, asset_schema in (
        ("AssetEditReadyV1", "SyncAssetV1"),
        ("AssetEditReadyV2", "SyncAssetV2"),
    ):
        ready = await mine.wait_for(name, lambda d: d["asset"]["id"] == asset_id)
        check_schema(ready["asset"], asset_schema)
        assert ready["asset"]["isEdited"] is True
        for item in ready["edit"]:
            check_schema(item, "SyncAssetEditV1")
        assert [(e["assetId"], e["sequence"], e["action"]) for e in ready["edit"]] == [
            (asset_id, 0, "rotate"),
            (asset_id, 1, "mirror"),
        ]
    assert [e for e, d in theirs.got if asset_id in repr(d)] == []


async def test_removing_a_user_is_broadcast_as_on_user_delete(
    stack: Stack,
    admin: User,
    owner: User,
    sockets: Any,  # noqa: F811 - the fixture imported above
) -> None:
    bystander = await connected(sockets, stack.url, owner)
    watching_admin = await connected(sockets, stack.url, admin)
    leaving = await asyncio.to_thread(make_user, stack, admin)
    force = {"force": True}
    await asyncio.to_thread(call, admin, "DELETE", f"/api/admin/users/{leaving.id}", force)
    for socket in (bystander, watching_admin):
        assert await socket.wait_for("on_user_delete", lambda d: d == leaving.id) == leaving.id


async def test_maintenance_on_and_off_is_broadcast_as_app_restart(
    stack: Stack,
    admin: User,
    owner: User,
    sockets: Any,  # noqa: F811 - the fixture imported above
) -> None:
    watcher = await connected(sockets, stack.url, owner)
    await asyncio.to_thread(call, admin, "POST", "/api/admin/maintenance", {"action": "start"}, 201)
    try:
        on = await watcher.wait_for("AppRestartV1", lambda d: d["isMaintenanceMode"] is True)
        assert on == {"isMaintenanceMode": True}
    finally:
        end = {"action": "end"}
        await asyncio.to_thread(call, admin, "POST", "/api/admin/maintenance", end, 201)
    off = await watcher.wait_for("AppRestartV1", lambda d: d["isMaintenanceMode"] is False)
    assert off == {"isMaintenanceMode": False}
