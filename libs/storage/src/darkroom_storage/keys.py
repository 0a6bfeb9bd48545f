"""Validation of object keys and the naming of temporary files.

A key is a relative, ``/``-separated path such as ``upload/<userId>/ab/cd/<assetId>.jpg``. Both
back ends accept exactly the same keys, so code that works on one works on the other.
"""

from __future__ import annotations

import re
import uuid

__all__ = [
    "MAX_KEY_BYTES",
    "MAX_SEGMENT_BYTES",
    "is_temp_name",
    "temp_name",
    "validate_key",
    "validate_prefix",
]

#: Longest key in UTF-8 bytes: the S3 limit ("Object key names", AWS S3 user guide).
MAX_KEY_BYTES = 1024
#: Longest path segment in UTF-8 bytes. Linux file names may have 255 bytes (NAME_MAX); the
#: filesystem back end adds ``.`` + ``.tmp-`` + 32 hex digits (38 bytes) for its temporary files,
#: so 200 leaves room on every common filesystem.
MAX_SEGMENT_BYTES = 200

_TEMP_RE = re.compile(r"^\..+\.tmp-[0-9a-f]{32}$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def temp_name(name: str) -> str:
    """Name of a fresh temporary file for final file name ``name``: ``.<name>.tmp-<uuid hex>``."""
    return f".{name}.tmp-{uuid.uuid4().hex}"


def is_temp_name(name: str) -> bool:
    """Whether a file name (one path segment) is a temporary file made by :func:`temp_name`."""
    return _TEMP_RE.match(name) is not None


def _check_segment(segment: str, whole: str) -> None:
    if segment in ("", ".", ".."):
        raise ValueError(f"invalid key {whole!r}: empty, '.' or '..' path segment")
    if len(segment.encode()) > MAX_SEGMENT_BYTES:
        raise ValueError(
            f"invalid key {whole!r}: a segment is longer than {MAX_SEGMENT_BYTES} bytes"
        )
    if is_temp_name(segment):
        raise ValueError(f"invalid key {whole!r}: segment {segment!r} is a temporary-file name")


def _check_common(key: str, what: str) -> None:
    if not isinstance(key, str):
        raise ValueError(f"{what} must be a str, got {type(key).__name__}")
    if "\\" in key:
        raise ValueError(f"invalid {what} {key!r}: backslashes are not allowed")
    if _CONTROL_RE.search(key):
        raise ValueError(f"invalid {what} {key!r}: control characters are not allowed")
    if key.startswith("/"):
        raise ValueError(f"invalid {what} {key!r}: must be relative, not absolute")
    if len(key.encode()) > MAX_KEY_BYTES:
        raise ValueError(f"invalid {what} {key!r}: longer than {MAX_KEY_BYTES} bytes")


def validate_key(key: str) -> str:
    """Check that ``key`` is a safe relative object key and return it unchanged.

    Args:
        key: ``/``-separated relative path, e.g. ``thumbs/<userId>/ab/cd/<assetId>-preview.jpeg``.

    Returns:
        ``key`` itself.

    Raises:
        ValueError: The key is empty, absolute, has a backslash, a control character, an empty /
            ``.`` / ``..`` segment (so also a leading or trailing ``/``), a segment longer than
            :data:`MAX_SEGMENT_BYTES`, a segment named like a temporary file, or is longer than
            :data:`MAX_KEY_BYTES`.
    """
    _check_common(key, "key")
    if not key:
        raise ValueError("invalid key '': must not be empty")
    for segment in key.split("/"):
        _check_segment(segment, key)
    return key


def validate_prefix(prefix: str) -> str:
    """Check a listing prefix: like a key, but may be empty or end in ``/`` or a partial segment.

    Args:
        prefix: ``""`` (everything), ``"upload/<userId>/"`` or ``"upload/<userId>/a"``.

    Returns:
        ``prefix`` itself.

    Raises:
        ValueError: As :func:`validate_key` for every complete segment; the last, partial
            segment may be empty but not ``.`` or ``..``.
    """
    _check_common(prefix, "prefix")
    if not prefix:
        return prefix
    *dirs, last = prefix.split("/")
    for segment in dirs:
        _check_segment(segment, prefix)
    if last in (".", ".."):
        raise ValueError(f"invalid prefix {prefix!r}: '.' or '..' path segment")
    return prefix
