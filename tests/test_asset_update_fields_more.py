"""Asset update fields that no other test exercised on a success path, checked against what
Immich 3.1.0 does with them (``AssetService.update``/``updateAll``, ``onAfterUnlink``).

- ``PUT /api/assets`` ``duplicateId``: Immich's ``updateAll`` writes it to the assets (the web
  app uses ``duplicateId: null`` to dismiss a group); a later GET shows it.
- ``PUT /api/assets`` ``timeZone`` alone: the zone is stored in the EXIF row, the capture
  instant stays and ``localDateTime`` becomes the wall clock in that zone.
- ``PUT /api/assets/{id}`` ``livePhotoVideoId: null``: the motion part that shows again takes
  the still's visibility (Immich's ``onAfterUnlink``), so an archived still's motion part
  goes to the archive, not the main timeline.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from darkroom_stack.supervisor import Stack

from .conftest import User, make_user, noise_jpeg, upload, upload_jpeg, wait_processed
from .test_assets_timeline import make_mp4


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> User:
    """A fresh user of this module alone."""
    return make_user(stack, admin)


def _info(user: User, asset_id: str) -> dict:
    r = user.client.get(f"/api/assets/{asset_id}")
    assert r.status_code == 200, r.text
    return r.json()


def test_bulk_duplicate_id_is_set_and_cleared(owner: User) -> None:
    ids = [upload_jpeg(owner, noise_jpeg(7101)), upload_jpeg(owner, noise_jpeg(7102))]
    wait_processed(owner, ids)
    assert all(_info(owner, i)["duplicateId"] is None for i in ids)  # distinct noise
    group = str(uuid.uuid4())
    r = owner.client.put("/api/assets", json={"ids": ids, "duplicateId": group})
    assert r.status_code == 204, r.text
    assert [_info(owner, i)["duplicateId"] for i in ids] == [group, group]
    # null dismisses the group again
    r = owner.client.put("/api/assets", json={"ids": ids, "duplicateId": None})
    assert r.status_code == 204, r.text
    assert [_info(owner, i)["duplicateId"] for i in ids] == [None, None]


def test_bulk_time_zone_alone_keeps_the_instant(owner: User) -> None:
    asset_id = upload_jpeg(owner, noise_jpeg(7103))
    wait_processed(owner, [asset_id])
    r = owner.client.put(
        f"/api/assets/{asset_id}", json={"dateTimeOriginal": "2020-06-01T12:00:00Z"}
    )
    assert r.status_code == 200, r.text
    r = owner.client.put("/api/assets", json={"ids": [asset_id], "timeZone": "Asia/Tokyo"})
    assert r.status_code == 204, r.text
    info = _info(owner, asset_id)
    assert info["exifInfo"]["timeZone"] == "Asia/Tokyo"
    assert info["exifInfo"]["dateTimeOriginal"].startswith("2020-06-01T12:00:00")
    assert info["fileCreatedAt"].startswith("2020-06-01T12:00:00")
    assert info["localDateTime"].startswith("2020-06-01T21:00:00")  # UTC+9


def test_unlinked_motion_part_takes_the_stills_visibility(
    owner: User, tmp_path_factory: pytest.TempPathFactory
) -> None:
    data = make_mp4(tmp_path_factory.mktemp("motion") / "clip.mp4")
    r = upload(owner, Path("motion.mp4"), data=data)
    assert r.status_code == 201, r.text
    video = r.json()["id"]
    still = upload_jpeg(owner, noise_jpeg(7104))
    wait_processed(owner, [video, still])
    r = owner.client.put(
        f"/api/assets/{still}", json={"visibility": "archive", "livePhotoVideoId": video}
    )
    assert r.status_code == 200, r.text
    assert _info(owner, video)["visibility"] == "hidden"
    r = owner.client.put(f"/api/assets/{still}", json={"livePhotoVideoId": None})
    assert r.status_code == 200, r.text
    assert r.json()["livePhotoVideoId"] is None
    assert _info(owner, video)["visibility"] == "archive"  # as the still, not "timeline"
