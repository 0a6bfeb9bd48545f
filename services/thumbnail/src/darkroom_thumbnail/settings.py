"""Thumbnail service settings (``DARKROOM_*``)."""

from __future__ import annotations

from darkroom_runtime import ServiceSettings

from darkroom_thumbnail.render import RenderSettings


class ThumbnailSettings(ServiceSettings, frozen=True, kw_only=True):
    """Settings of the thumbnail service.

    Attributes:
        render: Sizes and qualities (``DARKROOM_RENDER_PREVIEW_SIZE`` etc.; Immich's defaults).
        scratch_dir: Where originals are downloaded for decoding; the system temp dir when empty.
    """

    render: RenderSettings = RenderSettings()
    scratch_dir: str = ""
