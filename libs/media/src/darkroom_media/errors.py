"""Errors that say a file itself is unusable, so retrying its job cannot help."""

from __future__ import annotations


class MediaError(Exception):
    """A file cannot be used as media: unsupported, corrupt, truncated, empty or too large.

    Raised by pure media code (sniffing, metadata extraction, rendering). Event handlers turn it
    into a permanent job failure: the asset is marked failed with ``str(error)`` as the reason
    and the job is not retried.
    """


class UnsupportedMediaError(MediaError):
    """The file's real type is not one Darkroom accepts (see ``darkroom_media.types``)."""


class CorruptMediaError(MediaError):
    """The file claims a supported type but cannot be decoded (corrupt, truncated or empty)."""


class MediaTooLargeError(MediaError):
    """Decoding would exceed a safety limit (a decompression bomb, or pixels over the limit)."""
