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

from .conftest import User, upload

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
