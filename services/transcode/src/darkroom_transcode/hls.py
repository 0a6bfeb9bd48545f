"""HLS ladder of a video with PyAV: renditions of H.264/AAC MPEG-TS segments (RFC 8216).

Pure functions over local files; no NATS, database or storage imports. Each rendition is one
pass of :func:`darkroom_transcode.transcode._run` into FFmpeg's ``hls`` muxer (``hls_time``,
VOD playlist, MPEG-TS segments), with a key frame forced at every multiple of the segment
length so the muxer cuts segments of that length. The segments of all renditions are then
concatenated into one file, and an :class:`~darkroom_db.hls.HlsLadder` records each segment's
byte range and duration (read from the muxer's playlist, ``#EXTINF``), so the gateway can write
the playlists and serve the segments from one stored object.

MPEG-TS rather than fMP4: FFmpeg's muxer writes self-contained TS segments (each starts with
PAT/PMT and a key frame), which hls.js, Safari and the Android players all play.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path

import av
import msgspec
from darkroom_db.hls import HlsLadder, HlsRendition, HlsSegment
from darkroom_media import CorruptMediaError

from darkroom_transcode import transcode as tc
from darkroom_transcode.policy import HlsSettings, Probe, VideoSettings, target_size

#: ``mp4a.40.2``: AAC-LC (RFC 6381 with ISO/IEC 14496-3 object type 2), what FFmpeg's ``aac``
#: encoder writes.
AAC_LC = "mp4a.40.2"
_EXTINF = re.compile(r"^#EXTINF:([0-9.]+),")


def rungs(info: Probe, heights: tuple[int, ...]) -> list[int]:
    """Shorter-side lengths of the renditions a source allows, lowest first.

    Args:
        info: The probed source.
        heights: The configured rungs.

    Returns:
        The rungs at or below the source's shorter side, or ``[0]`` (its own size) when
        none is.
    """
    short = min(info.display_size)
    allowed = sorted({h for h in heights if 0 < h <= short})
    return allowed or [0]


def codecs_of(segment: Path) -> str:
    """RFC 6381 ``CODECS`` of a TS segment: ``avc1.PPCCLL`` from the first H.264 sequence
    parameter set (profile, constraint flags, level: ISO/IEC 14496-15), plus AAC-LC when the
    segment has audio.

    Raises:
        CorruptMediaError: The segment holds no sequence parameter set.
    """
    with av.open(str(segment)) as container:
        has_audio = bool(container.streams.audio)
        data = b""
        for packet in container.demux(container.streams.video[0]):
            data = bytes(packet)
            break
    for m in re.finditer(rb"\x00\x00\x01", data):
        i = m.end()
        if i + 3 < len(data) and data[i] & 0x1F == 7:
            avc = f"avc1.{data[i + 1]:02x}{data[i + 2]:02x}{data[i + 3]:02x}"
            return f"{avc},{AAC_LC}" if has_audio else avc
    raise CorruptMediaError("no H.264 sequence parameter set in the first segment")


def _segments(playlist: Path) -> list[tuple[Path, float]]:
    """(segment file, #EXTINF seconds) of a media playlist FFmpeg wrote, in order."""
    out: list[tuple[Path, float]] = []
    duration: float | None = None
    for line in playlist.read_text().splitlines():
        m = _EXTINF.match(line)
        if m:
            duration = float(m.group(1))
        elif line and not line.startswith("#") and duration is not None:
            out.append((playlist.parent / line, duration))
            duration = None
    return out


def encode_ladder(
    src: Path,
    work: Path,
    dst: Path,
    settings: VideoSettings,
    hls: HlsSettings,
    *,
    info: Probe,
    on_progress: Callable[[float], None] | None = None,
) -> HlsLadder:
    """Encode the ladder of ``src`` and write all its segments, concatenated, to ``dst``.

    Args:
        src: The original video.
        work: An empty scratch folder (the muxer's files).
        dst: Where the segments object is written.
        settings: Encoder, CRF and preset of the transcode settings (H.264 is always used:
            the codec every HLS client plays).
        hls: Rungs and segment length.
        info: The source's :func:`~darkroom_transcode.transcode.probe`.
        on_progress: Called with the percent done (0..100).

    Returns:
        The ladder, renditions lowest first, segment offsets into ``dst``.

    Raises:
        CorruptMediaError: The source cannot be decoded or encoded.
    """
    renditions: list[HlsRendition] = []
    offset = 0
    heights = rungs(info, hls.heights)
    with dst.open("wb") as blob:
        for n, height in enumerate(heights):
            rung = msgspec.structs.replace(settings, codec="h264", target_resolution=height)
            width_px, height_px = target_size(*info.display_size, height)
            name = f"{min(width_px, height_px)}p"
            folder = work / name
            folder.mkdir()
            playlist = folder / "index.m3u8"

            def progress(percent: float, n: int = n) -> None:
                if on_progress is not None:
                    on_progress((n + percent / 100) / len(heights) * 100)

            options = {
                "hls_time": f"{hls.segment_s:g}",
                "hls_playlist_type": "vod",
                "hls_list_size": "0",
                "hls_segment_type": "mpegts",
                "hls_segment_filename": str(folder / "%05d.ts"),
            }
            try:
                with (
                    av.open(str(src), metadata_errors="ignore") as inp,
                    av.open(str(playlist), "w", format="hls", options=options) as out,
                ):
                    result = tc._run(inp, out, info, rung, progress, keyframe_s=hls.segment_s)
            except av.FFmpegError as exc:
                raise CorruptMediaError(f"cannot encode the HLS ladder: {exc}") from exc
            segments: list[HlsSegment] = []
            peak = 0.0
            for path, duration in _segments(playlist):
                length = path.stat().st_size
                blob.write(path.read_bytes())
                segments.append(HlsSegment(offset=offset, length=length, duration=duration))
                offset += length
                if duration > 0:
                    peak = max(peak, length * 8 / duration)
            if not segments:
                raise CorruptMediaError("the HLS muxer wrote no segment")
            total_s = sum(s.duration for s in segments)
            total_bytes = sum(s.length for s in segments)
            codecs = codecs_of(folder / "00000.ts")
            renditions.append(
                HlsRendition(
                    name=name,
                    width=result.width,
                    height=result.height,
                    bandwidth=math.ceil(peak),
                    average_bandwidth=math.ceil(total_bytes * 8 / total_s) if total_s else 0,
                    codecs=codecs,
                    segments=tuple(segments),
                )
            )
    return HlsLadder(segment_s=hls.segment_s, renditions=tuple(renditions))
