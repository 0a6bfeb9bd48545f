"""Keep server file paths out of failure reasons that are stored and shown to users."""

from __future__ import annotations

import re
from collections.abc import Iterable

#: An absolute POSIX path: a ``/`` that does not follow a word character, a dot, a colon or
#: another slash (so ``image/jpeg``, ``1/2`` and ``http://host/x`` are left alone), then one or
#: more path characters. Quotes, spaces and brackets end it.
_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/~-])/(?:[^\s'\"()<>\[\],;|]+)")


def scrub_paths(text: str, roots: Iterable[str] = ()) -> str:
    """``text`` with every server file path replaced by the file's own name.

    Exception messages of decoders and the OS name the file they failed on
    (``cannot identify image file '/srv/darkroom/data/storage/upload/.../x.jpg'``); those paths
    tell a user about the server's disks and must not reach the API. Each configured ``root``
    (the storage root, the data or scratch directory, relative or absolute) is removed first,
    then any remaining absolute path is cut down to its last component (``x.jpg``), which is
    enough to see which file failed.

    Args:
        text: A failure reason, e.g. ``"CorruptMediaError: cannot decode /tmp/x/original.jpg"``.
        roots: Directories to remove wherever they appear, e.g. ``settings.storage.root``.

    Returns:
        The reason without server paths; unchanged when it has none.
    """
    dirs = {form for r in roots if r.strip("/.") for form in (r.rstrip("/"), _plain(r))}
    for root in sorted(dirs, key=len, reverse=True):  # longest first: a root inside another
        text = text.replace(root + "/", "").replace(root, "<storage>")
    return _ABSOLUTE_PATH.sub(lambda m: m.group(0).rstrip("/").rsplit("/", 1)[-1] or "/", text)


def _plain(root: str) -> str:
    """``./data/storage/`` -> ``data/storage`` (messages quote relative paths either way)."""
    return root.rstrip("/").removeprefix("./")
