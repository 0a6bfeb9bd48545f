"""HLS adaptive streaming end to end (issue #19 item 1), on the session stack.

A short phone video (1280x720, H.264 + AAC, 3.6 s) is uploaded; the transcode service makes
its ladder; the master playlist lists the renditions the source allows (360p and 720p, not
1080p: never upscaled), every rendition's segments, fetched over HTTP the way a player does
(relative URIs resolved against the playlist), decode with PyAV and add up to the video's
duration; another user and an anonymous client are refused on the playlists and the
segments; a shared link's key travels in the playlists' URIs.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator
from pathlib import Path

import av
import httpx
import pytest
from darkroom_stack.supervisor import Stack
from darkroom_stack.testing import samples_dir

from .conftest import User, noise_jpeg, save_config, upload, upload_jpeg

SAMPLE = "metadata-extractor-images/mp4/Issue 515 (java).mp4"


def _sample() -> Path:
    root = samples_dir()
    path = root / "videos" / SAMPLE if root else None
    if path is None or not path.is_file():
        pytest.skip(f"sample video {SAMPLE} not found (set DARKROOM_SAMPLES)")
    return path


def uris(playlist: str) -> list[str]:
    """The URI lines of a playlist."""
    return [line for line in playlist.splitlines() if line and not line.startswith("#")]


@pytest.fixture(scope="module")
def video(admin: User) -> Iterator[tuple[str, Path]]:
    """(asset id, file) of the sample once its HLS ladder is served (polled, 10 min ceiling)."""
    path = _sample()
    r = upload(admin, path, name="hls-sample.mp4")
    assert r.status_code in (200, 201), r.text
    asset_id = r.json()["id"]
    deadline = time.monotonic() + 600
    while True:
        master = admin.client.get(f"/api/assets/{asset_id}/video/hls/master.m3u8")
        if master.status_code == 200 or time.monotonic() > deadline:
            break
        # the route answers (no ladder yet), not the router's own 404
        assert master.json()["message"] == "Asset media not found", master.text
        time.sleep(0.5)
    assert master.status_code == 200, "no HLS ladder in 10 minutes"
    yield asset_id, path
    admin.client.request("DELETE", "/api/assets", json={"ids": [asset_id], "force": True})


def test_every_rendition_decodes_and_adds_up_to_the_video(
    admin: User, video: tuple[str, Path]
) -> None:
    asset_id, path = video
    with av.open(str(path)) as c:
        duration = c.duration / av.time_base
        frame = 1 / float(c.streams.video[0].average_rate)
    base = f"{admin.client.base_url}/api/assets/{asset_id}/video/hls/master.m3u8"
    master = admin.client.get(base)
    assert master.headers["content-type"].startswith("application/vnd.apple.mpegurl")
    text = master.text
    assert text.startswith("#EXTM3U\n")
    infs = re.findall(r"#EXT-X-STREAM-INF:(.*)", text)
    assert [re.search(r"RESOLUTION=(\d+x\d+)", i)[1] for i in infs] == ["640x360", "1280x720"]
    for inf in infs:
        assert re.search(r"BANDWIDTH=\d+", inf)
        assert re.search(r'CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2"', inf)
    for media_uri in uris(text):
        media_url = httpx.URL(base).join(media_uri)
        media = admin.client.get(media_url)
        assert media.status_code == 200, media.text
        assert media.headers["content-type"].startswith("application/vnd.apple.mpegurl")
        playlist = media.text
        assert "#EXT-X-PLAYLIST-TYPE:VOD" in playlist and playlist.endswith("#EXT-X-ENDLIST\n")
        target = int(re.search(r"#EXT-X-TARGETDURATION:(\d+)", playlist)[1])
        extinf = [float(d) for d in re.findall(r"#EXTINF:([0-9.]+),", playlist)]
        decoded = 0.0
        for seg_uri in uris(playlist):
            seg = admin.client.get(media_url.join(seg_uri))
            assert seg.status_code == 200, seg.text
            assert seg.headers["content-type"] == "video/mp2t"
            with av.open(io.BytesIO(seg.content), format="mpegts") as c:
                v = c.streams.video[0]
                frames = list(c.decode(v))
                assert frames and frames[0].key_frame
                decoded += float((frames[-1].pts - frames[0].pts) * v.time_base) + frame
            with av.open(io.BytesIO(seg.content), format="mpegts") as c:
                assert any(True for _ in c.decode(audio=0))
        assert max(extinf) <= target + 0.5
        tolerance = frame * len(extinf) * 1.5
        assert decoded == pytest.approx(duration, abs=tolerance)
        assert sum(extinf) == pytest.approx(duration, abs=tolerance)
    # players seek inside a segment with Range, as in every media route
    first = httpx.URL(base).join(uris(text)[0])
    seg_url = first.join(uris(admin.client.get(first).text)[0])
    part = admin.client.get(seg_url, headers={"Range": "bytes=0-187"})
    assert part.status_code == 206 and len(part.content) == 188 and part.content[0] == 0x47


def test_playlists_and_segments_are_refused_to_others(
    stack: Stack, admin: User, other_user: User, video: tuple[str, Path]
) -> None:
    asset_id, _ = video
    prefix = f"/api/assets/{asset_id}/video/hls"
    paths = [f"{prefix}/master.m3u8", f"{prefix}/360p/index.m3u8", f"{prefix}/360p/segment/0"]
    assert all(admin.client.get(p).status_code == 200 for p in paths)
    anon = httpx.Client(base_url=stack.url, timeout=60)
    for p in paths:
        r = other_user.client.get(p)
        assert r.status_code == 400, (p, r.status_code)
        assert r.json()["message"] == "Not found or no asset.view access"
        assert anon.get(p).status_code == 401, p


def test_shared_link_key_travels_in_the_playlists(
    stack: Stack, admin: User, video: tuple[str, Path]
) -> None:
    asset_id, _ = video
    link = admin.client.post(
        "/api/shared-links", json={"type": "INDIVIDUAL", "assetIds": [asset_id]}
    )
    assert link.status_code == 201, link.text
    key = link.json()["key"]
    anon = httpx.Client(base_url=stack.url, timeout=60)
    base = f"{stack.url}/api/assets/{asset_id}/video/hls/master.m3u8"
    master = anon.get(base, params={"key": key})
    assert master.status_code == 200, master.text
    media_uri = uris(master.text)[0]
    assert media_uri.endswith(f"?key={key}")
    media_url = httpx.URL(base).join(media_uri)
    seg_uri = uris(anon.get(media_url).text)[0]
    assert seg_uri.endswith(f"?key={key}")
    assert anon.get(media_url.join(seg_uri)).status_code == 200
    admin.client.delete(f"/api/shared-links/{link.json()['id']}")


# --- Immich 3.1's scheme: /video/stream/main.m3u8, {sessionId}/{variantIndex}/... -------------


@pytest.fixture
def realtime(stack: Stack, admin: User) -> Iterator[None]:
    """``ffmpeg.realtime.enabled`` on (main.m3u8 answers only then, as Immich's), then off."""
    before = admin.client.get("/api/system-config").json()
    on = {**before, "ffmpeg": {**before["ffmpeg"], "realtime": {**before["ffmpeg"]["realtime"]}}}
    on["ffmpeg"]["realtime"]["enabled"] = True
    save_config(stack, admin, on, "transcode")
    yield
    save_config(stack, admin, before, "transcode")


def _session(user: User, prefix: str) -> str:
    """A session main.m3u8 issues (others are 404, as Immich's unknown sessions)."""
    return uris(user.client.get(f"{prefix}/main.m3u8").text)[0].split("/")[0]


UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"


def test_immich_stream_serves_the_same_ladder(
    admin: User, video: tuple[str, Path], realtime: None
) -> None:
    """main.m3u8 -> {session}/{i}/playlist.m3u8 -> seg_N.m4s hold the Darkroom ladder's bytes."""
    asset_id, _ = video
    base = f"{admin.client.base_url}/api/assets/{asset_id}/video/stream/main.m3u8"
    main = admin.client.get(base)
    assert main.status_code == 200, main.text
    assert main.headers["content-type"].startswith("application/vnd.apple.mpegurl")
    ours = admin.client.get(f"/api/assets/{asset_id}/video/hls/master.m3u8").text
    assert re.findall("#EXT-X-STREAM-INF:.*", main.text) == re.findall("#EXT-X-STREAM-INF:.*", ours)
    variants = uris(main.text)
    sessions = {u.split("/")[0] for u in variants}
    assert len(sessions) == 1 and re.fullmatch(UUID, sessions.pop())
    assert [u.split("/", 1)[1] for u in variants] == ["0/playlist.m3u8", "1/playlist.m3u8"]
    # a new request opens a new session
    assert uris(admin.client.get(base).text)[0].split("/")[0] != variants[0].split("/")[0]
    for variant_uri, rendition in zip(variants, ["360p", "720p"], strict=True):
        media_url = httpx.URL(base).join(variant_uri)
        media = admin.client.get(media_url, headers={"x-immich-hls-pos": "1.5"})
        assert media.status_code == 200, media.text
        mine = admin.client.get(f"/api/assets/{asset_id}/video/hls/{rendition}/index.m3u8").text
        assert re.findall("#EXTINF:.*", media.text) == re.findall("#EXTINF:.*", mine)
        segs = uris(media.text)
        assert segs == [f"seg_{n}.m4s" for n in range(len(segs))]
        for n, seg_uri in enumerate(segs):
            seg = admin.client.get(media_url.join(seg_uri), headers={"x-immich-hls-msn": str(n)})
            assert seg.status_code == 200, seg.text
            same = admin.client.get(f"/api/assets/{asset_id}/video/hls/{rendition}/segment/{n}")
            assert seg.content == same.content and seg.content[0] == 0x47
        with av.open(io.BytesIO(seg.content), format="mpegts") as c:
            assert any(True for _ in c.decode(video=0))
    session = variants[0].split("/")[0]
    prefix = f"/api/assets/{asset_id}/video/stream/{session}"
    part = admin.client.get(f"{prefix}/0/seg_0.m4s", headers={"Range": "bytes=0-187"})
    assert part.status_code == 206 and len(part.content) == 188
    assert admin.client.delete(prefix).status_code == 204


def test_immich_stream_answers_bad_paths_as_immich(
    admin: User, video: tuple[str, Path], realtime: None
) -> None:
    asset_id, _ = video
    prefix = f"/api/assets/{asset_id}/video/stream"
    session = _session(admin, prefix)
    cases = {
        f"{prefix}/not-a-uuid/0/playlist.m3u8": 400,
        f"{prefix}/{session}/x/playlist.m3u8": 400,
        f"{prefix}/{session}/-1/playlist.m3u8": 400,
        f"{prefix}/{session}/9/playlist.m3u8": 404,
        f"{prefix}/{session}/0/seg_999.m4s": 404,
        f"{prefix}/{session}/0/init.mp4": 404,  # MPEG-TS segments need no init section
        f"{prefix}/{session}/0/seg_0.ts": 400,
        f"{prefix}/{session}/0/seg_x.m4s": 400,
    }
    for path, status in cases.items():
        r = admin.client.get(path)
        assert r.status_code == status, (path, r.status_code, r.text)
        assert isinstance(r.json()["message"], str), path
    bad_msn = admin.client.get(
        f"{prefix}/{session}/0/seg_0.m4s", headers={"x-immich-hls-msn": "-3"}
    )
    assert bad_msn.status_code == 400, bad_msn.text
    bad_pos = admin.client.get(
        f"{prefix}/{session}/0/playlist.m3u8", headers={"x-immich-hls-pos": "soon"}
    )
    assert bad_pos.status_code == 400, bad_pos.text
    assert admin.client.delete(f"{prefix}/not-a-uuid").status_code == 400


def test_immich_stream_is_refused_to_others(
    stack: Stack, admin: User, other_user: User, video: tuple[str, Path], realtime: None
) -> None:
    """Another user (400, as Immich words it), anonymous (401) and a shared link of another
    asset (400) get neither playlists nor segments, nor end a session."""
    asset_id, _ = video
    prefix = f"/api/assets/{asset_id}/video/stream"
    session = _session(admin, prefix)
    paths = [
        f"{prefix}/main.m3u8",
        f"{prefix}/{session}/0/playlist.m3u8",
        f"{prefix}/{session}/0/seg_0.m4s",
    ]
    assert all(admin.client.get(p).status_code == 200 for p in paths)
    photo = upload_jpeg(admin, noise_jpeg(1919))
    link = admin.client.post("/api/shared-links", json={"type": "INDIVIDUAL", "assetIds": [photo]})
    assert link.status_code == 201, link.text
    key = link.json()["key"]
    anon = httpx.Client(base_url=stack.url, timeout=60)
    try:
        for p in paths:
            r = other_user.client.get(p)
            assert r.status_code == 400, (p, r.status_code)
            assert r.json()["message"] == "Not found or no asset.view access"
            assert anon.get(p).status_code == 401, p
            visitor = anon.get(p, params={"key": key})
            assert visitor.status_code == 400, (p, visitor.status_code)
        end = f"{prefix}/{session}"
        assert other_user.client.delete(end).status_code == 400
        assert anon.delete(end).status_code == 401
        assert anon.delete(end, params={"key": key}).status_code == 400
    finally:
        admin.client.delete(f"/api/shared-links/{link.json()['id']}")
        admin.client.request("DELETE", "/api/assets", json={"ids": [photo], "force": True})


def test_immich_stream_carries_the_shared_link_key(
    stack: Stack, admin: User, video: tuple[str, Path], realtime: None
) -> None:
    asset_id, _ = video
    link = admin.client.post(
        "/api/shared-links", json={"type": "INDIVIDUAL", "assetIds": [asset_id]}
    )
    assert link.status_code == 201, link.text
    key = link.json()["key"]
    anon = httpx.Client(base_url=stack.url, timeout=60)
    base = f"{stack.url}/api/assets/{asset_id}/video/stream/main.m3u8"
    try:
        main = anon.get(base, params={"key": key})
        assert main.status_code == 200, main.text
        variant = uris(main.text)[0]
        assert variant.endswith(f"/playlist.m3u8?key={key}")
        media_url = httpx.URL(base).join(variant)
        seg_uri = uris(anon.get(media_url).text)[0]
        assert seg_uri == f"seg_0.m4s?key={key}"
        assert anon.get(media_url.join(seg_uri)).status_code == 200
        session_url = httpx.URL(base).join(variant.split("/")[0])
        assert anon.delete(session_url, params={"key": key}).status_code == 204
    finally:
        admin.client.delete(f"/api/shared-links/{link.json()['id']}")
