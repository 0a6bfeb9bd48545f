"""Whether a video needs transcoding, and what it is: probe results, settings and the decision.

Pure functions over PyAV's view of a file; no NATS, database or storage imports.

The policies are those Immich documents for ``ffmpeg.transcode`` (administration > video
transcoding settings: "all", "optimal", "required", "bitrate", "disabled"); the default here is
"optimal" (transcode when the codec, pixel format, container or resolution is not playable
everywhere), which the issue asks for.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

import msgspec

Policy = Literal["all", "optimal", "required", "bitrate", "disabled"]
VideoCodec = Literal["h264", "hevc", "av1"]
Accel = Literal["disabled", "nvenc", "qsv", "vaapi"]

#: Pixel formats that every browser and phone decodes in H.264 (8-bit 4:2:0).
PLAYABLE_PIX_FMTS = frozenset({"yuv420p", "yuvj420p"})
#: The name Immich gives a container in ``ffmpeg.acceptedContainers`` (mov, mp4, ogg, webm),
#: by our probe's name: Immich's ``isRemuxRequired`` names every QuickTime-family file but MP4
#: "mov" and a Matroska file "webm" (FFmpeg's "QuickTime / MOV", "Matroska / WebM").
IMMICH_CONTAINER: Mapping[str, str] = MappingProxyType({"3gp": "mov", "matroska,webm": "webm"})


class HlsSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The HLS ladder (``DARKROOM_TRANSCODE_HLS_*`` of the transcode service).

    Attributes:
        enabled: Make a ladder for every video (``DARKROOM_TRANSCODE_HLS_ENABLED``, default
            true); the MP4 of ``/video/playback`` is made either way.
        heights: Shorter-side lengths of the renditions in pixels
            (``DARKROOM_TRANSCODE_HLS_HEIGHTS``, default 360, 720, 1080: the usual
            SD/HD/Full-HD rungs); rungs above the source are left out (never upscaled), and a
            source smaller than every rung gets one rendition at its own size.
        segment_s: Segment length in seconds (``DARKROOM_TRANSCODE_HLS_SEGMENT_S``, default 4:
            short enough to switch quickly, long enough for compression; Apple's authoring
            spec recommends 6, hls.js works with anything).
    """

    enabled: bool = True
    heights: tuple[int, ...] = (360, 720, 1080)
    segment_s: float = 4.0


class VideoSettings(msgspec.Struct, frozen=True, kw_only=True):
    """How videos are encoded (``DARKROOM_TRANSCODE_*``); defaults follow Immich's.

    Attributes:
        policy: When to transcode (see the module docstring).
        target_resolution: Target length in pixels of the shorter side (Immich default 720);
            smaller videos keep their size; 0 keeps the original resolution.
        codec: Target video codec: "h264" (default, plays everywhere), "hevc" or "av1".
        crf: Constant rate factor (Immich default 23 for H.264; lower is better quality).
        preset: Encoder speed preset (x264/x265 names; Immich default "ultrafast").
        max_bitrate_kbps: Cap on the video bitrate (maxrate/bufsize = 2x) with CRF; 0 = none.
        two_pass: Two-pass encoding; accepted for parity with Immich but not implemented
            (single pass always; the setting is logged when on).
        accepted_video_codecs: Codecs that need no transcode ("required" and "optimal").
        accepted_audio_codecs: Audio codecs that need no transcode.
        accepted_containers: Containers that need no transcode ("mp4", "mov", "3gp", "webm",
            "mpegts", "avi", ...; MP4 only by default: it is what every browser plays).
        audio_bitrate_kbps: AAC bitrate of the output.
        accel: Hardware encoder family tried first ("nvenc", "qsv", "vaapi"); when the FFmpeg
            build or the device lacks it the software encoder is used.
        hls: The HLS ladder (``DARKROOM_TRANSCODE_HLS_*``), made beside the MP4.
    """

    policy: Policy = "optimal"
    target_resolution: int = 720
    codec: VideoCodec = "h264"
    crf: int = 23
    preset: str = "ultrafast"
    max_bitrate_kbps: int = 0
    two_pass: bool = False
    accepted_video_codecs: tuple[str, ...] = ("h264",)
    accepted_audio_codecs: tuple[str, ...] = ("aac", "mp3", "opus")
    accepted_containers: tuple[str, ...] = ("mp4",)
    audio_bitrate_kbps: int = 128
    accel: Accel = "disabled"
    hls: HlsSettings = HlsSettings()


class Probe(msgspec.Struct, frozen=True, kw_only=True):
    """What a video file is, as PyAV (FFmpeg) sees it.

    Attributes:
        container: Short container name: "mp4", "mov", "3gp", or FFmpeg's demuxer name
            ("mpegts", "avi", "matroska,webm"...).
        video_codec: Decoder name of the first video stream ("h264", "hevc", "mjpeg"...).
        pix_fmt: Pixel format of that stream ("yuv420p"...), None when unknown.
        width: Coded width in pixels (before rotation).
        height: Coded height in pixels.
        rotation: Display rotation in degrees counter-clockwise, one of 0, 90, 180, 270.
        duration_s: Duration in seconds, None when unknown.
        fps: Average frame rate, None when unknown.
        bitrate: Overall bitrate in bits/s, None when unknown.
        audio_codec: Decoder name of the first audio stream, None without audio.
    """

    container: str
    video_codec: str
    pix_fmt: str | None
    width: int
    height: int
    rotation: int = 0
    duration_s: float | None = None
    fps: float | None = None
    bitrate: int | None = None
    audio_codec: str | None = None

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) as shown, after rotation."""
        if self.rotation in (90, 270):
            return self.height, self.width
        return self.width, self.height


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    """Whether to transcode, and why (stored in ``asset_job_status.transcode_decision``)."""

    transcode: bool
    reason: str


def target_size(width: int, height: int, target: int) -> tuple[int, int]:
    """The output (width, height): shorter side scaled down to ``target``, aspect kept.

    Both sides are even (4:2:0 chroma needs it). Videos whose shorter side is already at or
    below ``target`` (or ``target`` 0) keep their size (rounded down to even).

    Args:
        width: Displayed width in pixels.
        height: Displayed height in pixels.
        target: Target length of the shorter side; 0 means no scaling.
    """
    short = min(width, height)
    if target <= 0 or short <= target:
        return max(2, width - width % 2), max(2, height - height % 2)
    scale = target / short
    w = round(width * scale / 2) * 2
    h = round(height * scale / 2) * 2
    return max(2, w), max(2, h)


def bitrate_kbps(text: str) -> int:
    """``ffmpeg.maxBitrate`` in kb/s: "4500k", "4.5M" or "4500" (k assumed, as Immich's
    settings page says: "5000, 5000k and 5M are equivalent"); 0 (no cap) when it is "0" or not
    a number, as Immich's ``parseBitrateToBps`` gives 0 for what does not parse.

    Args:
        text: The config value.
    """
    value = text.strip().lower()
    factor = 1000 if value.endswith("m") else 1
    try:
        return max(0, round(float(value.rstrip("km").strip()) * factor))
    except ValueError:
        return 0


def decide(probe: Probe, settings: VideoSettings) -> Decision:
    """Apply the transcode policy to a probed video, as Immich's media service does
    (``isVideoTranscodeRequired``, ``isAudioTranscodeRequired``, ``isRemuxRequired``): MP4 is
    always an accepted container, other containers by their Immich name
    (:data:`IMMICH_CONTAINER`); ``bitrate`` compares with a cap only when one is set.

    Args:
        probe: The video as probed.
        settings: Policy and accepted codecs/containers.

    Returns:
        The decision with a short reason ("codec hevc not accepted", "already playable"...).
    """
    if settings.policy == "disabled":
        return Decision(transcode=False, reason="transcoding disabled")
    if settings.policy == "all":
        return Decision(transcode=True, reason="policy all")
    reasons: list[str] = []
    if probe.video_codec not in settings.accepted_video_codecs:
        reasons.append(f"video codec {probe.video_codec} not accepted")
    if probe.pix_fmt is not None and probe.pix_fmt not in PLAYABLE_PIX_FMTS:
        reasons.append(f"pixel format {probe.pix_fmt} not playable everywhere")
    if probe.audio_codec is not None and probe.audio_codec not in settings.accepted_audio_codecs:
        reasons.append(f"audio codec {probe.audio_codec} not accepted")
    container = IMMICH_CONTAINER.get(probe.container, probe.container)
    if container != "mp4" and container not in settings.accepted_containers:
        reasons.append(f"container {probe.container} not accepted")
    if settings.policy == "optimal" and settings.target_resolution > 0:
        short = min(probe.width, probe.height)
        if short > settings.target_resolution:
            reasons.append(f"resolution {short}p above target {settings.target_resolution}p")
    if (
        settings.policy == "bitrate"
        and settings.max_bitrate_kbps > 0
        and probe.bitrate is not None
        and probe.bitrate > settings.max_bitrate_kbps * 1000
    ):
        reasons.append(f"bitrate {probe.bitrate // 1000} kb/s above the maximum")
    if reasons:
        return Decision(transcode=True, reason="; ".join(reasons))
    return Decision(transcode=False, reason="already playable")
