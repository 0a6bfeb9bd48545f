"""Non-destructive edits (issue #19 item 2), over HTTP on the shared embedded stack.

What this proves: a crop plus a quarter turn of a real sample photo (an EXIF-rotated JPEG) gives
an edited preview, thumbnail and full-size image (``?edited=true``) of the cropped, rotated
shape, while the default thumbnail stays the unedited one and the original's SHA-1 is unchanged;
a mirror moves pixels as expected on a generated asymmetric image; DELETE restores the unedited
rendering; invalid edits are refused naming the field; another user, an anonymous client and a
shared-link visitor are refused; the sync stream's AssetEditV1/AssetEditDeleteV1 lines (and
AssetV1's ``isEdited``) validate against the spec's schemas.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import pyvips
from darkroom_stack.supervisor import Stack
from darkroom_stack.testing import samples_dir

from tests.conftest import User, make_user, upload, upload_jpeg, wait_processed
from tests.test_socketio import check_schema, listeners  # noqa: F401 - listeners: a fixture
from tests.test_sync import Device
from tests.test_sync_types import components, data_lines, only_complete, validate  # noqa: F401 - components: a fixture

SAMPLES = samples_dir()
PHOTO = SAMPLES / "photos" / "recurser_exif-orientation" / "Landscape_5.jpg" if SAMPLES else None


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> User:
    """A user of its own, so no other test's assets or edits meet these."""
    return make_user(stack, admin)


def _image(response: httpx.Response) -> pyvips.Image:
    assert response.status_code == 200, response.text
    return pyvips.Image.new_from_buffer(response.content, "")


def _size(response: httpx.Response) -> tuple[int, int]:
    image = _image(response)
    return image.width, image.height


def _wait_for(check: Callable[[], Any], what: str, ceiling: float = 180) -> Any:
    """Poll ``check`` until it returns something truthy (the machine may be busy)."""
    deadline = time.monotonic() + ceiling
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"{what}: not within {ceiling} s")


def _edited_size(user: User, asset_id: str, size: str, expected: tuple[int, int]) -> bool:
    r = user.client.get(f"/api/assets/{asset_id}/thumbnail", params={"size": size, "edited": True})
    return r.status_code == 200 and _size(r) == expected


def _sha1(user: User, asset_id: str, **params: Any) -> str:
    r = user.client.get(f"/api/assets/{asset_id}/original", params=params)
    assert r.status_code == 200, r.text
    return hashlib.sha1(r.content).hexdigest()


@pytest.mark.skipif(PHOTO is None or not PHOTO.is_file(), reason="no sample photos (../shared)")
def test_crop_and_rotate_a_real_photo_then_revert(owner: User) -> None:
    assert PHOTO is not None
    r = upload(owner, PHOTO, name=f"edit-{uuid.uuid4().hex[:6]}.jpg")
    assert r.status_code in (200, 201), r.text
    asset_id = r.json()["id"]
    wait_processed(owner, [asset_id])
    info = owner.client.get(f"/api/assets/{asset_id}").json()
    width, height = info["width"], info["height"]
    assert (width, height) == (1800, 1200)  # upright (EXIF orientation 5 of a 1200x1800 file)
    assert info["isEdited"] is False
    before_thumb = _size(owner.client.get(f"/api/assets/{asset_id}/thumbnail"))
    before_preview = _size(
        owner.client.get(f"/api/assets/{asset_id}/thumbnail", params={"size": "preview"})
    )
    sha1 = _sha1(owner, asset_id)
    assert sha1 == hashlib.sha1(PHOTO.read_bytes()).hexdigest()

    edits = [
        {"action": "crop", "parameters": {"x": 100, "y": 50, "width": 1200, "height": 600}},
        {"action": "rotate", "parameters": {"angle": 90}},
    ]
    r = owner.client.put(f"/api/assets/{asset_id}/edits", json={"edits": edits})
    assert r.status_code == 200, r.text
    saved = r.json()
    assert saved["assetId"] == asset_id
    assert [(e["action"], e["parameters"]) for e in saved["edits"]] == [
        (e["action"], e["parameters"]) for e in edits
    ]
    assert all(uuid.UUID(e["id"]) for e in saved["edits"])
    assert owner.client.get(f"/api/assets/{asset_id}/edits").json() == saved

    # cropped to 1200x600, then a quarter turn: 600x1200 (portrait); never upscaled
    _wait_for(lambda: _edited_size(owner, asset_id, "preview", (600, 1200)), "edited preview")
    thumb = _size(owner.client.get(f"/api/assets/{asset_id}/thumbnail", params={"edited": True}))
    assert thumb == (250, 500)
    full = _size(owner.client.get(f"/api/assets/{asset_id}/original", params={"edited": True}))
    assert full == (600, 1200)
    fullsize = owner.client.get(
        f"/api/assets/{asset_id}/thumbnail", params={"size": "fullsize", "edited": True}
    )
    assert _size(fullsize) == (600, 1200)
    # the default (edited=false, as the spec has it) is the unedited rendering
    assert _size(owner.client.get(f"/api/assets/{asset_id}/thumbnail")) == before_thumb
    assert owner.client.get(f"/api/assets/{asset_id}").json()["isEdited"] is True
    # the ThumbHash (clients' placeholder and cache key) is the edited thumbnail's now
    edited_hash = _wait_for(
        lambda: (
            (h := owner.client.get(f"/api/assets/{asset_id}").json()["thumbhash"])
            != info["thumbhash"]
            and h
        ),
        "edited thumbhash",
    )
    assert _sha1(owner, asset_id) == sha1  # the original is never modified

    r = owner.client.delete(f"/api/assets/{asset_id}/edits")
    assert r.status_code == 204, r.text
    assert owner.client.get(f"/api/assets/{asset_id}/edits").json() == {
        "assetId": asset_id,
        "edits": [],
    }
    edited = owner.client.get(f"/api/assets/{asset_id}/thumbnail", params={"edited": True})
    assert _size(edited) == before_thumb
    preview = owner.client.get(
        f"/api/assets/{asset_id}/thumbnail", params={"size": "preview", "edited": True}
    )
    assert _size(preview) == before_preview
    assert _sha1(owner, asset_id, edited=True) == sha1
    assert owner.client.get(f"/api/assets/{asset_id}").json()["isEdited"] is False
    _wait_for(  # the unedited thumbnail's again (recomputed from it: equal within its rounding)
        lambda: owner.client.get(f"/api/assets/{asset_id}").json()["thumbhash"] != edited_hash,
        "unedited thumbhash",
    )


def _halves(quality: int = 95) -> bytes:
    """A 96x48 JPEG: left half red, right half blue (``quality`` makes distinct files)."""
    red = pyvips.Image.black(48, 48).new_from_image([255, 0, 0])
    blue = pyvips.Image.black(48, 48).new_from_image([0, 0, 255])
    halves = red.join(blue, "horizontal").copy(interpretation="srgb")
    return bytes(halves.jpegsave_buffer(Q=quality))


def test_mirror_moves_the_pixels(owner: User) -> None:
    asset_id = upload_jpeg(owner, _halves())
    wait_processed(owner, [asset_id])
    _wait_for(lambda: owner.client.get(f"/api/assets/{asset_id}").json()["width"], "metadata")
    before = _image(owner.client.get(f"/api/assets/{asset_id}/thumbnail", params={"edited": True}))
    assert before(10, 24)[0] > 200 and before(85, 24)[2] > 200  # red left, blue right

    mirror = [{"action": "mirror", "parameters": {"axis": "horizontal"}}]
    r = owner.client.put(f"/api/assets/{asset_id}/edits", json={"edits": mirror})
    assert r.status_code == 200, r.text

    def flipped() -> pyvips.Image | None:
        r = owner.client.get(f"/api/assets/{asset_id}/thumbnail", params={"edited": True})
        image = _image(r)
        return image if image(10, 24)[2] > 200 else None

    after = _wait_for(flipped, "mirrored thumbnail")
    assert (after.width, after.height) == (96, 48)
    assert after(10, 24)[2] > 200 and after(10, 24)[0] < 60  # blue on the left now
    assert after(85, 24)[0] > 200 and after(85, 24)[2] < 60  # red on the right


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        ({"action": "crop", "parameters": {"x": 50, "y": 0, "width": 60, "height": 10}}, None),
        ({"action": "crop", "parameters": {"x": 0, "y": 0, "width": 0, "height": 10}}, "width"),
        ({"action": "crop", "parameters": {"x": -1, "y": 0, "width": 5, "height": 5}}, "x"),
        ({"action": "crop", "parameters": {"x": 0, "y": 0, "width": 5}}, "height"),
        ({"action": "rotate", "parameters": {"angle": 45}}, "angle"),
        ({"action": "mirror", "parameters": {"axis": "diagonal"}}, "axis"),
    ],
)
def test_invalid_edits_are_refused_naming_the_field(
    owner: User, small_asset: str, edit: dict[str, Any], field: str | None
) -> None:
    r = owner.client.put(f"/api/assets/{small_asset}/edits", json={"edits": [edit]})
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["message"] == "Validation failed", body
    path = body["errors"][0]["path"]
    assert path[:3] == ["edits", "0", "parameters"], body
    if field is None:  # a crop outside the 96x48 image
        assert "outside" in body["errors"][0]["message"], body
    else:
        assert path[-1] == field, body
    assert owner.client.get(f"/api/assets/{small_asset}/edits").json()["edits"] == []


def test_an_empty_list_or_unknown_action_is_refused(owner: User, small_asset: str) -> None:
    for body in ({"edits": []}, {"edits": [{"action": "blur", "parameters": {}}]}, {}):
        r = owner.client.put(f"/api/assets/{small_asset}/edits", json=body)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["message"] == "Validation failed"


@pytest.fixture(scope="module")
def small_asset(owner: User) -> str:
    """A processed 96x48 photo of ``owner``'s, never edited successfully."""
    asset_id = upload_jpeg(owner, _halves(90))
    wait_processed(owner, [asset_id])
    _wait_for(lambda: owner.client.get(f"/api/assets/{asset_id}").json()["width"], "metadata")
    return asset_id


def test_others_are_refused(stack: Stack, owner: User, other_user: User, small_asset: str) -> None:
    url = f"/api/assets/{small_asset}/edits"
    body = {"edits": [{"action": "rotate", "parameters": {"angle": 180}}]}
    # reading needs asset.read (Immich's getAssetEdits), editing asset.edit.*
    for method, permission in (
        ("GET", "asset.read"),
        ("PUT", "asset.edit.create"),
        ("DELETE", "asset.edit.delete"),
    ):
        r = other_user.client.request(method, url, json=body if method == "PUT" else None)
        assert r.status_code == 400, r.text
        assert r.json()["message"] == f"Not found or no {permission} access"
    anon = httpx.Client(base_url=stack.url, timeout=60)
    for method in ("GET", "PUT", "DELETE"):
        r = anon.request(method, url, json=body if method == "PUT" else None)
        assert r.status_code == 401, r.text
    link = owner.client.post(
        "/api/shared-links",
        json={"type": "INDIVIDUAL", "assetIds": [small_asset], "allowDownload": True},
    )
    assert link.status_code == 201, link.text
    key = link.json()["key"]
    for method in ("GET", "PUT", "DELETE"):
        r = anon.request(method, url, params={"key": key}, json=body if method == "PUT" else None)
        assert r.status_code == 403, r.text  # the edits routes do not open to shared links
        assert r.json()["message"] == "Forbidden"
    # nothing was saved by any of them
    assert owner.client.get(url).json()["edits"] == []


def _synced_with(device: Device, asset_id: str, *, edited: bool) -> list[Any] | None:
    """One sync of assets and edits (not acknowledged): its lines when the asset's last
    AssetV1 line says ``isEdited`` is ``edited``, else None."""
    lines = device.sync(["AssetsV1", "AssetEditsV1"])
    mine = [d for d in data_lines(lines, "AssetV1") if d["id"] == asset_id]
    return lines if mine and mine[-1]["isEdited"] is edited else None


def test_sync_lines_validate_against_the_spec(
    stack: Stack,
    owner: User,
    other_user: User,
    components: dict[str, Any],  # noqa: F811 - the spec fixture imported above
) -> None:
    asset_id = upload_jpeg(owner, _halves(85))
    wait_processed(owner, [asset_id])
    _wait_for(lambda: owner.client.get(f"/api/assets/{asset_id}").json()["width"], "metadata")
    device = Device(stack, owner)
    device.ack(device.sync(["AssetsV1", "AssetEditsV1"]))
    edits = [
        {"action": "crop", "parameters": {"x": 8, "y": 4, "width": 40, "height": 20}},
        {"action": "rotate", "parameters": {"angle": 270}},
        {"action": "mirror", "parameters": {"axis": "vertical"}},
    ]
    r = owner.client.put(f"/api/assets/{asset_id}/edits", json={"edits": edits})
    assert r.status_code == 200, r.text
    ids = [e["id"] for e in r.json()["edits"]]

    # the edit job rewrites the asset right after the PUT: a sync racing its commit defers the
    # asset's line to the next sync (positions at or past the stream's cutoff), so sync again
    lines = _wait_for(lambda: _synced_with(device, asset_id, edited=True), "AssetV1 isEdited")
    validate(components, lines)
    got = sorted(data_lines(lines, "AssetEditV1"), key=lambda d: d["sequence"])
    assert [(d["id"], d["assetId"], d["sequence"]) for d in got] == [
        (edit_id, asset_id, i) for i, edit_id in enumerate(ids)
    ]
    assert [(d["action"], d["parameters"]) for d in got] == [
        (e["action"], e["parameters"]) for e in edits
    ]
    device.ack(lines)

    assert owner.client.delete(f"/api/assets/{asset_id}/edits").status_code == 204
    lines = _wait_for(lambda: _synced_with(device, asset_id, edited=False), "AssetV1 not edited")
    validate(components, lines)
    assert sorted(d["editId"] for d in data_lines(lines, "AssetEditDeleteV1")) == sorted(ids)
    assert only_complete(Device(stack, other_user).sync(["AssetEditsV1"]))


async def test_the_owners_sockets_get_asset_edit_ready(
    owner: User,
    other_user: User,
    stack: Stack,
    listeners: Any,  # noqa: F811 - the socket fixture imported above
) -> None:
    watcher, stranger = listeners(), listeners()
    await watcher.connect(stack.url, {"x-api-key": owner.api_key})
    await stranger.connect(stack.url, {"x-api-key": other_user.api_key})
    asset_id = await asyncio.to_thread(upload_jpeg, owner, _halves(80))
    await asyncio.to_thread(wait_processed, owner, [asset_id])
    await watcher.wait_for("on_upload_success", lambda d: d["id"] == asset_id)
    edits = {"edits": [{"action": "rotate", "parameters": {"angle": 90}}]}
    r = await asyncio.to_thread(owner.client.put, f"/api/assets/{asset_id}/edits", json=edits)
    assert r.status_code == 200, r.text
    ready = await watcher.wait_for("AssetEditReadyV1", lambda d: d["asset"]["id"] == asset_id)
    check_schema(ready["asset"], "SyncAssetV1")
    assert ready["asset"]["isEdited"] is True
    assert [(e["action"], e["parameters"]) for e in ready["edit"]] == [("rotate", {"angle": 90})]
    for item in ready["edit"]:
        check_schema(item, "AssetEditActionItemResponseDto")
    # the edited thumbnail is there when the event comes: 48x96 (turned), not upscaled
    thumb = await asyncio.to_thread(
        owner.client.get, f"/api/assets/{asset_id}/thumbnail", params={"edited": True}
    )
    assert _size(thumb) == (48, 96)
    assert all(d["asset"]["id"] != asset_id for d in stranger.of("AssetEditReadyV1"))
