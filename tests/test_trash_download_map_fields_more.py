"""Trash, duplicates, download and map: request fields and behaviours no other test exercises
on a success path, each as Immich's server has it.

Duplicate groups are made through ``PUT /api/assets`` ``duplicateId`` (what the embedding
service would set), so that the checks do not depend on the CLIP model:

* ``POST /api/duplicates/resolve`` ignores asset ids that are not in the group, and refuses a
  group (``validation``) where an asset is named both to keep and to trash, or not named at all
  (Immich: duplicate.service ``resolveGroup``).
* Resolving with one asset kept and others trashed carries favourite, archive, the highest
  rating, every description line, the agreed location, albums and tags over to the kept asset
  (Immich: duplicate.service ``resolveGroup``/``getSyncMergeResult``); the trashed ones are
  announced (``darkroom.asset.trashed``, Immich's ``AssetTrashAll`` event: the websocket's
  ``on_asset_trash``).
* A group id that is not the caller's (another user's, or none) is refused with 400 ``Not found
  or no duplicate.delete access`` for the whole request, by resolve and by ``DELETE
  /api/duplicates`` alike (Immich: ``requireAccess`` with ``Permission.DuplicateDelete``,
  access.repository ``duplicate.checkOwnerAccess``).
* Stacked assets are no duplicates: ``GET /api/duplicates`` leaves them out (Immich:
  duplicate.repository ``getAll``, ``stackId is null``).
* ``POST /api/download/info`` ``archiveSize``: an archive is closed once it holds more than the
  limit, the asset that passes it included (Immich: download.service ``getDownloadInfo``
  ``addToArchive``).
* ``POST /api/download/archive`` ``edited``: an edited asset is zipped as its edited rendering,
  under its original name (Immich: download.service ``downloadArchive``, ``editedPath``).
* ``POST /api/trash/restore/assets`` answers the number of ids sent (Immich: trash.service
  ``restoreAssets`` returns ``ids.length``).
* ``GET /api/map/markers`` is ordered by ``fileCreatedAt``, newest first (Immich:
  map.repository ``getMapMarkers``), not by the local wall-clock time.
"""

from __future__ import annotations

import asyncio
import io
import time
import uuid
import zipfile
from typing import Any

import pytest
import pyvips
from darkroom_stack.supervisor import Stack

from .conftest import User, make_user, noise_jpeg, stream_events, upload_jpeg, wait_processed

#: Ceiling for something done after the request (an event published, an edit rendered).
PIPELINE_S = 120.0


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> User:
    """A fresh user, so assets from other test files do not mix in."""
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def stranger(stack: Stack, admin: User) -> User:
    return make_user(stack, admin)


_seed = iter(range(9100, 9999))


def _photos(user: User, n: int, created_at: str = "2020-01-01T00:00:00.000Z") -> list[str]:
    ids = [upload_jpeg(user, noise_jpeg(next(_seed)), created_at) for _ in range(n)]
    wait_processed(user, ids)
    return ids


def _group(user: User, ids: list[str]) -> str:
    """Put ``ids`` in one new duplicate group; its id."""
    group = str(uuid.uuid4())
    r = user.client.put("/api/assets", json={"ids": ids, "duplicateId": group})
    assert r.status_code == 204, r.text
    return group


def _asset(user: User, asset_id: str) -> dict[str, Any]:
    r = user.client.get(f"/api/assets/{asset_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def _resolve(user: User, group: str, keep: list[str], trash: list[str]) -> Any:
    body = {"groups": [{"duplicateId": group, "keepAssetIds": keep, "trashAssetIds": trash}]}
    return user.client.post("/api/duplicates/resolve", json=body)


def _groups(user: User) -> set[str]:
    r = user.client.get("/api/duplicates")
    assert r.status_code == 200, r.text
    return {g["duplicateId"] for g in r.json()}


def test_resolve_ignores_ids_outside_the_group_and_needs_every_member(owner: User) -> None:
    a, b, c, outside = _photos(owner, 4)
    group = _group(owner, [a, b, c])

    r = _resolve(owner, group, [a], [b])  # c is named nowhere
    assert r.status_code == 200, r.text
    assert r.json() == [
        {
            "id": group,
            "success": False,
            "error": "validation",
            "errorMessage": "Every asset must be in either keepAssetIds or trashAssetIds",
        }
    ]
    r = _resolve(owner, group, [a, b], [b, c])
    assert r.status_code == 200, r.text
    assert r.json()[0]["errorMessage"] == (
        "An asset cannot be in both keepAssetIds and trashAssetIds"
    )
    assert group in _groups(owner) and not _asset(owner, b)["isTrashed"]

    # an id that is not in the group is skipped, not refused, and left alone
    r = _resolve(owner, group, [a], [b, c, outside])
    assert r.status_code == 200 and r.json() == [{"id": group, "success": True}], r.text
    assert [_asset(owner, i)["isTrashed"] for i in (a, b, c, outside)] == [
        False,
        True,
        True,
        False,
    ]
    assert group not in _groups(owner)


def test_resolve_merges_what_the_trashed_hold_into_the_kept_one(stack: Stack, owner: User) -> None:
    (keeper,) = _photos(owner, 1, "2019-01-01T00:00:00.000Z")  # the older: its lines first
    (copy,) = _photos(owner, 1, "2020-01-01T00:00:00.000Z")
    r = owner.client.put(f"/api/assets/{keeper}", json={"description": "keeper line"})
    assert r.status_code == 200, r.text
    edit = {
        "isFavorite": True,
        "visibility": "archive",
        "rating": 4,
        "description": "from the copy\nkeeper line",
        "latitude": 48.8566,
        "longitude": 2.3522,
    }
    r = owner.client.put(f"/api/assets/{copy}", json=edit)
    assert r.status_code == 200, r.text
    album = owner.client.post(
        "/api/albums", json={"albumName": "dup merge", "assetIds": [copy]}
    ).json()["id"]
    tag = owner.client.post("/api/tags", json={"name": f"dup-{uuid.uuid4().hex[:8]}"}).json()["id"]
    assert owner.client.put(f"/api/tags/{tag}/assets", json={"ids": [copy]}).status_code == 200
    group = _group(owner, [keeper, copy])

    r = _resolve(owner, group, [keeper], [copy])
    assert r.status_code == 200 and r.json() == [{"id": group, "success": True}], r.text
    kept = _asset(owner, keeper)
    assert kept["isFavorite"] is True and kept["visibility"] == "archive"
    assert kept["exifInfo"]["rating"] == 4
    assert kept["exifInfo"]["description"] == "keeper line\nfrom the copy"
    assert kept["exifInfo"]["latitude"] == pytest.approx(48.8566, abs=1e-6)
    assert kept["exifInfo"]["longitude"] == pytest.approx(2.3522, abs=1e-6)
    assert [t["id"] for t in kept["tags"]] == [tag]
    holding = owner.client.get("/api/albums", params={"assetId": keeper}).json()
    assert [a["id"] for a in holding] == [album]
    assert _asset(owner, copy)["isTrashed"] is True

    # the trash is announced (websocket on_asset_trash), as a DELETE /api/assets is
    url = stack.env()["DARKROOM_NATS_URL"]
    deadline = time.monotonic() + PIPELINE_S
    while not any(
        copy.encode() in d for d in asyncio.run(stream_events(url, "darkroom.asset.trashed"))
    ):
        assert time.monotonic() < deadline, "no darkroom.asset.trashed for the resolved copy"


def test_a_group_that_is_not_the_callers_is_refused(owner: User, stranger: User) -> None:
    a, b = _photos(owner, 2)
    group = _group(owner, [a, b])
    refusal = {"message": "Not found or no duplicate.delete access"}

    r = _resolve(stranger, group, [a], [b])
    assert r.status_code == 400 and r.json() == refusal, r.text
    r = _resolve(owner, str(uuid.uuid4()), [a], [b])
    assert r.status_code == 400 and r.json() == refusal, r.text
    r = stranger.client.request("DELETE", "/api/duplicates", json={"ids": [group]})
    assert r.status_code == 400 and r.json() == refusal, r.text
    # all or nothing: one unknown id and the caller's own group stays too
    r = owner.client.request("DELETE", "/api/duplicates", json={"ids": [group, str(uuid.uuid4())]})
    assert r.status_code == 400 and r.json() == refusal, r.text
    assert group in _groups(owner) and not _asset(owner, b)["isTrashed"]
    r = owner.client.request("DELETE", "/api/duplicates", json={"ids": [group]})
    assert r.status_code == 204, r.text
    assert group not in _groups(owner)


def test_stacked_assets_are_no_duplicates(owner: User) -> None:
    a, b, c = _photos(owner, 3)
    group = _group(owner, [a, b, c])
    assert group in _groups(owner)
    r = owner.client.post("/api/stacks", json={"assetIds": [b, c]})
    assert r.status_code == 201, r.text
    assert group not in _groups(owner)  # a alone is left outside the stack


def _sizes(user: User, ids: list[str], **extra: Any) -> list[tuple[list[str], int]]:
    r = user.client.post("/api/download/info", json={"assetIds": ids, **extra})
    assert r.status_code == 201, r.text
    return [(a["assetIds"], a["size"]) for a in r.json()["archives"]]


def test_download_info_closes_an_archive_once_past_its_size(owner: User) -> None:
    a, b = _photos(owner, 2)
    ((_, size_a),) = _sizes(owner, [a])
    ((_, size_b),) = _sizes(owner, [b])
    # the first asset fits, the second takes the archive past the limit and closes it
    archives = _sizes(owner, [a, b], archiveSize=max(size_a, size_b))
    assert [(set(ids), size) for ids, size in archives] == [({a, b}, size_a + size_b)]
    # one asset alone past the limit: an archive each
    archives = _sizes(owner, [a, b], archiveSize=1)
    assert sorted(len(ids) for ids, _ in archives) == [1, 1]


def _zip_entries(user: User, ids: list[str], **extra: Any) -> dict[str, bytes]:
    r = user.client.post("/api/download/archive", json={"assetIds": ids, **extra})
    assert r.status_code == 200, r.text
    with zipfile.ZipFile(io.BytesIO(r.content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_archive_edited_holds_the_edited_rendering(owner: User, stranger: User) -> None:
    (photo,) = _photos(owner, 1)
    original = owner.client.get(f"/api/assets/{photo}/original").content
    crop = {"action": "crop", "parameters": {"x": 0, "y": 0, "width": 32, "height": 24}}
    r = owner.client.put(f"/api/assets/{photo}/edits", json={"edits": [crop]})
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + PIPELINE_S
    while True:  # rendered by the thumbnail service
        edited = owner.client.get(f"/api/assets/{photo}/original", params={"edited": True})
        if edited.status_code == 200 and edited.content != original:
            break
        assert time.monotonic() < deadline, "no edited rendering"
        time.sleep(0.3)
    assert pyvips.Image.new_from_buffer(edited.content, "").width == 32

    assert _zip_entries(owner, [photo], edited=True) == {"gen.jpg": edited.content}
    assert _zip_entries(owner, [photo], edited=False) == {"gen.jpg": original}
    assert _zip_entries(owner, [photo]) == {"gen.jpg": original}
    r = stranger.client.post("/api/download/archive", json={"assetIds": [photo], "edited": True})
    assert r.status_code == 400, r.text


def test_restore_assets_counts_the_ids_sent(owner: User) -> None:
    trashed, active = _photos(owner, 2)
    r = owner.client.request("DELETE", "/api/assets", json={"ids": [trashed]})
    assert r.status_code == 204, r.text
    r = owner.client.post("/api/trash/restore/assets", json={"ids": [trashed, active]})
    assert r.status_code == 200 and r.json() == {"count": 2}, r.text
    assert not _asset(owner, trashed)["isTrashed"]
    r = owner.client.post("/api/trash/restore/assets", json={"ids": []})
    assert r.status_code == 200 and r.json() == {"count": 0}, r.text


def test_map_markers_newest_file_created_first(owner: User) -> None:
    early_local, late_local = _photos(owner, 2)
    # 10:00 on 1 Jan in UTC+14 is 31 Dec 20:00 UTC; 00:00 on 1 Jan in UTC-12 is 1 Jan 12:00 UTC:
    # newest by the local clock is late_local, newest by the instant early_local
    when = {
        late_local: "2021-01-01T10:00:00+14:00",
        early_local: "2021-01-01T00:00:00-12:00",
    }
    for asset_id, taken in when.items():
        r = owner.client.put(
            f"/api/assets/{asset_id}",
            json={"dateTimeOriginal": taken, "latitude": 10.0, "longitude": 20.0},
        )
        assert r.status_code == 200, r.text
    r = owner.client.get("/api/map/markers")
    assert r.status_code == 200, r.text
    order = [m["id"] for m in r.json() if m["id"] in when]
    assert order == [early_local, late_local]
