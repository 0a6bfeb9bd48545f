"""Filesystem back end: objects are files under one root directory.

Writes go to a temporary file ``.<name>.tmp-<uuid>`` in the target's directory, are fsynced,
then renamed over the target with ``os.replace`` (atomic on POSIX), and the directory is
fsynced so the rename survives a power cut. A reader therefore sees the old file or the whole
new one, and a crash leaves at most a temporary file, which listings skip and
:meth:`FilesystemStorage.sweep_temp` removes. Empty directories are left in place on delete
(removing them would race with a concurrent put into the same directory).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import mimetypes
import os
import shutil
import stat
import time
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Generator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

import structlog

from darkroom_storage.base import (
    DEFAULT_CHUNK_SIZE,
    ObjectInfo,
    ObjectStream,
    Storage,
    check_range,
)
from darkroom_storage.blocking import iterate_in_thread
from darkroom_storage.errors import NotFound, StorageError
from darkroom_storage.keys import is_temp_name, temp_name, validate_key, validate_prefix

__all__ = ["FilesystemStorage"]

log = structlog.get_logger()

_LIST_BATCH = 1000
#: Bytes gathered from a streamed put's small chunks before one write (1 MiB).
WRITE_BATCH = DEFAULT_CHUNK_SIZE
#: A streamed put asks the kernel to start writing its file to disk every this many bytes
#: (64 MiB, ``posix_fadvise(POSIX_FADV_DONTNEED)`` on what was written since: Linux starts the
#: writeback of those dirty pages without waiting and drops them from the page cache once clean),
#: so the closing fsync (or :meth:`FilesystemStorage.move`'s) does not find gigabytes still to
#: write, and a large upload does not push everything else out of the page cache.
WRITEBACK_EVERY = 64 << 20


def _info(key: str, st: os.stat_result) -> ObjectInfo:
    return ObjectInfo(
        key=key,
        size=st.st_size,
        etag=f"{st.st_mtime_ns:x}-{st.st_size:x}",
        modified=datetime.fromtimestamp(st.st_mtime, tz=UTC),
        content_type=mimetypes.guess_type(key, strict=False)[0],
    )


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _makedirs(path: Path, key: str) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        raise StorageError(f"cannot store {key!r}: a parent path is an existing object") from exc


class FilesystemStorage(Storage):
    """Objects as files under ``root`` (the embedded default back end).

    Args:
        root: Directory holding the objects; created when missing.
        fsync: Flush file data and the directory entry to disk before a write returns. Turn it
            off only for scratch data.
    """

    def __init__(self, root: Path | str, *, fsync: bool = True) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._fsync = fsync

    def __repr__(self) -> str:
        return f"FilesystemStorage(root={str(self.root)!r})"

    def _path(self, key: str) -> Path:
        return self.root / validate_key(key)

    def local_path(self, key: str) -> Path | None:
        """The object's file (``root/key``), whether or not it exists.

        Raises:
            ValueError: Invalid key.
        """
        return self._path(key)

    # -- writing ---------------------------------------------------------------------------

    def _open_temp(self, path: Path, key: str) -> tuple[Path, BinaryIO]:
        _makedirs(path.parent, key)
        tmp = path.with_name(temp_name(path.name))
        return tmp, tmp.open("xb")

    def _commit(
        self, tmp: Path, f: BinaryIO, path: Path, key: str, *, durable: bool = True
    ) -> ObjectInfo:
        sync = self._fsync and durable
        f.flush()
        if sync:
            os.fsync(f.fileno())
        f.close()
        try:
            os.replace(tmp, path)
        except IsADirectoryError as exc:
            raise StorageError(f"cannot store {key!r}: it is a prefix of other objects") from exc
        if sync:
            _fsync_dir(path.parent)
        return _info(key, path.stat())

    @staticmethod
    def _write_pieces(f: BinaryIO, pieces: list[bytes], flushed: int) -> int:
        """Write ``pieces`` (no copy: each goes to the file as it is), then, past
        :data:`WRITEBACK_EVERY` bytes since offset ``flushed``, start the writeback of what was
        written since; returns the new ``flushed`` offset."""
        f.writelines(pieces)
        written = f.tell()
        if written - flushed >= WRITEBACK_EVERY and hasattr(os, "posix_fadvise"):
            f.flush()
            os.posix_fadvise(f.fileno(), flushed, written - flushed, os.POSIX_FADV_DONTNEED)
            return written
        return flushed

    @staticmethod
    def _discard(tmp: Path, f: BinaryIO) -> None:
        f.close()
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()

    def _write_all(
        self, path: Path, key: str, data: bytes | bytearray | memoryview, durable: bool
    ) -> ObjectInfo:
        tmp, f = self._open_temp(path, key)
        try:
            f.write(data)
            return self._commit(tmp, f, path, key, durable=durable)
        except BaseException:
            self._discard(tmp, f)
            raise

    async def put(
        self,
        key: str,
        data: bytes | AsyncIterable[bytes],
        *,
        content_type: str | None = None,
        durable: bool = True,
    ) -> ObjectInfo:
        """Write a file atomically (temporary file, fsync, rename); see :meth:`Storage.put`.

        ``content_type`` is not stored: :meth:`head` guesses it from the key's extension. With
        ``durable=False`` the file and directory are not fsynced (still atomic: temporary file
        then rename).
        """
        path = self._path(key)
        started = time.perf_counter()
        if isinstance(data, bytes | bytearray | memoryview):
            info = await asyncio.to_thread(self._write_all, path, key, data, durable)
        else:
            # Synchronous on purpose (a mkdir and an open): a cancellation while a thread made
            # the temporary file would lose track of it and leave it behind.
            tmp, f = self._open_temp(path, key)
            try:
                # Small chunks (an HTTP body comes in ~64-250 KB pieces) are gathered into
                # batches of about WRITE_BATCH bytes, each written in one thread hop: one hop
                # per chunk made a 4 GiB upload CPU-bound on a busy 2-core machine (issue #20).
                # The pieces are kept as they are (a list, not a buffer they are copied into):
                # at most WRITE_BATCH - 1 bytes are held besides the chunk just received.
                pending: list[bytes] = []
                pending_bytes = flushed = 0
                async for chunk in data:
                    pending.append(chunk)
                    pending_bytes += len(chunk)
                    if pending_bytes >= WRITE_BATCH:
                        flushed = await asyncio.to_thread(self._write_pieces, f, pending, flushed)
                        pending, pending_bytes = [], 0
                if pending:
                    await asyncio.to_thread(self._write_pieces, f, pending, flushed)
                    del pending
                info = await asyncio.to_thread(
                    functools.partial(self._commit, tmp, f, path, key, durable=durable)
                )
            except BaseException:
                # Synchronous on purpose: it must run even while the task is being cancelled.
                self._discard(tmp, f)
                log.warning("storage.put_aborted", backend="filesystem", key=key)
                raise
        log.debug(
            "storage.put",
            backend="filesystem",
            key=key,
            size=info.size,
            ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return info

    # -- reading ---------------------------------------------------------------------------

    @staticmethod
    def _open_fd(path: Path, key: str) -> tuple[int, os.stat_result]:
        try:
            fd = os.open(path, os.O_RDONLY)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise NotFound(key) from None
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            raise NotFound(key)
        return fd, st

    async def open(
        self,
        key: str,
        *,
        start: int = 0,
        end: int | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> ObjectStream:
        """Open the file and stream ``[start, end)`` with ``pread``; see :meth:`Storage.open`.

        The open file keeps reading the version it opened even if the key is replaced meanwhile.
        """
        check_range(start, end, chunk_size)
        path = self._path(key)
        fd, st = await asyncio.to_thread(self._open_fd, path, key)
        # A file object, not a bare descriptor, so a stream dropped unread is closed by the GC.
        file = os.fdopen(fd, "rb", buffering=0)
        stop = st.st_size if end is None else min(end, st.st_size)

        async def release() -> None:
            file.close()  # idempotent

        async def chunks() -> AsyncGenerator[bytes, None]:
            pos = start
            try:
                while pos < stop:
                    data = await asyncio.to_thread(os.pread, fd, min(chunk_size, stop - pos), pos)
                    if not data:  # the file was truncated in place (never done by this library)
                        break
                    pos += len(data)
                    yield data
            finally:
                await release()

        return ObjectStream(chunks(), release)

    async def get_bytes(self, key: str) -> bytes:
        """Read the whole file (small objects only); see :meth:`Storage.get_bytes`."""
        path = self._path(key)

        def read() -> bytes:
            fd, _ = self._open_fd(path, key)
            with os.fdopen(fd, "rb") as f:
                return f.read()

        return await asyncio.to_thread(read)

    async def head(self, key: str) -> ObjectInfo:
        """Stat the file; see :meth:`Storage.head`."""
        path = self._path(key)
        try:
            st = await asyncio.to_thread(path.stat)
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound(key) from None
        if not stat.S_ISREG(st.st_mode):
            raise NotFound(key)
        return _info(key, st)

    async def download_to(self, key: str, path: Path) -> None:
        """Copy the file with the kernel's copy (``shutil.copyfile``), then rename into place."""
        src = self._path(key)
        path = Path(path)

        def copy() -> None:
            fd, _ = self._open_fd(src, key)  # reports a missing object as NotFound
            os.close(fd)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(temp_name(path.name))
            try:
                shutil.copyfile(src, tmp)
                os.replace(tmp, path)
            except FileNotFoundError:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
                if not src.exists():
                    raise NotFound(key) from None
                raise
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
                raise

        await asyncio.to_thread(copy)

    # -- deleting and moving ------------------------------------------------------------------

    async def delete(self, key: str) -> None:
        """Unlink the file; missing is fine. See :meth:`Storage.delete`."""
        path = self._path(key)

        def unlink() -> None:
            try:
                path.unlink()
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                return
            if self._fsync:
                _fsync_dir(path.parent)

        await asyncio.to_thread(unlink)
        log.debug("storage.deleted", backend="filesystem", key=key)

    async def move(self, src: str, dst: str) -> ObjectInfo:
        """Rename the file (``os.replace``, parents created); see :meth:`Storage.move`.

        Then the file itself is fsynced (it may have been put with ``durable=False``; on a
        journalling filesystem this one flush also commits the rename), then its directory and
        the one it left.
        """
        src_path, dst_path = self._path(src), self._path(dst)

        def rename() -> ObjectInfo:
            try:
                st = src_path.stat()
            except (FileNotFoundError, NotADirectoryError):
                raise NotFound(src) from None
            if not stat.S_ISREG(st.st_mode):
                raise NotFound(src)
            if src_path != dst_path:
                _makedirs(dst_path.parent, dst)
                try:
                    os.replace(src_path, dst_path)
                except FileNotFoundError:
                    raise NotFound(src) from None
                except IsADirectoryError as exc:
                    raise StorageError(
                        f"cannot move to {dst!r}: it is a prefix of other objects"
                    ) from exc
                if self._fsync:
                    _fsync_file(dst_path)
                    _fsync_dir(dst_path.parent)
                    if src_path.parent != dst_path.parent:
                        _fsync_dir(src_path.parent)
            elif self._fsync:
                _fsync_file(dst_path)
            return _info(dst, dst_path.stat())

        info = await asyncio.to_thread(rename)
        log.debug("storage.moved", backend="filesystem", src=src, dst=dst)
        return info

    async def copy(self, src: str, dst: str) -> ObjectInfo:
        """Copy the file: a hard link when the filesystem allows (instant, no extra space;
        objects are never modified in place, so sharing the inode is safe), else a kernel copy
        (``shutil.copyfile``) into a temporary file renamed over ``dst``; then fsyncs.

        A link made straight at a free ``dst`` appears whole at once, so a process killed
        mid-copy leaves either nothing or the whole object at ``dst`` (which its caller knows
        of), never a temporary file. See :meth:`Storage.copy`."""
        src_path, dst_path = self._path(src), self._path(dst)

        def copy() -> ObjectInfo:
            fd, _ = self._open_fd(src_path, src)  # reports a missing object as NotFound
            os.close(fd)
            if src_path == dst_path:
                return _info(dst, dst_path.stat())
            _makedirs(dst_path.parent, dst)
            try:
                os.link(src_path, dst_path)
            except FileNotFoundError:
                raise NotFound(src) from None
            except OSError:  # dst exists (replace it atomically below), or no hard links
                pass
            else:
                if self._fsync:
                    _fsync_file(dst_path)
                    _fsync_dir(dst_path.parent)
                return _info(dst, dst_path.stat())
            tmp = dst_path.with_name(temp_name(dst_path.name))
            try:
                try:
                    os.link(src_path, tmp)
                except FileNotFoundError:
                    raise NotFound(src) from None
                except OSError:  # no hard links here (EXDEV, EPERM...): copy the bytes
                    shutil.copyfile(src_path, tmp)
                if self._fsync:
                    _fsync_file(tmp)
                os.replace(tmp, dst_path)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
                raise
            if self._fsync:
                _fsync_dir(dst_path.parent)
            return _info(dst, dst_path.stat())

        info = await asyncio.to_thread(copy)
        log.debug("storage.copied", backend="filesystem", src=src, dst=dst)
        return info

    # -- listing and housekeeping --------------------------------------------------------------

    def _walk(self, prefix: str) -> Generator[list[ObjectInfo], None, None]:
        base = self.root / prefix.rpartition("/")[0]
        batch: list[ObjectInfo] = []
        for dirpath, _dirnames, filenames in os.walk(base):
            rel_dir = Path(dirpath).relative_to(self.root).as_posix()
            for name in filenames:
                if is_temp_name(name):
                    continue
                key = name if rel_dir == "." else f"{rel_dir}/{name}"
                if not key.startswith(prefix):
                    continue
                try:
                    st = os.stat(Path(dirpath, name))
                except FileNotFoundError:  # deleted while we walk
                    continue
                if stat.S_ISREG(st.st_mode):
                    batch.append(_info(key, st))
                if len(batch) >= _LIST_BATCH:
                    yield batch
                    batch = []
        if batch:
            yield batch

    async def list_objects(self, prefix: str = "") -> AsyncIterator[ObjectInfo]:
        """Walk the directory tree under ``prefix``; see :meth:`Storage.list_objects`."""
        validate_prefix(prefix)
        async for batch in iterate_in_thread(self._walk(prefix), "list-objects"):
            for info in batch:
                yield info

    async def sweep_temp(self, older_than: timedelta = timedelta(hours=24)) -> int:
        """Remove temporary files left by interrupted writes (a crash, a killed process).

        Args:
            older_than: Only files last modified longer ago than this are removed, so writes
                in progress are never touched.

        Returns:
            How many files were removed.
        """
        cutoff = time.time() - older_than.total_seconds()

        def sweep() -> int:
            removed = 0
            for dirpath, _dirnames, filenames in os.walk(self.root):
                for name in filenames:
                    if not is_temp_name(name):
                        continue
                    path = Path(dirpath, name)
                    with contextlib.suppress(FileNotFoundError):
                        if path.stat().st_mtime < cutoff:
                            path.unlink()
                            removed += 1
            return removed

        removed = await asyncio.to_thread(sweep)
        log.info(
            "storage.temp_swept",
            backend="filesystem",
            removed=removed,
            older_than_s=older_than.total_seconds(),
        )
        return removed

    # -- the rest ------------------------------------------------------------------------------

    async def presigned_get_url(self, key: str, expires: timedelta) -> str | None:
        """Always None: files are served by the gateway. The key is still validated."""
        validate_key(key)
        return None

    async def presigned_put_url(self, key: str, expires: timedelta) -> str | None:
        """Always None: uploads go through the gateway. The key is still validated."""
        validate_key(key)
        return None

    async def close(self) -> None:
        """Nothing to release."""
