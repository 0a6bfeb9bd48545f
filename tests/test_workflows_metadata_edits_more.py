"""Workflows, asset metadata, OCR and asset edits: behaviour no other test pins to Immich's.

Each check and where Immich does it (``server/src/services`` unless named):

* ``GET /api/assets/{id}/metadata/{key}`` for a key the asset has no entry for is 400, not 404
  (asset.service ``getMetadataByKey`` throws ``BadRequestException``).
* ``PUT /api/assets/{id}/metadata`` with one key twice, and ``PUT /api/assets/metadata`` with one
  (asset, key) twice, are 400 ``Duplicate items are not allowed: ...`` and store nothing
  (asset.service ``upsertMetadata`` / ``upsertBulkMetadata``); one key on two assets is fine,
  and another user's asset is refused.
* ``GET /api/assets/{id}/edits`` needs only ``asset.read`` access: an album member sees the
  owner's edits, while editing stays the owner's (asset.service ``getAssetEdits`` checks
  ``Permission.AssetRead``, ``editAsset`` ``AssetEditCreate``).
* ``PUT /api/assets/{id}/edits``: a crop that is not the first action is 400 ``Crop action must
  be the first edit action``; a GIF and a live photo are 400 (asset.service ``editAsset``).
* ``GET /api/assets/{id}/ocr``: a line's ``id`` is the one sync sends as ``AssetOcrV1.id``
  (both are the OCR row's id in Immich, ocr.repository), and the boxes of an edited photo are
  moved into the edited image (asset.service ``getOcr`` with ``utils/transform.ts``
  ``transformOcrBoundingBox``).
* Workflow steps: a method given as ``<plugin>@<version>#<method>`` is accepted, and every step
  is answered as ``<plugin>#<method>`` (``utils/workflow.ts`` ``resolveMethod``,
  ``dtos/workflow.dto.ts`` ``mapWorkflow``); another plugin's name is 400.

OCR lines are written into the database by hand (a box of our choosing), so the checks do not
depend on the OCR model.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import pyvips
from darkroom_stack.supervisor import Stack

from .conftest import User, db_rows, make_user, noise_jpeg, upload, upload_jpeg, wait_processed
from .test_assets_timeline import make_mp4
from .test_sync import Device


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> User:
    """A fresh user, so no other test's assets, albums or workflows mix in."""
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def stranger(stack: Stack, admin: User) -> User:
    return make_user(stack, admin)


def _wait_for(check: Callable[[], Any], what: str, ceiling: float = 180) -> Any:
    """Poll ``check`` until it returns something truthy (a busy machine is slow)."""
    deadline = time.monotonic() + ceiling
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"{what}: not within {ceiling} s")


def _photo(user: User, seed: int) -> str:
    """A processed 64x48 photo of ``user``'s whose size is known (editable)."""
    asset_id = upload_jpeg(user, noise_jpeg(seed))
    wait_processed(user, [asset_id])
    _wait_for(lambda: user.client.get(f"/api/assets/{asset_id}").json()["width"], "metadata")
    return asset_id


# --- asset metadata ----------------------------------------------------------------------


def test_a_missing_metadata_key_is_400(owner: User) -> None:
    asset_id = upload_jpeg(owner, noise_jpeg(8101))
    r = owner.client.get(f"/api/assets/{asset_id}/metadata/no-such-key")
    assert r.status_code == 400, r.text
    assert "no-such-key" in r.json()["message"]


def test_duplicate_metadata_items_are_refused(owner: User, stranger: User) -> None:
    first = upload_jpeg(owner, noise_jpeg(8102))
    second = upload_jpeg(owner, noise_jpeg(8103))
    twice = {"items": [{"key": "note", "value": {"a": 1}}, {"key": "note", "value": {"a": 2}}]}
    r = owner.client.put(f"/api/assets/{first}/metadata", json=twice)
    assert r.status_code == 400, r.text
    assert r.json()["message"] == 'Duplicate items are not allowed: "note"'
    assert owner.client.get(f"/api/assets/{first}/metadata").json() == []

    bulk_twice = {
        "items": [
            {"assetId": first, "key": "note", "value": {"a": 1}},
            {"assetId": first, "key": "note", "value": {"a": 2}},
        ]
    }
    r = owner.client.put("/api/assets/metadata", json=bulk_twice)
    assert r.status_code == 400, r.text
    assert r.json()["message"] == f'Duplicate items are not allowed: "({first}, note)"'
    assert owner.client.get(f"/api/assets/{first}/metadata").json() == []

    # one key on two assets is not a duplicate
    both = {
        "items": [
            {"assetId": first, "key": "note", "value": {"a": 1}},
            {"assetId": second, "key": "note", "value": {"a": 2}},
        ]
    }
    r = owner.client.put("/api/assets/metadata", json=both)
    assert r.status_code == 200, r.text
    assert sorted((i["assetId"], i["value"]["a"]) for i in r.json()) == sorted(
        [(first, 1), (second, 2)]
    )
    # another user's asset id is refused (Immich's requireAccess), theirs left alone
    theirs = upload_jpeg(stranger, noise_jpeg(8104))
    r = owner.client.put(
        "/api/assets/metadata",
        json={"items": [{"assetId": theirs, "key": "note", "value": {"x": 1}}]},
    )
    assert r.status_code == 400, r.text
    assert stranger.client.get(f"/api/assets/{theirs}/metadata").json() == []


# --- asset edits -------------------------------------------------------------------------


def test_an_album_member_reads_the_edits_but_may_not_edit(
    owner: User, stranger: User, stack: Stack, admin: User
) -> None:
    member = make_user(stack, admin)
    asset_id = _photo(owner, 8105)
    body = {"edits": [{"action": "rotate", "parameters": {"angle": 90}}]}
    saved = owner.client.put(f"/api/assets/{asset_id}/edits", json=body)
    assert saved.status_code == 200, saved.text
    album = owner.client.post(
        "/api/albums",
        json={
            "albumName": "edits shared",
            "assetIds": [asset_id],
            "albumUsers": [{"userId": member.id, "role": "viewer"}],
        },
    )
    assert album.status_code == 201, album.text
    r = member.client.get(f"/api/assets/{asset_id}/edits")
    assert r.status_code == 200, r.text
    assert r.json() == saved.json()
    r = member.client.put(f"/api/assets/{asset_id}/edits", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["message"] == "Not found or no asset.edit.create access"
    r = stranger.client.get(f"/api/assets/{asset_id}/edits")
    assert r.status_code == 400, r.text
    assert r.json()["message"] == "Not found or no asset.read access"


def test_a_crop_must_come_first(owner: User) -> None:
    asset_id = _photo(owner, 8106)
    crop = {"action": "crop", "parameters": {"x": 0, "y": 0, "width": 32, "height": 24}}
    turn = {"action": "rotate", "parameters": {"angle": 90}}
    r = owner.client.put(f"/api/assets/{asset_id}/edits", json={"edits": [turn, crop]})
    assert r.status_code == 400, r.text
    assert r.json()["message"] == "Crop action must be the first edit action"
    assert owner.client.get(f"/api/assets/{asset_id}/edits").json()["edits"] == []
    r = owner.client.put(f"/api/assets/{asset_id}/edits", json={"edits": [crop, turn]})
    assert r.status_code == 200, r.text
    assert [e["action"] for e in r.json()["edits"]] == ["crop", "rotate"]


def test_gifs_are_not_edited(owner: User) -> None:
    body = {"edits": [{"action": "mirror", "parameters": {"axis": "horizontal"}}]}
    gif = pyvips.Image.black(40, 30).draw_rect(255, 5, 5, 10, 10, fill=True).cast("uchar")
    r = upload(owner, Path("anim.gif"), data=gif.gifsave_buffer())
    assert r.status_code == 201, r.text
    gif_id = r.json()["id"]
    wait_processed(owner, [gif_id])
    r = owner.client.put(f"/api/assets/{gif_id}/edits", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["message"] == "Editing GIF images is not supported"


def test_live_photos_are_not_edited(owner: User, tmp_path_factory: pytest.TempPathFactory) -> None:
    body = {"edits": [{"action": "mirror", "parameters": {"axis": "horizontal"}}]}
    data = make_mp4(tmp_path_factory.mktemp("live") / "clip.mp4")
    r = upload(owner, Path("live.mp4"), data=data)
    assert r.status_code == 201, r.text
    video = r.json()["id"]
    still = _photo(owner, 8107)
    wait_processed(owner, [video])
    r = owner.client.put(f"/api/assets/{still}", json={"livePhotoVideoId": video})
    assert r.status_code == 200, r.text
    r = owner.client.put(f"/api/assets/{still}/edits", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["message"] == "Editing live photos is not supported"
    assert owner.client.get(f"/api/assets/{still}/edits").json()["edits"] == []


# --- OCR ---------------------------------------------------------------------------------


def _ocr_done(stack: Stack, asset_id: str) -> bool:
    rows = db_rows(stack, "SELECT 1 FROM asset_ocr_status WHERE asset_id = $1", uuid.UUID(asset_id))
    return bool(rows)


def _ocr_line(stack: Stack, user: User, asset_id: str, box: list[float]) -> uuid.UUID:
    """Store one OCR line of ``asset_id`` by hand, once the stack's own OCR run on the asset
    (which replaces its lines) is over; the line's public id (``asset_ocr.uid``)."""
    deadline = time.monotonic() + 300  # a ceiling: OCR may be off, or slow on a busy machine
    while not _ocr_done(stack, asset_id) and time.monotonic() < deadline:
        time.sleep(0.5)
    rows = db_rows(
        stack,
        "INSERT INTO asset_ocr (asset_id, owner_id, text, box, score) "
        "VALUES ($1, $2, 'Hello', $3, 0.9) RETURNING uid",
        uuid.UUID(asset_id),
        uuid.UUID(user.id),
        box,
    )
    return uuid.UUID(str(rows[0]["uid"]))


def _corners(line: dict[str, Any]) -> list[float]:
    return [line[f"{axis}{n}"] for n in range(1, 5) for axis in "xy"]


def test_ocr_ids_are_the_synced_ids(stack: Stack, owner: User) -> None:
    asset_id = _photo(owner, 8108)
    uid = _ocr_line(stack, owner, asset_id, [0.25, 0.25, 0.5, 0.25, 0.5, 0.5, 0.25, 0.5])
    (line,) = owner.client.get(f"/api/assets/{asset_id}/ocr").json()
    assert line["id"] == str(uid)
    synced = [
        s["data"]["id"]
        for s in Device(stack, owner).sync(["AssetOcrV1"])
        if s["type"] == "AssetOcrV1" and s["data"]["assetId"] == asset_id
    ]
    assert synced == [line["id"]]  # the REST answer and the sync name the line alike


def test_ocr_boxes_follow_the_edits(stack: Stack, owner: User) -> None:
    asset_id = _photo(owner, 8109)  # 64x48
    # a box of 16x12 px at (16, 12): corners clockwise from the top left, in 0..1
    box = [0.25, 0.25, 0.5, 0.25, 0.5, 0.5, 0.25, 0.5]
    _ocr_line(stack, owner, asset_id, box)
    (line,) = owner.client.get(f"/api/assets/{asset_id}/ocr").json()
    assert _corners(line) == pytest.approx(box)

    # crop 48x40 at (8, 4), then a quarter turn clockwise: the edited image is 40x48 and the
    # box, (8, 8)-(24, 20) after the crop, lies at (20, 8)-(32, 24)
    edits = [
        {"action": "crop", "parameters": {"x": 8, "y": 4, "width": 48, "height": 40}},
        {"action": "rotate", "parameters": {"angle": 90}},
    ]
    r = owner.client.put(f"/api/assets/{asset_id}/edits", json={"edits": edits})
    assert r.status_code == 200, r.text
    (moved,) = owner.client.get(f"/api/assets/{asset_id}/ocr").json()
    assert moved["id"] == line["id"] and moved["text"] == "Hello"
    assert _corners(moved) == pytest.approx(
        [20 / 40, 8 / 48, 32 / 40, 8 / 48, 32 / 40, 24 / 48, 20 / 40, 24 / 48]
    )
    # the edits removed: the box as read again
    assert owner.client.delete(f"/api/assets/{asset_id}/edits").status_code == 204
    (back,) = owner.client.get(f"/api/assets/{asset_id}/ocr").json()
    assert _corners(back) == pytest.approx(box)


# --- workflows ---------------------------------------------------------------------------


def test_step_methods_take_a_version_and_are_answered_by_key(owner: User, stranger: User) -> None:
    steps = [
        {"method": "darkroom-core@1.0.0#filterFileType", "config": {"types": ["IMAGE"]}},
        {"method": "actionFavorite", "config": None},
    ]
    r = owner.client.post("/api/workflows", json={"trigger": "AssetCreate", "steps": steps})
    assert r.status_code == 201, r.text
    made = r.json()
    assert [s["method"] for s in made["steps"]] == [
        "darkroom-core#filterFileType",
        "darkroom-core#actionFavorite",
    ]
    try:
        got = owner.client.get(f"/api/workflows/{made['id']}").json()
        assert got["steps"] == made["steps"]
        r = owner.client.put(
            f"/api/workflows/{made['id']}",
            json={"steps": [{"method": "darkroom-core@2#actionArchive", "config": None}]},
        )
        assert r.status_code == 200, r.text
        assert [s["method"] for s in r.json()["steps"]] == ["darkroom-core#actionArchive"]
        # another plugin's method is unknown
        r = owner.client.put(
            f"/api/workflows/{made['id']}",
            json={"steps": [{"method": "immich-core@1#actionArchive", "config": None}]},
        )
        assert r.status_code == 400, r.text
        # an album of another user's in a versioned step is refused as before
        album = stranger.client.post("/api/albums", json={"albumName": "not yours"})
        assert album.status_code == 201, album.text
        r = owner.client.put(
            f"/api/workflows/{made['id']}",
            json={
                "steps": [
                    {
                        "method": "darkroom-core@1.0.0#actionAddToAlbum",
                        "config": {"albumId": album.json()["id"]},
                    }
                ]
            },
        )
        assert r.status_code == 400, r.text
        assert r.json()["message"] == "Not found or no album.update access"
    finally:
        owner.client.delete(f"/api/workflows/{made['id']}")
