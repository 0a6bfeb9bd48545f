"""Stream facts of a video from FFmpeg (PyAV): codec names, frame rate, bit rate, duration, size.

These are what the streams are, not what the file's tags say, and FFmpeg's codec names
(``h264``, ``hevc``, ``aac``) are the ones the transcode policy compares; Immich likewise asks
ffprobe for them and ExifTool for the tags.
"""

from __future__ import annotations

from pathlib import Path

import av
import av.error
from darkroom_media.errors import CorruptMediaError

from darkroom_metadata.normalise import Fields

__all__ = ["video_streams"]


def video_streams(path: Path) -> Fields:
    """Codec, frame rate, bit rate, duration and stored size of a video.

    Args:
        path: The video.

    Returns:
        Fields with ``width``, ``height``, ``duration`` (s), ``fps``, ``video_codec``,
        ``audio_codec``, ``bitrate`` (bit/s) filled where known.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        CorruptMediaError: FFmpeg cannot open it, or it has no stream.
    """
    try:
        container = av.open(str(path), metadata_errors="replace")
    except FileNotFoundError:
        raise
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as error:
        raise CorruptMediaError(f"cannot open this video: {error}") from error
    with container:
        if not container.streams:
            raise CorruptMediaError("no audio or video stream in this file")
        video = container.streams.video[0] if container.streams.video else None
        audio = container.streams.audio[0] if container.streams.audio else None
        duration = None
        if container.duration is not None and container.duration > 0:
            duration = container.duration / av.time_base
        elif video is not None and video.duration is not None and video.time_base is not None:
            duration = float(video.duration * video.time_base)
        fps = None
        if video is not None:
            rate = video.average_rate or video.guessed_rate
            fps = round(float(rate), 3) if rate else None
        codec = video.codec_context if video is not None else None
        return Fields(
            width=(codec.width or None) if codec is not None else None,
            height=(codec.height or None) if codec is not None else None,
            duration=round(duration, 3) if duration else None,
            fps=fps,
            video_codec=codec.name if codec is not None else None,
            audio_codec=audio.codec_context.name if audio is not None else None,
            bitrate=container.bit_rate or None,
        )
