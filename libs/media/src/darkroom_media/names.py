"""Client-supplied file names made safe to store and to hand back (archives, downloads).

A name sent by a client (a multipart ``filename``, the ``filename`` form field) is only ever a
label: it never becomes a storage key, but it does leave the server again as a ZIP entry name
and in ``Content-Disposition``, where ``../../etc/passwd`` or ``C:\\evil.exe`` would be a path
("zip slip"). Immich keeps the base name of what the client sent
(``originalFileName: parse(file.originalName).base`` in its asset-media service); Darkroom does
the same with both separators, and also drops what no file name should carry.
"""

from __future__ import annotations

import re

__all__ = ["MAX_NAME_BYTES", "safe_file_name"]

#: Longest name in UTF-8 bytes: NAME_MAX of Linux (and most file systems' limit, 255).
MAX_NAME_BYTES = 255

#: C0 controls, DEL and C1 controls (NUL, CR, LF, ESC...), and the Unicode bidirectional
#: overrides/isolates that make ``photo\u202egpj.exe`` display as ``photoexe.jpg``
#: (CVE-2021-42574, "Trojan Source").
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SEPARATORS = re.compile(r"[/\\]")


def _truncate(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` UTF-8 bytes, never inside a character."""
    return text.encode()[: max(max_bytes, 0)].decode("utf-8", "ignore")


def safe_file_name(name: str, *, suffix: str = "", fallback: str = "file") -> str:
    """A safe base name for any client-supplied file name.

    Steps: drop control and bidi-override characters; keep the last non-empty path component,
    splitting on both ``/`` and ``\\`` (so ``../../etc/passwd`` is ``passwd`` and
    ``C:\\x\\IMG.jpg`` is ``IMG.jpg``); trim surrounding white space; ``.``, ``..`` or nothing
    left becomes ``fallback``; insert ``suffix`` before the extension; cut the stem so the
    whole name fits :data:`MAX_NAME_BYTES` UTF-8 bytes, keeping the extension. The result is
    never empty, never ``.``/``..`` and has no separator; applying it again changes nothing.

    Args:
        name: What the client sent (any string).
        suffix: Text inserted between stem and extension, e.g. ``"+1"`` for the second
            ``IMG.jpg`` of an archive (``IMG+1.jpg``); it is kept whole when the name is cut.
        fallback: The name used when nothing usable is left; must itself be safe.

    Returns:
        The safe name, e.g. ``safe_file_name("../../etc/passwd") == "passwd"``.
    """
    parts = [p.strip() for p in _SEPARATORS.split(_UNSAFE.sub("", name))]
    base = next((p for p in reversed(parts) if p), "")
    if base in ("", ".", ".."):
        base = fallback
    stem, dot, ext = base.rpartition(".")
    if not stem:  # no dot, or a leading dot only (".bashrc"): no extension
        stem, dot, ext = base, "", ""
    ext = dot + ext
    if len(ext.encode()) + len(suffix.encode()) >= MAX_NAME_BYTES:  # no room: cut the whole
        return _truncate(stem + suffix + ext, MAX_NAME_BYTES).rstrip(".") or fallback
    room = MAX_NAME_BYTES - len(ext.encode()) - len(suffix.encode())
    return _truncate(stem, room) + suffix + ext
