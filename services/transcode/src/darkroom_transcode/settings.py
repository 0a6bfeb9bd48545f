"""Transcode service settings (``DARKROOM_*``)."""

from __future__ import annotations

from darkroom_runtime import ServiceSettings

from darkroom_transcode.policy import VideoSettings


class TranscodeSettings(ServiceSettings, frozen=True, kw_only=True):
    """Settings of the transcode service.

    Attributes:
        transcode: Policy and encoder (``DARKROOM_TRANSCODE_TARGET_RESOLUTION``,
            ``DARKROOM_TRANSCODE_CODEC``, ``DARKROOM_TRANSCODE_ACCEL``...).
        scratch_dir: Where encodes are written before they are stored; the system temp dir
            when empty. Leftovers of a killed process are removed at start-up.
        progress_interval_s: Seconds between two writes of the progress percentage.
    """

    transcode: VideoSettings = VideoSettings()
    scratch_dir: str = ""
    progress_interval_s: float = 2.0
