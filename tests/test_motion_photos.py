"""Motion photos (issue 19 item 3): the MP4 embedded in a Samsung/Google motion photo becomes a
hidden video asset linked as the still's ``livePhotoVideoId``, which plays; a broken one keeps
its still and records why no video was extracted."""

from __future__ import annotations

import hashlib
import io
import time
from base64 import b64encode
from pathlib import Path

import av
import pytest
from darkroom_stack.supervisor import Stack
from darkroom_stack.testing import samples_dir

from .conftest import User, make_user, upload, wait_processed

#: Sample -> (start, end) of its MP4 in the file. ente's start is its manifest's
#: ``video_index_start``; the ends are those of the MP4's last box (Samsung's trailer follows).
MOTION_SAMPLES = {
    "ente_motionphoto.heic": 1455411,
    "immich_samsung-one-ui-6.heic": 452284,
}
CEILING_S = 240.0  # generous: the 2-core CI machine runs the whole pipeline meanwhile


def _sample(name: str) -> Path:
    root = samples_dir()
    path = (root / "videos" / "motion_photos" / name) if root else None
    if path is None or not path.exists():
        pytest.skip(f"motion photo sample {name} not found (set DARKROOM_SAMPLES)")
    return path


def _until(what: str, probe):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + CEILING_S
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"not within {CEILING_S} s: {what}")


def test_motion_photos_are_linked_with_a_playable_video(
    stack: Stack, admin: User, other_user: User
) -> None:
    owner = make_user(stack, admin)
    for name, start in MOTION_SAMPLES.items():
        path = _sample(name)
        data = path.read_bytes()
        r = upload(owner, path)
        assert r.status_code == 201, r.text
        still = r.json()["id"]

        def linked(still: str = still) -> str | None:
            return owner.client.get(f"/api/assets/{still}").json()["livePhotoVideoId"]

        video_id = _until(f"{name} linked to its video", linked)
        video = owner.client.get(f"/api/assets/{video_id}").json()
        assert video["type"] == "VIDEO"
        assert video["visibility"] == "hidden"
        assert video["ownerId"] == owner.id
        # a byte-exact slice of the original, from where the file says, checksummed as such
        extracted = owner.client.get(f"/api/assets/{video_id}/original").content
        assert data.find(extracted) == start and len(extracted) > 100_000
        sha1 = b64encode(hashlib.sha1(extracted, usedforsecurity=False).digest()).decode()
        assert video["checksum"] == sha1
        # the still is untouched
        original = owner.client.get(f"/api/assets/{still}/original").content
        assert original == data

        def playback(video_id: str = video_id) -> bytes | None:
            r = owner.client.get(f"/api/assets/{video_id}/video/playback")
            return r.content if r.status_code == 200 else None

        body = _until(f"{name}'s video playable", playback)
        with av.open(io.BytesIO(body)) as container:
            frame = next(container.decode(video=0))
        assert frame.width > 0 and frame.height > 0

        # nobody else plays it
        refused = other_user.client.get(f"/api/assets/{video_id}/video/playback")
        assert refused.status_code == 400
        anon = owner.client.get(f"/api/assets/{video_id}/video/playback", headers={"x-api-key": ""})
        assert anon.status_code == 401

    # extracted once: refreshing the metadata of every still makes no second video
    stills = [a for a in _assets(owner) if a["type"] == "IMAGE"]
    before = {a["id"]: a["livePhotoVideoId"] for a in stills}
    r = owner.client.post(
        "/api/assets/jobs", json={"assetIds": list(before), "name": "refresh-metadata"}
    )
    assert r.status_code == 204, r.text
    wait_processed(owner, list(before))
    time.sleep(3)  # a second extraction would have to create its asset by now; none may appear
    after = _assets(owner)
    assert len(after) == 2 * len(MOTION_SAMPLES)
    assert {a["id"]: a["livePhotoVideoId"] for a in after if a["type"] == "IMAGE"} == before


def _assets(user: User) -> list[dict]:
    r = user.client.post("/api/search/metadata", json={"withDeleted": False, "visibility": None})
    if r.status_code != 200 or "items" not in r.json().get("assets", {}):
        raise AssertionError(r.text)
    items: list[dict] = r.json()["assets"]["items"]
    hidden = user.client.post("/api/search/metadata", json={"visibility": "hidden"})
    return items + [a for a in hidden.json()["assets"]["items"] if a not in items]


def test_broken_motion_photo_keeps_its_still(admin: User) -> None:
    path = _sample("lychee_google_motion_photo_broken.jpg")
    r = upload(admin, path)
    assert r.status_code in (200, 201), r.text
    still = r.json()["id"]
    wait_processed(admin, [still], timeout=CEILING_S)
    info = admin.client.get(f"/api/assets/{still}").json()
    assert info["livePhotoVideoId"] is None
    assert info["visibility"] == "timeline"
    assert admin.client.get(f"/api/assets/{still}/thumbnail?size=preview").status_code == 200

    def recorded() -> list[dict]:
        jobs = admin.client.get("/api/queues/metadataExtraction/jobs?status=failed").json()
        return [j for j in jobs if j["data"].get("id") == still]

    failures = _until("the reason recorded", recorded)
    assert "MicroVideoOffset" in str(failures[0])
