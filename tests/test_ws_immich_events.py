"""Socket.io server events that no other module checks, as Immich 3.1 sends them.

What each test checks, and where Immich does it:

* Trashing several assets in one ``DELETE /api/assets`` is one ``on_asset_trash`` with every id
  of the request, to the owner (asset.service ``deleteAll`` emits ``AssetTrashAll`` with
  ``dto.ids``; notification.service ``onAssetsTrash`` sends them as they are); emptying the
  trash then sends one ``on_asset_delete`` (an asset id, a bare string) per asset
  (trash.service ``empty`` queues the empty-trash job; asset.service ``handleAssetDeletion``
  emits ``AssetDelete`` for each; notification.service ``onAssetDelete`` sends it). Another
  user's socket gets none of it.
* Deleting a live photo's still for good deletes its motion video too, and each is announced
  with its own ``on_asset_delete`` (asset.service ``handleAssetDeletion`` queues the deletion
  of ``livePhotoVideoId`` when no other still names it, and that job emits ``AssetDelete``).
* Editing the description sends ``on_asset_update`` with the asset as it is now: its
  ``exifInfo.description`` is the new text and no ``owner`` is in it (asset.service ``update``
  queues the sidecar write; its re-extraction, source ``sidecar-write``, makes
  notification.service ``onAssetMetadataExtracted`` send ``mapAsset`` of
  ``getByIdsWithAllRelationsButStacks``: exif, faces with people, tags, no owner, no stack).
* An upload the timelines do not show (``visibility: hidden``) is not announced: neither
  ``on_upload_success`` nor ``AssetUploadReadyV1`` (job.service ``onDone`` after
  ``AssetGenerateThumbnails`` sends them only for ``timeline`` and ``archive``).
* An asset moved to the locked folder is announced (``on_asset_update``) to its owner only,
  never to a partner or an album member: Immich sends every ``on_asset_update`` to the owner
  alone (``clientSend(..., ownerId, ...)``), and Darkroom's wider asset audience (partners,
  album members, docs/realtime.md) must not show them a locked asset.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from darkroom_stack.supervisor import Stack

from tests.conftest import User, db_rows, make_user, noise_jpeg, upload_jpeg, wait_processed
from tests.test_socketio import (  # noqa: F401 - sockets is a fixture
    Everything,
    call,
    check_schema,
    connected,
    login_token,
    sockets,
)


async def _fresh_assets(user: User, count: int) -> list[str]:
    ids = [
        await asyncio.to_thread(upload_jpeg, user, noise_jpeg(uuid.uuid4().int % 2**32))
        for _ in range(count)
    ]
    await asyncio.to_thread(wait_processed, user, ids)
    return ids


async def _sentinel(socket: Everything, user: User) -> None:
    """Upload one more asset of ``user`` and wait for its ``on_upload_success`` on ``socket``:
    every event published before it has been dispatched by then (stream order)."""
    (last,) = await _fresh_assets(user, 1)
    await socket.wait_for("on_upload_success", lambda d: d["id"] == last)


async def test_batch_trash_is_one_event_and_emptying_sends_one_delete_per_asset(
    stack: Stack,
    admin: User,
    sockets: Any,  # noqa: F811 - the fixture imported above
) -> None:
    owner, stranger = [await asyncio.to_thread(make_user, stack, admin) for _ in range(2)]
    mine = await connected(sockets, stack.url, owner)
    theirs = await connected(sockets, stack.url, stranger)
    ids = await _fresh_assets(owner, 2)

    await asyncio.to_thread(call, owner, "DELETE", "/api/assets", {"ids": ids}, 204)
    assert await mine.wait_for("on_asset_trash", lambda d: set(d) == set(ids)) == ids
    emptied = await asyncio.to_thread(call, owner, "POST", "/api/trash/empty", None, 200)
    assert emptied == {"count": 2}
    for asset_id in ids:
        await mine.wait_for("on_asset_delete", lambda d, a=asset_id: d == a)
    assert len(mine.of("on_asset_trash")) == 1
    assert sorted(mine.of("on_asset_delete")) == sorted(ids)

    await _sentinel(theirs, stranger)
    assert [e for e, d in theirs.got if any(i in str(d) for i in ids)] == []


async def test_deleting_a_live_photo_announces_its_motion_part_deleted_too(
    stack: Stack,
    admin: User,
    sockets: Any,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> None:
    from tests.test_live_photo_upload import _clip, _post

    owner = await asyncio.to_thread(make_user, stack, admin)
    mine = await connected(sockets, stack.url, owner)
    video = await asyncio.to_thread(_post, owner, "R1.MOV", _clip(tmp_path / "r1.mp4", 5))
    (still,) = await _fresh_assets(owner, 1)
    link = {"livePhotoVideoId": video["id"]}
    await asyncio.to_thread(call, owner, "PUT", f"/api/assets/{still}", link)
    await mine.wait_for("on_asset_hidden", lambda d: d == video["id"])

    purge = {"ids": [still], "force": True}
    await asyncio.to_thread(call, owner, "DELETE", "/api/assets", purge, 204)
    await mine.wait_for("on_asset_delete", lambda d: d == still)
    await mine.wait_for("on_asset_delete", lambda d: d == video["id"])


async def test_description_edit_sends_the_asset_with_its_new_exif(
    stack: Stack,
    admin: User,
    sockets: Any,  # noqa: F811 - the fixture imported above
) -> None:
    owner = await asyncio.to_thread(make_user, stack, admin)
    mine = await connected(sockets, stack.url, owner)
    (asset_id,) = await _fresh_assets(owner, 1)
    text = f"described {uuid.uuid4().hex[:8]}"
    body = {"description": text}
    await asyncio.to_thread(call, owner, "PUT", f"/api/assets/{asset_id}", body)
    got = await mine.wait_for(
        "on_asset_update",
        lambda d: d["id"] == asset_id and (d.get("exifInfo") or {}).get("description") == text,
    )
    check_schema(got, "AssetResponseDto")
    assert "owner" not in got  # mapAsset of an asset loaded without its owner
    assert got["ownerId"] == owner.id


async def test_hidden_upload_is_not_announced(
    stack: Stack,
    admin: User,
    sockets: Any,  # noqa: F811 - the fixture imported above
) -> None:
    owner = await asyncio.to_thread(make_user, stack, admin)
    mine = await connected(sockets, stack.url, owner)

    def post_hidden() -> str:
        r = owner.client.post(
            "/api/assets",
            files={"assetData": ("hidden.jpg", noise_jpeg(uuid.uuid4().int % 2**32), "image/jpeg")},
            data={
                "deviceAssetId": uuid.uuid4().hex,
                "deviceId": "pytest-r1",
                "fileCreatedAt": "2021-06-01T10:00:00.000Z",
                "fileModifiedAt": "2021-06-01T10:00:00.000Z",
                "visibility": "hidden",
            },
        )
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    hidden = await asyncio.to_thread(post_hidden)
    deadline = time.monotonic() + 120
    query = "SELECT thumbhash FROM assets WHERE id = $1"
    while not (await asyncio.to_thread(db_rows, stack, query, uuid.UUID(hidden)))[0][0]:
        assert time.monotonic() < deadline, "the hidden upload got no thumbnail"
        await asyncio.sleep(0.5)
    await _sentinel(mine, owner)
    assert [e for e, d in mine.got if hidden in str(d)] == []


async def test_an_asset_moved_to_the_locked_folder_is_the_owners_news_only(
    stack: Stack,
    admin: User,
    sockets: Any,  # noqa: F811 - the fixture imported above
) -> None:
    owner, partner, member = [await asyncio.to_thread(make_user, stack, admin) for _ in range(3)]
    theirs = await connected(sockets, stack.url, partner)
    members = await connected(sockets, stack.url, member)
    token = login_token(stack.url, owner)
    session = httpx.Client(
        base_url=stack.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )
    mine = sockets()
    await mine.connect(stack.url, {"Authorization": f"Bearer {token}"})
    (asset_id,) = await _fresh_assets(owner, 1)

    def share_and_lock() -> None:
        call(owner, "POST", "/api/partners", {"sharedWithId": partner.id}, 201)
        album = {"albumName": "r1", "assetIds": [asset_id]}
        album |= {"albumUsers": [{"userId": member.id, "role": "viewer"}]}
        call(owner, "POST", "/api/albums", album, 201)
        for path, body in (("pin-code", {"pinCode": "042917"}), ("session/unlock", None)):
            body = body or {"pinCode": "042917"}
            r = session.post(f"/api/auth/{path}", json=body)
            assert r.status_code == 204, r.text
        r = session.put(f"/api/assets/{asset_id}", json={"visibility": "locked"})
        assert r.status_code == 200, r.text
        session.close()

    await asyncio.to_thread(share_and_lock)
    await mine.wait_for("on_asset_update", lambda d: d["id"] == asset_id)
    for socket, user in ((theirs, partner), (members, member)):
        await _sentinel(socket, user)
        assert [e for e, d in socket.got if asset_id in str(d)] == []
