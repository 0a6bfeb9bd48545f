"""Unit tests of the HLS ladder (issue #19 item 1) on a real phone video: renditions as the
source allows, segments that start with a key frame, decode on their own, and add up to the
video's duration (the HTTP path is tests/test_hls.py)."""

from __future__ import annotations

import io
from pathlib import Path

import av
import pytest
from darkroom_stack.testing import samples_dir
from darkroom_transcode.hls import encode_ladder, rungs
from darkroom_transcode.policy import HlsSettings, Probe, VideoSettings
from darkroom_transcode.transcode import probe

#: 3.6 s, 1280x720 H.264 + AAC: two rungs (360p, 720p) of the default ladder, no 1080p.
SAMPLE = "metadata-extractor-images/mp4/Issue 515 (java).mp4"


def _sample() -> Path:
    root = samples_dir()
    path = root / "videos" / SAMPLE if root else None
    if path is None or not path.is_file():
        pytest.skip(f"sample video {SAMPLE} not found (set DARKROOM_SAMPLES)")
    return path


def segment_duration(data: bytes) -> tuple[float, bool, int]:
    """Decode one TS segment: (video seconds, first frame is a key frame, audio frames)."""
    with av.open(io.BytesIO(data), format="mpegts") as c:
        v = c.streams.video[0]
        frames = list(c.decode(v))
        assert frames, "segment without video"
        step = frames[1].pts - frames[0].pts if len(frames) > 1 else 0
        seconds = float((frames[-1].pts - frames[0].pts + step) * v.time_base)
        key = frames[0].key_frame
    with av.open(io.BytesIO(data), format="mpegts") as c:
        audio = sum(1 for _ in c.decode(audio=0)) if c.streams.audio else 0
    return seconds, bool(key), audio


def test_ladder_segments_decode_and_add_up_to_the_video(tmp_path: Path) -> None:
    src = _sample()
    info = probe(src)
    assert rungs(info, (360, 720, 1080)) == [360, 720]
    dst = tmp_path / "segments.ts"
    work = tmp_path / "work"
    work.mkdir()
    ladder = encode_ladder(src, work, dst, VideoSettings(), HlsSettings(segment_s=1.0), info=info)
    blob = dst.read_bytes()
    assert [(r.name, r.width, r.height) for r in ladder.renditions] == [
        ("360p", 640, 360),
        ("720p", 1280, 720),
    ]
    frame = 1 / (info.fps or 30)
    for rendition in ladder.renditions:
        assert rendition.codecs.startswith("avc1.") and rendition.codecs.endswith(",mp4a.40.2")
        assert rendition.bandwidth >= rendition.average_bandwidth > 0
        assert len(rendition.segments) >= 3  # 3.6 s cut at 1 s key frames
        total = 0.0
        for seg in rendition.segments:
            seconds, key, audio = segment_duration(blob[seg.offset : seg.offset + seg.length])
            assert key and audio > 0
            assert seg.duration == pytest.approx(seconds, abs=frame * 1.5)
            assert seg.duration <= 1.0 + frame * 1.5
            total += seconds
        tolerance = frame * len(rendition.segments)
        assert total == pytest.approx(info.duration_s, abs=tolerance)


def test_small_source_gets_one_rendition_at_its_own_size() -> None:
    info = Probe(container="mp4", video_codec="h264", pix_fmt="yuv420p", width=320, height=240)
    assert rungs(info, (360, 720)) == [0]
    portrait = Probe(
        container="mp4",
        video_codec="h264",
        pix_fmt="yuv420p",
        width=1920,
        height=1080,
        rotation=90,
    )
    assert rungs(portrait, (360, 720, 1080, 1440)) == [360, 720, 1080]
