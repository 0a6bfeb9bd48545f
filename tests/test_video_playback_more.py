"""Video playback and streaming as Immich answers them, on a small stack of its own.

The module changes the system config (``ffmpeg.*``), so it runs its own stack (ingest,
metadata, thumbnail, transcode, gateway; 480p target) rather than the session's. Videos are
generated with PyAV (:func:`darkroom_transcode.testing.make_clip`), 1 s at 320x240, each one
distinct so no upload is a duplicate.

* The transcode policy reads ``ffmpeg.acceptedContainers``, ``acceptedVideoCodecs``,
  ``acceptedAudioCodecs`` and ``maxBitrate`` from the system config in force (Immich:
  media.service ``isVideoTranscodeRequired``, ``isAudioTranscodeRequired``,
  ``isRemuxRequired``, ``parseBitrateToBps``, all over ``getConfig().ffmpeg``): a playable
  H.264/AAC ``.mov`` is served as uploaded once ``mov`` is accepted, an HEVC video once
  ``hevc`` is, an AAC track is re-encoded once ``aac`` is no longer accepted, and policy
  ``bitrate`` transcodes a video above ``maxBitrate``. ``/video/playback`` then serves the
  original (its own content type) or the encoded MP4 (Immich: asset-media.service
  ``playbackVideo``, ``encodedVideoPath || originalPath``).
* ``GET /video/stream/main.m3u8`` is 400 "Real-time transcoding is not enabled" until
  ``ffmpeg.realtime.enabled`` (Immich: hls.service ``getMainPlaylist``, after the access
  check, so a stranger is refused as one), and ``/api/server/features`` says
  ``realtimeTranscoding`` as that setting does (Immich: server.service ``getFeatures``).
* A stream session is one ``main.m3u8`` issued for that asset: a made-up session id (or
  another asset's) is 404 on the media playlist ("Asset not found or metadata not yet ready
  for streaming", Immich: hls.service ``getMediaPlaylist``, ``getForMediaPlaylist(assetId,
  sessionId)``) and on a segment ("Session not found", ``getSegment``), after the 400s of
  malformed parameters; ``DELETE`` of any session is 204 (``endSession`` only announces it).
* A range past the end is 416 with ``Content-Range: bytes */<size>`` (RFC 9110 section
  14.4; Immich's ``sendFile`` goes through Express ``send``, which sets exactly that header),
  on ``/video/playback`` and on an HLS segment.
"""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from darkroom_stack.supervisor import Stack
from darkroom_transcode.testing import make_clip

from .conftest import User, db_rows, first_admin, make_user, running_stack, save_config, upload

SERVICES = ("ingest", "metadata", "thumbnail", "transcode", "gateway")


@pytest.fixture(scope="module")
def vstack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data = tmp_path_factory.mktemp("videoplay-stack")
    with running_stack(
        data, services=SERVICES, env={"DARKROOM_TRANSCODE_TARGET_RESOLUTION": "480"}
    ) as running:
        yield running


@pytest.fixture(scope="module")
def owner(vstack: Stack) -> User:
    return first_admin(vstack)


@pytest.fixture(scope="module")
def baseline(owner: User) -> dict:
    """The system config the stack started with (each test states its ffmpeg changes)."""
    return owner.client.get("/api/system-config").json()


def _ffmpeg(vstack: Stack, owner: User, baseline: dict, **changes: object) -> None:
    """Save ``baseline`` with ``ffmpeg`` fields changed; wait until transcode applies it."""
    config = copy.deepcopy(baseline)
    config["ffmpeg"].update(changes)
    save_config(vstack, owner, config, "transcode")


def _clip(tmp_path: Path, name: str, seed: int, **kwargs: object) -> Path:
    """A 1 s 320x240 clip; ``seed`` varies the length so every file differs."""
    return make_clip(tmp_path / name, seconds=1 + seed / 30, width=320, height=240, **kwargs)


def _upload(user: User, path: Path) -> str:
    r = upload(user, path)
    assert r.status_code in (200, 201), r.text
    return r.json()["id"]


def _decision(vstack: Stack, asset_id: str, timeout: float = 120) -> str:
    """The transcode decision recorded for the asset ("skipped: ..."/"transcoded: ...")."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = db_rows(
            vstack,
            "SELECT transcode_decision, failed_reason FROM asset_job_status "
            "WHERE asset_id = $1::uuid",
            asset_id,
        )
        if rows and rows[0]["failed_reason"]:
            raise AssertionError(rows[0]["failed_reason"])
        if rows and rows[0]["transcode_decision"]:
            return str(rows[0]["transcode_decision"])
        time.sleep(0.3)
    raise AssertionError(f"no transcode decision for {asset_id} in {timeout} s")


def _wait_ladder(user: User, asset_id: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while user.client.get(f"/api/assets/{asset_id}/video/hls/master.m3u8").status_code != 200:
        assert time.monotonic() < deadline, "no HLS ladder"
        time.sleep(0.3)


def test_accepted_containers_and_codecs_come_from_the_system_config(
    vstack: Stack, owner: User, baseline: dict, tmp_path: Path
) -> None:
    _ffmpeg(
        vstack,
        owner,
        baseline,
        transcode="required",
        acceptedContainers=["mov", "mp4"],
        acceptedVideoCodecs=["h264", "hevc"],
    )
    mov = _clip(tmp_path, "phone.mov", 1, container="mov")
    hevc = _clip(tmp_path, "hevc.mp4", 2, codec="libx265")
    mov_id, hevc_id = _upload(owner, mov), _upload(owner, hevc)
    assert _decision(vstack, mov_id) == "skipped: already playable"
    assert _decision(vstack, hevc_id) == "skipped: already playable"
    played = owner.client.get(f"/api/assets/{mov_id}/video/playback")
    assert played.status_code == 200
    assert played.headers["content-type"].startswith("video/quicktime")
    assert played.content == mov.read_bytes()
    assert owner.client.get(f"/api/assets/{hevc_id}/video/playback").content == hevc.read_bytes()


def test_audio_codecs_and_max_bitrate_come_from_the_system_config(
    vstack: Stack, owner: User, baseline: dict, tmp_path: Path
) -> None:
    # AAC no longer accepted: an H.264/AAC MP4 is transcoded for its audio
    _ffmpeg(vstack, owner, baseline, transcode="required", acceptedAudioCodecs=["mp3"])
    aac = _clip(tmp_path, "aac.mp4", 3)
    aac_id = _upload(owner, aac)
    decision = _decision(vstack, aac_id)
    assert decision.startswith("transcoded:") and "audio codec aac" in decision, decision
    played = owner.client.get(f"/api/assets/{aac_id}/video/playback")
    assert played.headers["content-type"].startswith("video/mp4")
    assert played.content != aac.read_bytes()  # the encoded MP4, not the original
    # policy bitrate: a video above maxBitrate (1 kb/s) is transcoded
    _ffmpeg(vstack, owner, baseline, transcode="bitrate", maxBitrate="1k")
    rich_id = _upload(owner, _clip(tmp_path, "rich.mp4", 4))
    decision = _decision(vstack, rich_id)
    assert decision.startswith("transcoded:") and "bitrate" in decision, decision
    _ffmpeg(vstack, owner, baseline)


def test_main_playlist_needs_realtime_transcoding(
    vstack: Stack, owner: User, baseline: dict, tmp_path: Path
) -> None:
    asset_id = _upload(owner, _clip(tmp_path, "stream.mp4", 5))
    _wait_ladder(owner, asset_id)
    main = f"/api/assets/{asset_id}/video/stream/main.m3u8"
    _ffmpeg(vstack, owner, baseline)  # realtime off (Immich's default)
    assert owner.client.get("/api/server/features").json()["realtimeTranscoding"] is False
    r = owner.client.get(main)
    assert r.status_code == 400, r.text
    assert r.json()["message"] == "Real-time transcoding is not enabled"
    stranger = make_user(vstack, owner)
    refused = stranger.client.get(main)  # access is checked first
    assert refused.status_code == 400
    assert refused.json()["message"] == "Not found or no asset.view access"

    config = copy.deepcopy(baseline)
    config["ffmpeg"]["realtime"] = {**config["ffmpeg"]["realtime"], "enabled": True}
    save_config(vstack, owner, config, "transcode")
    try:
        assert owner.client.get("/api/server/features").json()["realtimeTranscoding"] is True
        r = owner.client.get(main)
        assert r.status_code == 200, r.text
        assert r.text.startswith("#EXTM3U\n")
        assert stranger.client.get(main).status_code == 400
    finally:
        _ffmpeg(vstack, owner, baseline)


def test_unsatisfiable_range_names_the_size(
    vstack: Stack, owner: User, baseline: dict, tmp_path: Path
) -> None:
    asset_id = _upload(owner, _clip(tmp_path, "range.mp4", 6))
    _decision(vstack, asset_id)
    _wait_ladder(owner, asset_id)
    url = f"/api/assets/{asset_id}/video/playback"
    size = len(owner.client.get(url).content)
    for header in (f"bytes={size}-", f"bytes={size + 10}-{size + 20}", "bytes=-0"):
        r = owner.client.get(url, headers={"Range": header})
        assert r.status_code == 416, (header, r.status_code)
        assert r.headers.get("content-range") == f"bytes */{size}", header
    hls = f"/api/assets/{asset_id}/video/hls"
    rendition = owner.client.get(f"{hls}/master.m3u8").text.splitlines()[-1].split("/")[0]
    segment = f"{hls}/{rendition}/segment/0"
    seg_size = len(owner.client.get(segment).content)
    r = owner.client.get(segment, headers={"Range": f"bytes={seg_size}-"})
    assert r.status_code == 416
    assert r.headers.get("content-range") == f"bytes */{seg_size}"


def test_stream_sessions_are_the_ones_main_issued(
    vstack: Stack, owner: User, baseline: dict, tmp_path: Path
) -> None:
    first = _upload(owner, _clip(tmp_path, "one.mp4", 7))
    second = _upload(owner, _clip(tmp_path, "two.mp4", 8))
    _wait_ladder(owner, first)
    _wait_ladder(owner, second)
    config = copy.deepcopy(baseline)
    config["ffmpeg"]["realtime"] = {**config["ffmpeg"]["realtime"], "enabled": True}
    save_config(vstack, owner, config, "transcode")
    try:
        stream = f"/api/assets/{first}/video/stream"
        issued = owner.client.get(f"{stream}/main.m3u8").text.splitlines()[-1].split("/")[0]
        assert owner.client.get(f"{stream}/{issued}/0/playlist.m3u8").status_code == 200
        assert owner.client.get(f"{stream}/{issued}/0/seg_0.m4s").status_code == 200
        main = owner.client.get(f"/api/assets/{second}/video/stream/main.m3u8")
        elsewhere = main.text.splitlines()[-1].split("/")[0]
        for session in (str(uuid.uuid4()), elsewhere):
            r = owner.client.get(f"{stream}/{session}/0/playlist.m3u8")
            assert r.status_code == 404, (session, r.status_code)
            assert r.json()["message"] == "Asset not found or metadata not yet ready for streaming"
            r = owner.client.get(f"{stream}/{session}/0/seg_0.m4s")
            assert r.status_code == 404, (session, r.status_code)
            assert r.json()["message"] == "Session not found"
            # malformed parameters are refused first, as Immich validates before its service
            assert owner.client.get(f"{stream}/{session}/x/playlist.m3u8").status_code == 400
            assert owner.client.get(f"{stream}/{session}/0/seg_0.ts").status_code == 400
            assert owner.client.delete(f"{stream}/{session}").status_code == 204
        stranger = make_user(vstack, owner)
        refused = stranger.client.get(f"{stream}/{issued}/0/seg_0.m4s")
        assert refused.status_code == 400
        assert refused.json()["message"] == "Not found or no asset.view access"
    finally:
        _ffmpeg(vstack, owner, baseline)
