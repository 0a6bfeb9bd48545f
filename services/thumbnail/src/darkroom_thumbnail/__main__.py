"""``python -m darkroom_thumbnail``: consume asset.metadata.extracted, render previews."""

from __future__ import annotations

from darkroom_runtime import run_service

from darkroom_thumbnail.edit_handlers import render_edits
from darkroom_thumbnail.fullsize import generate_fullsize
from darkroom_thumbnail.handlers import generate_thumbnails
from darkroom_thumbnail.settings import ThumbnailSettings


def main() -> None:
    """Run the thumbnail service until SIGTERM/SIGINT."""
    run_service(
        "thumbnail",
        ThumbnailSettings,
        handlers=[generate_thumbnails, generate_fullsize, render_edits],
    )


if __name__ == "__main__":
    main()
