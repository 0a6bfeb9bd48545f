"""Replays Immich's server/src/services/asset.service.spec.ts over HTTP.

Only what no other module checks (live-photo link refusals, unlink, stacks after a delete,
the sanitized asset of a metadata-hiding link, access refusals and asset jobs are covered in
test_e2e_asset, test_asset_update_fields_more, test_stacks, test_asset_read_fields_more,
test_error_bodies, test_jobs, test_pipeline_integrity):

* ``handleAssetDeletion`` "should not delete a live motion part if it is being used by another
  asset": force-deleting one of two stills linked to the same video keeps the video.
* ``handleAssetDeletion`` "should update usage": a force delete gives the bytes back to
  ``quotaUsageInBytes``.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx
from darkroom_stack.supervisor import Stack

from .conftest import User, make_user, noise_jpeg
from .test_live_photo_upload import _clip


def _post(user: User, name: str, data: bytes, **fields: str) -> httpx.Response:
    return user.client.post(
        "/api/assets",
        files={"assetData": (name, data, "application/octet-stream")},
        data={
            "deviceAssetId": uuid.uuid4().hex,
            "deviceId": "pytest",
            "fileCreatedAt": "2019-05-06T07:08:09.000Z",
            "fileModifiedAt": "2019-05-06T07:08:09.000Z",
            **fields,
        },
    )


def _usage(user: User) -> int:
    return int(user.client.get("/api/users/me").json()["quotaUsageInBytes"] or 0)


def test_a_motion_part_another_still_uses_survives_a_delete(
    stack: Stack, admin: User, tmp_path: Path
) -> None:
    owner = make_user(stack, admin)
    video = _post(owner, "IMG_7.MOV", _clip(tmp_path / "m.mp4", 7))
    assert video.status_code == 201, video.text
    video_id = video.json()["id"]
    stills = []
    for seed in (78001, 78002):
        r = _post(owner, f"IMG_{seed}.JPG", noise_jpeg(seed), livePhotoVideoId=video_id)
        assert r.status_code == 201, r.text
        stills.append(r.json()["id"])
    r = owner.client.request("DELETE", "/api/assets", json={"ids": [stills[0]], "force": True})
    assert r.status_code == 204, r.text
    time.sleep(3)  # give a (wrong) cascade time to happen
    assert owner.client.get(f"/api/assets/{stills[0]}").status_code == 400
    assert owner.client.get(f"/api/assets/{video_id}").status_code == 200
    assert owner.client.get(f"/api/assets/{stills[1]}").json()["livePhotoVideoId"] == video_id


def test_a_force_delete_gives_the_bytes_back(stack: Stack, admin: User) -> None:
    owner = make_user(stack, admin)
    data = noise_jpeg(78010)
    r = _post(owner, "give-back.jpg", data)
    assert r.status_code == 201, r.text
    assert _usage(owner) == len(data)
    r = owner.client.request("DELETE", "/api/assets", json={"ids": [r.json()["id"]], "force": True})
    assert r.status_code == 204, r.text
    deadline = time.monotonic() + 30
    while _usage(owner) != 0 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _usage(owner) == 0
