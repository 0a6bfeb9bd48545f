"""Video end to end (issue 6): transcoding, playback with Range, live photos, crash safety.

Runs its own small stack (ingest, metadata, thumbnail, transcode, gateway) with a 480p target
so transcodes stay quick on 2 cores, and a scratch folder inside the stack's data dir so the
test can prove a killed transcode leaves nothing behind.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import av
import psycopg
import pytest
from darkroom_stack.supervisor import Stack
from darkroom_stack.testing import samples_dir
from darkroom_transcode.testing import make_clip

from .conftest import User, first_admin, make_user, running_stack, upload

SERVICES = ("ingest", "metadata", "thumbnail", "transcode", "gateway")


@pytest.fixture(scope="module")
def video_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data = tmp_path_factory.mktemp("video-stack")
    with running_stack(
        data,
        services=SERVICES,
        env={
            "DARKROOM_TRANSCODE_TARGET_RESOLUTION": "480",
            "DARKROOM_PROGRESS_INTERVAL_S": "0.3",
            "DARKROOM_SCRATCH_DIR": str(data / "scratch"),
        },
    ) as running:
        yield running


@pytest.fixture(scope="module")
def owner(video_stack: Stack) -> User:
    return first_admin(video_stack)


def sample(rel: str) -> Path:
    root = samples_dir()
    path = root / "videos" / rel if root else None
    if path is None or not path.is_file():
        pytest.skip(f"sample video {rel} not found (set DARKROOM_SAMPLES)")
    return path


def job_row(stack: Stack, asset_id: str) -> dict:
    with psycopg.connect(stack.env()["DARKROOM_DATABASE_URL"]) as conn:
        cur = conn.execute(
            "SELECT transcoded_at, transcode_progress, transcode_decision, failed_reason "
            "FROM asset_job_status WHERE asset_id = %s",
            (asset_id,),
        )
        row = cur.fetchone()
        assert row is not None
        return dict(zip(("transcoded_at", "progress", "decision", "failed"), row, strict=True))


def wait_transcoded(stack: Stack, asset_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = job_row(stack, asset_id)
        assert row["failed"] is None, row
        if row["transcoded_at"] is not None:
            return row
        time.sleep(0.3)
    raise AssertionError(f"asset {asset_id} was not transcoded in {timeout} s: {row}")


def created(r) -> str:
    assert r.status_code in (200, 201), r.text
    return r.json()["id"]


def decode_all(path: Path) -> tuple[int, float, int, int, int]:
    """(frames, video end in s, width, height, display rotation) after decoding every frame."""
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        n, last = 0, None
        for frame in c.decode(v):
            n, last = n + 1, frame
        assert last is not None
        end = float((last.pts + (last.duration or 0)) * v.time_base)
        return n, end, last.width, last.height, int(last.rotation or 0)


def test_hevc_phone_video_plays_upright_and_seeks(
    video_stack: Stack, owner: User, tmp_path: Path
) -> None:
    src = sample("photoprism/pkg/media/video/testdata/quicktime-hvc1.mov")  # HEVC, rotated
    asset_id = created(upload(owner, src))
    row = wait_transcoded(video_stack, asset_id)
    assert row["decision"].startswith("transcoded:") and "hevc" in row["decision"]
    assert row["progress"] == 100.0

    r = owner.client.get(f"/api/assets/{asset_id}/video/playback")
    assert r.status_code == 200 and r.headers["content-type"].startswith("video/mp4")
    assert r.headers["accept-ranges"] == "bytes"
    body = r.content
    (tmp_path / "play.mp4").write_bytes(body)
    frames, end, width, height, rotation = decode_all(tmp_path / "play.mp4")
    with av.open(str(src)) as c:
        src_duration = c.duration / av.time_base
    assert abs(end - src_duration) <= 0.2
    assert (width, height, rotation) == (480, 854, 0)  # portrait, upright, 480p
    assert frames >= 30

    size = len(body)
    start, stop = size // 3, size // 3 + 9999
    part = owner.client.get(
        f"/api/assets/{asset_id}/video/playback", headers={"Range": f"bytes={start}-{stop}"}
    )
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes {start}-{stop}/{size}"
    assert part.content == body[start : stop + 1]

    stranger = make_user(video_stack, owner)
    assert stranger.client.get(f"/api/assets/{asset_id}/video/playback").status_code == 400


def test_playable_mp4_is_served_as_is(video_stack: Stack, owner: User) -> None:
    src = sample("photoprism/assets/examples/blue-go-video.mp4")  # H.264/AAC MP4, 270x480
    asset_id = created(upload(owner, src))
    row = wait_transcoded(video_stack, asset_id)
    assert row["decision"] == "skipped: already playable"
    r = owner.client.get(f"/api/assets/{asset_id}/video/playback")
    assert r.status_code == 200 and r.content == src.read_bytes()
    encoded = video_stack.config.data_dir / "storage" / "encoded-video"
    # no MP4 was encoded (the HLS ladder, ``<id>.hls.ts``, is made for every video)
    assert not any(encoded.rglob(f"{asset_id}.mp4"))


@pytest.mark.parametrize("still_first", [True, False])
def test_live_photo_pair_links_in_either_order(
    video_stack: Stack, owner: User, still_first: bool
) -> None:
    still = sample("livephoto_pair_lychee/train.jpg")
    motion = sample("livephoto_pair_lychee/train.mov")
    user = make_user(video_stack, owner)  # a fresh library per order (same files)
    first, second = (still, motion) if still_first else (motion, still)
    ids = {first.suffix: created(upload(user, first))}
    ids[second.suffix] = created(upload(user, second))
    deadline = time.monotonic() + 60
    info = {}
    while time.monotonic() < deadline:
        info = user.client.get(f"/api/assets/{ids['.jpg']}").json()
        if info.get("livePhotoVideoId"):
            break
        time.sleep(0.3)
    assert info.get("livePhotoVideoId") == ids[".mov"]
    video = user.client.get(f"/api/assets/{ids['.mov']}").json()
    assert video["visibility"] == "hidden"
    stats = user.client.get("/api/assets/statistics").json()
    assert (stats["images"], stats["videos"]) == (1, 0)  # the motion part is not in the timeline
    # the motion part is still playable through the still's livePhotoVideoId
    r = user.client.get(
        f"/api/assets/{ids['.mov']}/video/playback", headers={"Range": "bytes=0-99"}
    )
    assert r.status_code == 206 and len(r.content) == 100
    # another user's live photo with the same content identifier is never linked to this one
    assert owner.client.get(f"/api/assets/{ids['.jpg']}").status_code in (400, 404)


def test_kill_during_transcode_redoes_it_once(
    video_stack: Stack, owner: User, tmp_path: Path
) -> None:
    clip = make_clip(tmp_path / "long.mov", seconds=20, fps=30, container="mov")
    asset_id = created(upload(owner, clip))
    deadline = time.monotonic() + 120
    progress = None
    while time.monotonic() < deadline:
        progress = job_row(video_stack, asset_id)["progress"]
        if progress is not None and 5 <= progress < 80:
            break
        time.sleep(0.1)
    assert progress is not None and 5 <= progress < 80, f"never caught mid-transcode: {progress}"
    video_stack.kill("transcode")  # SIGKILL; the supervisor starts it again

    row = wait_transcoded(video_stack, asset_id, timeout=180)
    assert row["progress"] == 100.0
    # the same job then makes the HLS ladder (issue #19): wait for it before looking at files
    deadline = time.monotonic() + 300
    while owner.client.get(f"/api/assets/{asset_id}/video/hls/master.m3u8").is_error:
        assert time.monotonic() < deadline, "no HLS ladder in 300 s"
        time.sleep(0.3)
    storage = video_stack.config.data_dir / "storage"
    files = [p for p in (storage / "encoded-video").rglob("*") if p.is_file()]
    ours = [p for p in files if asset_id in p.name]
    assert sorted(p.name for p in ours) == [f"{asset_id}.hls.ts", f"{asset_id}.mp4"]
    ours = [p for p in ours if p.suffix == ".mp4"]
    assert not [p for p in storage.rglob("*") if ".tmp-" in p.name]  # no half-written objects
    scratch = video_stack.config.data_dir / "scratch"
    assert not list(scratch.glob("darkroom-transcode-*"))  # the killed run's encode removed
    frames, end, width, height, _ = decode_all(ours[0])
    assert (frames, width, height) == (600, 854, 480)
    assert abs(end - 20.0) <= 0.2
    log = (video_stack.config.data_dir / "logs" / "transcode.log").read_text()
    done = [ln for ln in log.splitlines() if "transcode.done" in ln and asset_id in ln]
    assert len(done) == 1
