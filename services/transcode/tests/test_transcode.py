"""Unit tests of probing, the policy and the PyAV transcode, on real phone videos and generated
clips (no NATS/database: the end-to-end path is tests/test_video.py)."""

from __future__ import annotations

from pathlib import Path

import av
import pytest
from darkroom_media import CorruptMediaError
from darkroom_stack.testing import samples_dir
from darkroom_transcode.handlers import remove_stale_scratch
from darkroom_transcode.policy import Probe, VideoSettings, decide, target_size
from darkroom_transcode.testing import make_clip
from darkroom_transcode.transcode import probe, select_encoder, transcode

SMALL = VideoSettings(target_resolution=240, preset="ultrafast")


def sample(rel: str) -> Path:
    """A file of ../shared/samples/videos, skipping when absent."""
    root = samples_dir()
    path = root / "videos" / rel if root else None
    if path is None or not path.is_file():
        pytest.skip(f"sample video {rel} not found (set DARKROOM_SAMPLES)")
    return path


def decoded(path: Path) -> tuple[int, float, int, int, int, list[str]]:
    """Decode every frame: (frames, video duration s, width, height, rotation, audio codecs)."""
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        n, last, rotation = 0, None, 0
        for frame in c.decode(v):
            n += 1
            last = frame
            rotation = int(getattr(frame, "rotation", 0) or 0)
        assert last is not None
        end = float((last.pts + (last.duration or 0)) * v.time_base)
        audio = [s.codec_context.name for s in c.streams.audio]
        return n, end, last.width, last.height, rotation, audio


def source_duration(path: Path) -> float:
    with av.open(str(path)) as c:
        return c.duration / av.time_base


@pytest.mark.parametrize(
    ("rel", "size"),
    [
        # HEVC iPhone MOV shot in portrait (display matrix -90 degrees): output is upright
        ("photoprism/pkg/media/video/testdata/quicktime-hvc1.mov", (240, 426)),
        ("metadata-extractor-images/mts/Sony ILCE-7M3 (A7M3).mts", (426, 240)),
        ("metadata-extractor-images/avi/MVI_4823.AVI", (320, 240)),
        ("metadata-extractor-images/3gp/sample.3gp", (176, 144)),
    ],
)
def test_real_phone_videos_transcode_to_playable_mp4(
    rel: str, size: tuple[int, int], tmp_path: Path
) -> None:
    src = sample(rel)
    dst = tmp_path / "out.mp4"
    progress: list[float] = []
    result = transcode(src, dst, SMALL, on_progress=progress.append)
    frames, duration, width, height, rotation, audio = decoded(dst)
    assert (width, height) == size == (result.width, result.height)
    assert rotation == 0  # rotation applied to the pixels, none left in the file
    assert frames == result.frames > 0
    assert abs(duration - source_duration(src)) <= 0.2
    assert audio == ["aac"]
    assert progress[-1] == 100.0 and progress == sorted(progress)
    with av.open(str(dst)) as c:
        assert c.streams.video[0].codec_context.name == "h264"
        assert c.streams.video[0].format.name == "yuv420p"
    # faststart: the index (moov) comes before the media data (mdat)
    head = dst.read_bytes()[:4096]
    assert 0 <= head.find(b"moov") < max(head.find(b"mdat"), 4096)


def test_probe_reads_rotation_codec_and_container() -> None:
    info = probe(sample("photoprism/pkg/media/video/testdata/quicktime-hvc1.mov"))
    assert (info.container, info.video_codec, info.audio_codec) == ("mov", "hevc", "aac")
    assert (info.width, info.height, info.rotation) == (1280, 720, 270)
    assert info.display_size == (720, 1280)
    assert info.duration_s == pytest.approx(1.17, abs=0.01)


def test_playable_mp4_is_left_alone_and_others_are_not() -> None:
    ok = probe(sample("photoprism/assets/examples/blue-go-video.mp4"))  # H.264/AAC 270x480 MP4
    assert decide(ok, VideoSettings()).transcode is False
    assert decide(ok, VideoSettings(policy="all")).transcode is True
    big = Probe(container="mp4", video_codec="h264", pix_fmt="yuv420p", width=1920, height=1080)
    d = decide(big, VideoSettings())
    assert d.transcode and "1080p above target 720p" in d.reason
    assert decide(big, VideoSettings(policy="required")).transcode is False
    assert decide(big, VideoSettings(policy="disabled")).transcode is False
    hevc = Probe(container="mov", video_codec="hevc", pix_fmt="yuv420p10le", width=640, height=360)
    reason = decide(hevc, VideoSettings(target_resolution=0)).reason
    assert "hevc" in reason and "yuv420p10le" in reason and "mov" in reason


def test_target_size_keeps_aspect_and_even_sides() -> None:
    assert target_size(1920, 1080, 720) == (1280, 720)
    assert target_size(1080, 1920, 720) == (720, 1280)
    assert target_size(640, 360, 720) == (640, 360)  # never upscaled
    assert target_size(1440, 1080, 480) == (640, 480)
    assert target_size(333, 201, 0) == (332, 200)


def test_generated_1080p_clip_to_720p_h264_and_hevc(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "clip.mov", seconds=2, fps=25, container="mov")
    for codec, name in (("h264", "h264"), ("hevc", "hevc")):
        dst = tmp_path / f"{codec}.mp4"
        settings = VideoSettings(codec=codec, crf=28, max_bitrate_kbps=2000)
        result = transcode(src, dst, settings)
        frames, duration, width, height, _, audio = decoded(dst)
        assert (width, height, frames) == (1280, 720, 50)
        assert duration == pytest.approx(2.0, abs=0.05)
        assert audio == ["aac"]
        with av.open(str(dst)) as c:
            assert c.streams.video[0].codec_context.name == name
        assert result.encoder == ("libx264" if codec == "h264" else "libx265")


def test_hardware_encoder_falls_back_to_software(tmp_path: Path) -> None:
    """No GPU here: NVENC is in the FFmpeg build but cannot open, VAAPI is not in the build."""
    assert select_encoder(VideoSettings(accel="vaapi"))[-1] == "libx264"
    assert select_encoder(VideoSettings(accel="nvenc", codec="hevc"))[-1] == "libx265"
    src = make_clip(tmp_path / "clip.mp4", seconds=1, width=320, height=240, audio=False)
    result = transcode(src, tmp_path / "out.mp4", VideoSettings(accel="nvenc"))
    assert result.encoder in ("h264_nvenc", "libx264")
    frames, *_ = decoded(tmp_path / "out.mp4")
    assert frames == result.frames == 30


def test_corrupt_video_is_a_media_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 100)
    with pytest.raises(CorruptMediaError):
        probe(bad)


def test_stale_scratch_of_dead_processes_is_removed(tmp_path: Path) -> None:
    dead = tmp_path / "darkroom-transcode-999999999-abc"
    (dead / "x").mkdir(parents=True)
    mine = tmp_path / "darkroom-transcode-1-abc"  # pid 1 is alive (init)
    mine.mkdir()
    assert remove_stale_scratch(tmp_path) == [dead]
    assert not dead.exists() and mine.exists()
