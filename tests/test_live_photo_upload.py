"""Immich clients upload a live photo's motion part first, then the still with
``livePhotoVideoId``: the two end linked and the video leaves the timeline."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pyvips
from darkroom_stack.supervisor import Stack

from .conftest import User, make_user


def _clip(path: Path, seed: int) -> bytes:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        stream.time_base = Fraction(1, 10)
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(
                np.full((64, 64, 3), (seed * 40 + i * 9) % 255, dtype=np.uint8), format="rgb24"
            )
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path.read_bytes()


def _post(user: User, name: str, data: bytes, **fields: str) -> dict:
    r = user.client.post(
        "/api/assets",
        files={"assetData": (name, data)},
        data={
            "deviceAssetId": name,
            "deviceId": "pytest",
            "fileCreatedAt": "2023-06-01T10:00:00Z",
            "fileModifiedAt": "2023-06-01T10:00:00Z",
            **fields,
        },
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_still_uploaded_with_live_photo_video_id_is_linked(
    stack: Stack, admin: User, tmp_path: Path
) -> None:
    owner = make_user(stack, admin)
    video = _post(owner, "IMG_1.MOV", _clip(tmp_path / "a.mp4", 1))
    still = _post(
        owner,
        "IMG_1.JPG",
        pyvips.Image.black(40, 30).jpegsave_buffer(),
        livePhotoVideoId=video["id"],
    )
    info = owner.client.get(f"/api/assets/{still['id']}").json()
    assert info["livePhotoVideoId"] == video["id"]
    assert owner.client.get(f"/api/assets/{video['id']}").json()["visibility"] == "hidden"

    # someone else's video id links nothing, and a malformed id is a clear 400
    stranger = make_user(stack, admin)
    theirs = _post(stranger, "IMG_2.MOV", _clip(tmp_path / "b.mp4", 2))
    other = _post(
        owner,
        "IMG_2.JPG",
        (pyvips.Image.black(40, 30) + 9).jpegsave_buffer(),
        livePhotoVideoId=theirs["id"],
    )
    assert owner.client.get(f"/api/assets/{other['id']}").json()["livePhotoVideoId"] is None
    assert stranger.client.get(f"/api/assets/{theirs['id']}").json()["visibility"] == "timeline"
    bad = owner.client.post(
        "/api/assets",
        files={"assetData": ("x.jpg", b"\xff\xd8\xff")},
        data={
            "fileCreatedAt": "2023-06-01T10:00:00Z",
            "fileModifiedAt": "2023-06-01T10:00:00Z",
            "livePhotoVideoId": "not-a-uuid",
        },
    )
    assert bad.status_code == 400 and "livePhotoVideoId" in bad.json()["message"]


def test_album_members_play_its_videos_and_live_motion(
    stack: Stack, admin: User, tmp_path: Path
) -> None:
    """A member of a shared album plays its videos and the motion of its live photos (as the
    web viewer does); someone outside the album gets 404 for both."""
    owner, member, stranger = (make_user(stack, admin) for _ in range(3))
    motion = _post(owner, "IMG_3.MOV", _clip(tmp_path / "m.mp4", 3))
    still = _post(
        owner,
        "IMG_3.JPG",
        (pyvips.Image.black(40, 30) + 30).jpegsave_buffer(),
        livePhotoVideoId=motion["id"],
    )
    clip = _post(owner, "CLIP.MP4", _clip(tmp_path / "c.mp4", 4))
    album = owner.client.post(
        "/api/albums",
        json={
            "albumName": "Shared",
            "assetIds": [still["id"], clip["id"]],
            "albumUsers": [{"userId": member.id, "role": "viewer"}],
        },
    )
    assert album.status_code == 201, album.text
    for asset_id in (motion["id"], clip["id"]):
        played = member.client.get(f"/api/assets/{asset_id}/video/playback")
        assert played.status_code == 200, played.text
        assert played.content[4:8] == b"ftyp"  # an MP4 (the original or the transcoded one)
        assert stranger.client.get(f"/api/assets/{asset_id}/video/playback").status_code == 400
    # The motion part alone is not an album asset: the member cannot change or delete it.
    assert member.client.put(
        f"/api/assets/{motion['id']}", json={"isFavorite": True}
    ).status_code in (400, 403, 404)
    # Out of the album, out of reach.
    removed = owner.client.request(
        "DELETE", f"/api/albums/{album.json()['id']}/assets", json={"ids": [still["id"]]}
    )
    assert removed.status_code == 200, removed.text
    assert member.client.get(f"/api/assets/{motion['id']}/video/playback").status_code == 400
