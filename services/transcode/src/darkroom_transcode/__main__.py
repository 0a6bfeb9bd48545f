"""``python -m darkroom_transcode``: consume asset.metadata.extracted, transcode videos."""

from __future__ import annotations

from darkroom_runtime import run_service

from darkroom_transcode.handlers import setup, transcode_video
from darkroom_transcode.settings import TranscodeSettings


def main() -> None:
    """Run the transcode service until SIGTERM/SIGINT."""
    run_service("transcode", TranscodeSettings, handlers=[transcode_video], setup=setup)


if __name__ == "__main__":
    main()
