"""The files of a Takeout export, read in place: zip parts (members streamed, never extracted
all at once) and extracted folders."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO


@dataclass(frozen=True)
class Entry:
    """One file of the export.

    Attributes:
        source: the input it came from (a zip part or a folder).
        path: its path inside the input (posix), e.g. ``Takeout/Google Photos/Trip/a.jpg``.
        size: its size in bytes (uncompressed).
        modified: its modification time (a zip member's stamp, read as UTC).
        zip: the open archive for a zip member; None for a file of a folder.
    """

    source: Path
    path: str
    size: int
    modified: datetime
    zip: zipfile.ZipFile | None = None

    @property
    def name(self) -> str:
        """The file's name."""
        return PurePosixPath(self.path).name

    @property
    def folder(self) -> str:
        """The name of the folder holding it (Takeout's album or year folder; the key that
        joins a file and its JSON across parts)."""
        parent = PurePosixPath(self.path).parent.name
        return parent or self.source.stem

    @property
    def key(self) -> str:
        """A stable name of the item across runs (folder, file name and size)."""
        return f"{self.folder}/{self.name}:{self.size}"

    def open(self) -> IO[bytes]:
        """Stream the file's bytes (a zip member is decompressed as it is read)."""
        if self.zip is not None:
            return self.zip.open(self.path)
        return (self.source / self.path).open("rb")


class Inputs:
    """The files of every input, with the zip parts kept open while in use.

    Args:
        paths: zip files and folders (a split export's parts, in any order).

    Raises:
        FileNotFoundError: A path does not exist.
        zipfile.BadZipFile: A file is not a zip archive.
    """

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        self._stack = ExitStack()

    def __enter__(self) -> Inputs:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def entries(self) -> Iterator[Entry]:
        """Every file of every input (folders walked in name order; zip members in order)."""
        for path in self.paths:
            if path.is_dir():
                for file in sorted(p for p in path.rglob("*") if p.is_file()):
                    rel = file.relative_to(path).as_posix()
                    stat = file.stat()
                    when = datetime.fromtimestamp(stat.st_mtime, UTC)
                    yield Entry(source=path, path=rel, size=stat.st_size, modified=when)
            elif path.is_file():
                archive = self._stack.enter_context(zipfile.ZipFile(path))
                for info in archive.infolist():
                    if not info.is_dir():
                        yield Entry(
                            source=path,
                            path=info.filename,
                            size=info.file_size,
                            modified=datetime(*info.date_time, tzinfo=UTC),
                            zip=archive,
                        )
            else:
                raise FileNotFoundError(f"no such file or folder: {path}")
