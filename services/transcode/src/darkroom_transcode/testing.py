"""Generated test videos (FFmpeg's testsrc2 pattern and a sine tone), for tests and benchmarks."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def make_clip(
    path: Path,
    *,
    seconds: float,
    width: int = 1920,
    height: int = 1080,
    fps: int = 30,
    codec: str = "libx264",
    audio: bool = True,
    container: str = "mp4",
) -> Path:
    """Write a test video: a moving colour pattern with a frame counter, and a 440 Hz tone.

    Frames come from FFmpeg's ``testsrc2`` source (lavfi), encoded with ``codec`` at preset
    ultrafast; audio is AAC stereo at 48 kHz.

    Args:
        path: Output file (its container is ``container``).
        seconds: Duration.
        width: Frame width in pixels.
        height: Frame height in pixels.
        fps: Frames per second.
        codec: Video encoder ("libx264", "libx265", "mpeg4"...).
        audio: Add the tone.
        container: FFmpeg muxer name ("mp4", "mov", "matroska", "mpegts").

    Returns:
        ``path``.
    """
    graph = av.filter.Graph()
    src = graph.add("testsrc2", f"size={width}x{height}:rate={fps}:duration={seconds}")
    fmt = graph.add("format", "yuv420p")
    sink = graph.add("buffersink")
    src.link_to(fmt)
    fmt.link_to(sink)
    graph.configure()
    options = {"preset": "ultrafast"} if codec.startswith("libx26") else {}
    with av.open(str(path), "w", format=container) as out:
        vout = out.add_stream(codec, rate=fps, options=options)
        vout.width, vout.height, vout.pix_fmt = width, height, "yuv420p"
        aout = None
        if audio:
            aout = out.add_stream("aac", rate=48000)
            aout.layout = "stereo"
        n = 0
        while True:
            try:
                frame = graph.vpull()
            except (av.BlockingIOError, av.EOFError):
                break
            frame.pts = n
            frame.time_base = Fraction(1, fps)
            for packet in vout.encode(frame):
                out.mux(packet)
            n += 1
        for packet in vout.encode(None):
            out.mux(packet)
        if aout is not None:
            total = int(seconds * 48000)
            t = np.arange(total, dtype=np.float32) / 48000
            tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            for start in range(0, total, 1024):
                chunk = np.ascontiguousarray(np.stack([tone[start : start + 1024]] * 2))
                frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
                frame.sample_rate = 48000
                frame.pts = start
                frame.time_base = Fraction(1, 48000)
                for packet in aout.encode(frame):
                    out.mux(packet)
            for packet in aout.encode(None):
                out.mux(packet)
    return path
