"""External libraries on disk: which files a library holds, and what one of them is.

Pure, blocking file-system functions (no NATS, no database): :mod:`darkroom_ingest.scan` runs
them in worker threads. The tree is walked lazily, in a stable order (sorted names), so a scan of
100,000 files holds one directory listing and one batch of paths at a time, and a walk restarted
after a crash yields the same batches again (de-duplicated by their message ids).

Which files count, as Immich's library scan: files with a supported media extension
(:func:`darkroom_media.types.media_type_for`) under one of the library's import paths and not
matched by one of its exclusion patterns. Patterns are globs matched against the absolute path
(``**/*.tif``, ``**/Raw/**``) with gitignore's wildcard rules (``pathspec``, ``"gitignore"``:
``**`` spans folders, ``*`` stays in one), which is how Immich's picomatch-style patterns read.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Generator, Iterator, Sequence
from datetime import UTC, datetime
from itertools import islice

import msgspec
import pathspec
import structlog
from darkroom_media.sniff import SNIFF_BYTES
from darkroom_media.types import media_type_for

log = structlog.get_logger()

#: Bytes read at a time while hashing a file.
_READ = 1 << 20


class FileFacts(msgspec.Struct, frozen=True, kw_only=True):
    """What a scan knows of one wanted file without reading it.

    Attributes:
        path: Absolute path.
        size: Bytes.
        modified: Last modification time (UTC, microsecond precision as PostgreSQL keeps it).
        sidecar: The XMP sidecar beside it (``photo.jpg.xmp``, else ``photo.xmp``), or None.
    """

    path: str
    size: int
    modified: datetime
    sidecar: str | None


class Exclusions:
    """A library's exclusion patterns, compiled once per batch.

    Args:
        patterns: Globs such as ``**/*.tif`` or ``**/Raw/**``.
    """

    def __init__(self, patterns: Sequence[str]) -> None:
        usable = []
        for pattern in patterns:  # one pattern pathspec cannot read must not stop a scan
            try:
                pathspec.PathSpec.from_lines("gitignore", [pattern])
            except (ValueError, TypeError) as exc:
                log.warning("library.pattern_ignored", pattern=pattern, error=str(exc))
                continue
            usable.append(pattern)
        self._spec = pathspec.PathSpec.from_lines("gitignore", usable)

    def excludes(self, path: str) -> bool:
        """Whether ``path`` (absolute) is excluded."""
        return self._spec.match_file(path)


def _under(path: str, import_paths: Sequence[str]) -> bool:
    return any(path.startswith(root.rstrip("/") + "/") for root in import_paths)


def wanted(path: str, import_paths: Sequence[str], exclusions: Exclusions) -> bool:
    """Whether ``path`` is a file name the library would import (the file itself unchecked).

    Args:
        path: Absolute, normalised path.
        import_paths: The library's import paths.
        exclusions: Its exclusion patterns.
    """
    return (
        os.path.normpath(path) == path
        and _under(path, import_paths)
        and media_type_for(os.path.basename(path)) is not None
        and not exclusions.excludes(path)
    )


def walk(import_paths: Sequence[str], exclusions: Exclusions) -> Iterator[str]:
    """Every wanted file under ``import_paths``, lazily, in sorted order per folder.

    Folders that cannot be read are skipped (an unreadable folder's files then go offline, as
    if missing). Symbolic links to folders are not followed (a loop cannot trap the walk).
    """
    for root in import_paths:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                path = os.path.join(dirpath, name)
                if wanted(path, import_paths, exclusions):
                    yield path


def batches(paths: Iterator[str], size: int) -> Generator[list[str], None, None]:
    """``paths`` in lists of at most ``size``."""
    while batch := list(islice(paths, size)):
        yield batch


def _sidecar(path: str) -> str | None:
    """The XMP sidecar of a library file: ``photo.jpg.xmp``, else ``photo.xmp``, else None.

    As Immich's ``MetadataService.handleSidecarCheck`` (``getSidecarCandidates``): exactly these
    two names, matched case-sensitively (``photo.jpg.XMP`` or ``PHOTO.xmp`` are not its
    sidecar), and a candidate counts only when it can be read (a symbolic link to a readable
    file does, under its own name; a broken one does not).
    """
    stem, _ext = os.path.splitext(path)
    for candidate in (f"{path}.xmp", f"{stem}.xmp"):
        if os.path.isfile(candidate) and os.access(candidate, os.R_OK):
            return candidate
    return None


def file_facts(path: str, import_paths: Sequence[str], exclusions: Exclusions) -> FileFacts | None:
    """Stat one path of a library.

    Returns:
        Its facts, or None when the library should not hold it (any more): missing, not a
        regular file, unreadable, outside the import paths, excluded, or not a media file.
    """
    if not wanted(path, import_paths, exclusions):
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode) or not os.access(path, os.R_OK):
        return None
    modified = datetime.fromtimestamp(st.st_mtime_ns // 1000 / 1_000_000, tz=UTC)
    return FileFacts(path=path, size=st.st_size, modified=modified, sidecar=_sidecar(path))


def read_file(path: str) -> tuple[bytes, bytes]:
    """Read a file once: its first :data:`~darkroom_media.sniff.SNIFF_BYTES` and its SHA-1.

    Returns:
        (head, raw 20-byte SHA-1).

    Raises:
        OSError: The file went away or cannot be read.
    """
    digest = hashlib.sha1(usedforsecurity=False)
    head = b""
    with open(path, "rb") as f:
        while chunk := f.read(_READ):
            if len(head) < SNIFF_BYTES:
                head += chunk[: SNIFF_BYTES - len(head)]
            digest.update(chunk)
    return head, digest.digest()
