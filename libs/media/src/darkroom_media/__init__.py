"""What Darkroom accepts: supported media types, sniffing a file's real type from its head, and
safe file names."""

from __future__ import annotations

from darkroom_media.errors import (
    CorruptMediaError,
    MediaError,
    MediaTooLargeError,
    UnsupportedMediaError,
)
from darkroom_media.names import MAX_NAME_BYTES, safe_file_name
from darkroom_media.sniff import SNIFF_BYTES, MediaKind, sniff
from darkroom_media.types import (
    IMAGE_TYPES,
    MEDIA_TYPES,
    SIDECAR_TYPES,
    VIDEO_TYPES,
    AssetType,
    MediaType,
    asset_type_for,
    extension_of,
    is_sidecar,
    media_type_for,
    server_media_types,
)

__all__ = [
    "IMAGE_TYPES",
    "MAX_NAME_BYTES",
    "MEDIA_TYPES",
    "SIDECAR_TYPES",
    "SNIFF_BYTES",
    "VIDEO_TYPES",
    "AssetType",
    "CorruptMediaError",
    "MediaError",
    "MediaKind",
    "MediaTooLargeError",
    "MediaType",
    "UnsupportedMediaError",
    "asset_type_for",
    "extension_of",
    "is_sidecar",
    "media_type_for",
    "safe_file_name",
    "server_media_types",
    "sniff",
]
