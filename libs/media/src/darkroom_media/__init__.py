"""What Darkroom accepts: supported media types and sniffing a file's real type from its first bytes."""

from __future__ import annotations

from darkroom_media.errors import (
    CorruptMediaError,
    MediaError,
    MediaTooLargeError,
    UnsupportedMediaError,
)

__all__ = ["CorruptMediaError", "MediaError", "MediaTooLargeError", "UnsupportedMediaError"]
