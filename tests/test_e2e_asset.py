"""Replays Immich's e2e/src/api/specs/asset.e2e-spec.ts (e2e/src/specs/server/api/ in 3.x).

Only what no other module checks:

* ``PUT /api/assets/{id}`` with ``livePhotoVideoId``: a photo is refused with "Live photo
  video must be a video", another user's video with "Live photo video does not belong to the
  user", an unknown id with "Live photo video not found" (Immich's ``onBeforeLink``,
  server/src/utils/asset.util.ts); the caller's own video links and ``null`` unlinks.
* A partner may read the sharer's asset, but not an archived or a trashed one (400).
* Immich's own test assets: ``thompson-springs.jpg`` (its webp thumbnail and jpeg preview carry
  no GPS; the original downloads byte for byte, its SHA-1 the asset's checksum),
  ``mongolels.jpg`` (rating 3), ``8bit-sRGB.jxl`` (1440x1080, 1,780,777 bytes, empty
  description); uploading one again answers ``{"status": "duplicate"}``.
* A user with a quota: an upload counts toward ``quotaUsageInBytes`` and answers
  ``{id, status: "created"}``; one past the quota is refused, 400 "Quota has been exceeded!".
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from pathlib import Path

import httpx
import pytest
import pyvips
from darkroom_stack.supervisor import Stack

from .conftest import User, make_user, noise_jpeg, upload_jpeg, wait_processed

TEST_ASSETS = Path("/work/shared/samples/photos/immich_test-assets")
VIDEO = Path("/work/shared/samples/videos/photoprism/assets/examples/blue-go-video.mp4")


def _upload(user: User, data: bytes, name: str, **fields: str) -> httpx.Response:
    """``POST /api/assets`` as Immich's ``utils.createAsset``."""
    return user.client.post(
        "/api/assets",
        files={"assetData": (name, data, "application/octet-stream")},
        data={
            "deviceAssetId": uuid.uuid4().hex,
            "deviceId": "e2e",
            "fileCreatedAt": "2023-11-03T00:00:00.000Z",
            "fileModifiedAt": "2023-11-03T00:00:00.000Z",
            **fields,
        },
    )


def _sample(relative: str) -> bytes:
    path = TEST_ASSETS / relative
    if not path.exists():
        pytest.skip(f"Immich's test asset {path} is not here")
    return path.read_bytes()


def test_live_photo_link_refusals_use_immichs_messages(stack: Stack, admin: User) -> None:
    if not VIDEO.exists():
        pytest.skip(f"sample video {VIDEO} is not here")
    user1, user2 = make_user(stack, admin), make_user(stack, admin)
    still = upload_jpeg(user1, noise_jpeg(9101))
    photo = upload_jpeg(user1, noise_jpeg(9102))
    theirs = _upload(user2, VIDEO.read_bytes(), "example.mp4").json()["id"]
    mine = _upload(user1, VIDEO.read_bytes(), "example.mp4").json()["id"]

    for video_id, message in (
        (photo, "Live photo video must be a video"),
        (theirs, "Live photo video does not belong to the user"),
        (str(uuid.uuid4()), "Live photo video not found"),
    ):
        r = user1.client.put(f"/api/assets/{still}", json={"livePhotoVideoId": video_id})
        assert (r.status_code, r.json()) == (400, {"message": message})

    r = user1.client.put(f"/api/assets/{still}", json={"livePhotoVideoId": mine})
    assert r.status_code == 200 and r.json()["livePhotoVideoId"] == mine, r.text
    r = user1.client.put(f"/api/assets/{still}", json={"livePhotoVideoId": None})
    assert r.status_code == 200 and r.json()["livePhotoVideoId"] is None, r.text


def test_partner_sees_neither_archived_nor_trashed_assets(stack: Stack, admin: User) -> None:
    user1, user2 = make_user(stack, admin), make_user(stack, admin)
    assert user1.client.post(f"/api/partners/{user2.id}").status_code == 201
    shown = upload_jpeg(user1, noise_jpeg(9111))
    archived = _upload(user1, noise_jpeg(9112), "a.jpg", visibility="archive").json()["id"]
    trashed = upload_jpeg(user1, noise_jpeg(9113))
    assert user1.client.request("DELETE", "/api/assets", json={"ids": [trashed]}).status_code == 204

    assert user2.client.get(f"/api/assets/{shown}").json()["id"] == shown
    for asset_id in (archived, trashed):
        assert user2.client.get(f"/api/assets/{asset_id}").status_code == 400


def _has_gps(image: bytes) -> bool:
    """Whether ``image`` carries an EXIF block with GPS tags (as exiftool would list them)."""
    loaded = pyvips.Image.new_from_buffer(image, "")
    return any(f.startswith("exif-ifd3-") for f in loaded.get_fields())


def test_immich_test_assets(admin: User) -> None:
    location = _sample("metadata/gps-position/thompson-springs.jpg")
    rating = _sample("metadata/rating/mongolels.jpg")
    jxl = _sample("formats/jxl/8bit-sRGB.jxl")
    ids = []
    for data, name in (
        (location, "thompson-springs.jpg"),
        (rating, "mongolels.jpg"),
        (jxl, "x.jxl"),
    ):
        r = _upload(admin, data, name)
        assert r.status_code in (200, 201), r.text
        ids.append(r.json()["id"])
    location_id, rating_id, jxl_id = ids
    wait_processed(admin, ids)

    webp = admin.client.get(f"/api/assets/{location_id}/thumbnail", params={"format": "WEBP"})
    assert webp.status_code == 200 and webp.headers["content-type"] == "image/webp"
    preview = admin.client.get(f"/api/assets/{location_id}/thumbnail", params={"size": "preview"})
    assert preview.status_code == 200 and preview.headers["content-type"] == "image/jpeg"
    assert _has_gps(location), "the sample lost its GPS"
    assert not _has_gps(webp.content) and not _has_gps(preview.content)

    original = admin.client.get(f"/api/assets/{location_id}/original")
    assert original.status_code == 200 and original.headers["content-type"] == "image/jpeg"
    assert original.content == location
    checksum = base64.b64encode(hashlib.sha1(location).digest()).decode()
    assert admin.client.get(f"/api/assets/{location_id}").json()["checksum"] == checksum

    assert admin.client.get(f"/api/assets/{rating_id}").json()["exifInfo"]["rating"] == 3
    asset = admin.client.get(f"/api/assets/{jxl_id}").json()
    assert asset["type"] == "IMAGE"
    exif = asset["exifInfo"]
    assert (exif["exifImageWidth"], exif["exifImageHeight"]) == (1440, 1080), exif
    assert (exif["fileSizeInByte"], exif["description"]) == (1_780_777, ""), exif

    again = _upload(admin, location, "thompson-springs.jpg")
    assert again.json() == {"id": location_id, "status": "duplicate"}, again.text


def test_quota_counts_uploads_and_refuses_past_it(stack: Stack, admin: User) -> None:
    user = make_user(stack, admin)
    r = admin.client.put(f"/api/admin/users/{user.id}", json={"quotaSizeInBytes": 512})
    assert r.status_code == 200, r.text
    pixels = pyvips.Image.black(2, 2).cast("uchar")
    small = bytes(pixels.pngsave_buffer())
    assert len(small) < 512

    r = _upload(user, small, "example.jpg")
    assert r.status_code == 201 and set(r.json()) == {"id", "status"}, r.text
    assert r.json()["status"] == "created"
    assert user.client.get("/api/users/me").json()["quotaUsageInBytes"] == len(small)

    r = _upload(user, noise_jpeg(9121) + bytes(2014), "example.jpg")
    assert (r.status_code, r.json()) == (400, {"message": "Quota has been exceeded!"})
