"""The storage interface shared by both back ends, and the value types it speaks in."""

from __future__ import annotations

import abc
import asyncio
import contextlib
import os
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType

import msgspec
import structlog

from darkroom_storage.errors import NotFound
from darkroom_storage.keys import temp_name, validate_key

__all__ = ["DEFAULT_CHUNK_SIZE", "ObjectInfo", "ObjectStream", "Storage", "check_range"]

log = structlog.get_logger()

#: Default read chunk: 1 MiB.
DEFAULT_CHUNK_SIZE = 1 << 20


class ObjectInfo(msgspec.Struct, frozen=True):
    """What the store knows about one object.

    Attributes:
        key: The object's key.
        size: Size in bytes.
        etag: S3: the server's ETag (the MD5 hex of the content for single-part uploads,
            ``<md5 of part md5s>-<parts>`` for multipart ones). Filesystem: ``<mtime ns>-<size>``
            in hex, in the spirit of nginx's ETag; it changes whenever the file is replaced.
        modified: Last modification time, timezone-aware UTC.
        content_type: MIME type. S3: as stored at upload (listings leave it None). Filesystem:
            guessed from the key's extension (the type given to ``put`` is not stored).
    """

    key: str
    size: int
    etag: str | None = None
    modified: datetime | None = None
    content_type: str | None = None


class ObjectStream(AsyncIterator[bytes]):
    """An opened object's bytes, chunk by chunk (what :meth:`Storage.open` returns).

    The file or HTTP response is already open, so a missing object was reported when it was
    opened. Exhausting the stream, an error while reading, :meth:`aclose` or leaving
    ``async with`` releases it; a stream dropped half-read is released when it is collected.
    """

    def __init__(
        self, chunks: AsyncGenerator[bytes, None], release: Callable[[], Awaitable[None]]
    ) -> None:
        """Wrap ``chunks`` (which must call ``release`` when it ends) and ``release`` itself."""
        self._chunks = chunks
        self._release = release

    def __aiter__(self) -> ObjectStream:
        return self

    async def __anext__(self) -> bytes:
        return await self._chunks.__anext__()

    async def aclose(self) -> None:
        """Stop reading and release the file or connection (idempotent)."""
        await self._chunks.aclose()
        await self._release()

    async def read_all(self) -> bytes:
        """Read the rest of the stream into memory (for small objects only) and close it."""
        try:
            return b"".join([chunk async for chunk in self])
        finally:
            await self.aclose()

    async def __aenter__(self) -> ObjectStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def check_range(start: int, end: int | None, chunk_size: int) -> None:
    """Validate the arguments of :meth:`Storage.open`.

    Raises:
        ValueError: ``start < 0``, ``end < start`` or ``chunk_size < 1``.
    """
    if start < 0:
        raise ValueError(f"start must be >= 0, got {start}")
    if end is not None and end < start:
        raise ValueError(f"end must be >= start, got start={start} end={end}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")


class Storage(abc.ABC):
    """Object storage: one asynchronous interface over the filesystem and S3 back ends.

    Keys are relative ``/``-separated paths (see :func:`darkroom_storage.keys.validate_key`);
    every method taking a key raises ``ValueError`` for an invalid one. Blocking work runs in
    worker threads, never on the event loop. Writes are atomic: a reader sees the old object or
    the whole new one, and a failed or interrupted ``put`` leaves the key as it was.

    Use it as an async context manager, or call :meth:`close` when done.
    """

    @abc.abstractmethod
    async def put(
        self,
        key: str,
        data: bytes | AsyncIterable[bytes],
        *,
        content_type: str | None = None,
        durable: bool = True,
    ) -> ObjectInfo:
        """Store an object, replacing any object at ``key``.

        Args:
            key: Where to store it.
            data: The whole content, or an async iterable of chunks (any sizes). Chunks are
                never joined in memory: at most one multipart part (S3) or one chunk
                (filesystem) is held at a time.
            content_type: MIME type; guessed from the key's extension when None (S3 stores it,
                the filesystem does not).
            durable: False for a staging object that is :meth:`move`-d before anyone relies on
                it: the filesystem then skips the fsyncs (readers still see the whole object or
                none, but a power cut may lose or truncate it; :meth:`move` makes it durable).
                S3 ignores it (a completed PUT is durable).

        Returns:
            The stored object's info.

        Raises:
            ValueError: Invalid key.
            StorageError: The write failed; the key holds what it held before. An exception
                raised by ``data`` itself propagates unchanged, with the same guarantee.
        """

    @abc.abstractmethod
    async def open(
        self,
        key: str,
        *,
        start: int = 0,
        end: int | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> ObjectStream:
        """Open an object for a streaming, optionally ranged, read.

        The range is ``[start, end)``: ``end`` is EXCLUSIVE, like a Python slice
        (``data[start:end]``), so HTTP ``Range: bytes=a-b`` maps to ``start=a, end=b + 1``. A range
        reaching past the end of the object is cut short; ``start`` at or past the end yields
        nothing.

        Args:
            key: The object.
            start: First byte offset.
            end: One past the last byte offset; None means to the end of the object.
            chunk_size: Most bytes per yielded chunk.

        Returns:
            An :class:`ObjectStream` (an ``AsyncIterator[bytes]``); close it if you stop early.

        Raises:
            NotFound: No object at ``key`` (raised here, before any byte is read).
            ValueError: Invalid key or range.
        """

    @abc.abstractmethod
    async def head(self, key: str) -> ObjectInfo:
        """Describe an object.

        Raises:
            NotFound: No object at ``key``.
        """

    @abc.abstractmethod
    async def delete(self, key: str) -> None:
        """Delete an object; deleting a missing object is not an error (idempotent)."""

    @abc.abstractmethod
    async def move(self, src: str, dst: str) -> ObjectInfo:
        """Move an object to a new key, replacing any object at ``dst``.

        Filesystem: an atomic rename; when it returns, the object's data and its new directory
        entry are on disk (even if it was put with ``durable=False``). S3: a server-side copy
        (multipart for > 5 GiB) then a delete of ``src``; if the delete fails, both keys hold
        the object.

        Returns:
            Info of the object at ``dst``.

        Raises:
            NotFound: No object at ``src``.
        """

    async def copy(self, src: str, dst: str) -> ObjectInfo:
        """Copy an object to a new key, replacing any object at ``dst``; ``src`` stays.

        The copy appears atomically (a reader of ``dst`` sees the old object or the whole
        copy) and is durable when this returns. This default streams the bytes through
        :meth:`put`; the back ends do better (a hard link or kernel copy, a server-side copy).
        It is what a move that must never leave a moment without the object builds on: copy,
        switch the readers over, then delete the source (the storage template).

        Returns:
            Info of the object at ``dst``.

        Raises:
            NotFound: No object at ``src``.
        """
        if src == dst:
            return await self.head(dst)
        stream = await self.open(src)
        async with stream:
            return await self.put(dst, stream)

    @abc.abstractmethod
    def list_objects(self, prefix: str = "") -> AsyncIterator[ObjectInfo]:
        """Iterate over every object whose key starts with ``prefix`` (recursively).

        Temporary files of unfinished writes are never listed. Order: S3 lists in UTF-8 binary
        key order; the filesystem in no particular order.

        Raises:
            ValueError: Invalid prefix (see :func:`darkroom_storage.keys.validate_prefix`).
        """

    @abc.abstractmethod
    async def presigned_get_url(self, key: str, expires: timedelta) -> str | None:
        """A URL that lets anyone GET the object until ``expires`` from now; None on filesystem.

        Raises:
            ValueError: Invalid key, or ``expires`` outside 1 s .. 7 days (the SigV4 limit).
        """

    @abc.abstractmethod
    async def presigned_put_url(self, key: str, expires: timedelta) -> str | None:
        """A URL that lets anyone PUT the object until ``expires`` from now; None on filesystem.

        Raises:
            ValueError: Invalid key, or ``expires`` outside 1 s .. 7 days (the SigV4 limit).
        """

    @abc.abstractmethod
    def local_path(self, key: str) -> Path | None:
        """The object's real file (for zero-copy ``sendfile``) on the filesystem; None on S3.

        The path is returned whether or not the object exists.
        """

    @abc.abstractmethod
    async def sweep_temp(self, older_than: timedelta = timedelta(hours=24)) -> int:
        """Remove what interrupted writes left behind (a crash, a killed process).

        Filesystem: temporary files ``.<name>.tmp-<uuid>``. S3: incomplete multipart uploads,
        which the bucket keeps (and bills) until they are aborted.

        Args:
            older_than: Only leftovers started longer ago than this are removed, so writes in
                progress are never touched.

        Returns:
            How many were removed.
        """

    async def sweep(self, prefix: str, older_than: timedelta) -> int:
        """Delete every object under ``prefix`` last modified longer ago than ``older_than``.

        For areas whose objects are meant to be short-lived (the gateway's ``staging/``: an
        upload's parts live there only until ingest moves them), so that whatever a crash or a
        lost request left there does not stay forever.

        Args:
            prefix: Listing prefix (see :meth:`list_objects`), e.g. ``"staging/"``.
            older_than: Minimum age (from the object's modification time).

        Returns:
            How many objects were deleted.

        Raises:
            ValueError: Invalid prefix.
        """
        cutoff = datetime.now(UTC) - older_than
        stale = [
            info.key
            async for info in self.list_objects(prefix)
            if info.modified is not None and info.modified < cutoff
        ]
        for key in stale:
            await self.delete(key)
        log.info(
            "storage.swept",
            prefix=prefix,
            removed=len(stale),
            older_than_s=older_than.total_seconds(),
        )
        return len(stale)

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections; the storage must not be used afterwards."""

    async def get_bytes(self, key: str) -> bytes:
        """Read a whole object into memory (small objects such as thumbnails only).

        Raises:
            NotFound: No object at ``key``.
        """
        stream = await self.open(key)
        return await stream.read_all()

    async def exists(self, key: str) -> bool:
        """Whether an object exists at ``key``."""
        try:
            await self.head(key)
        except NotFound:
            return False
        return True

    async def download_to(self, key: str, path: Path) -> None:
        """Copy an object to a local file, streaming (for tools that need a file: exiv2, PyAV).

        The file appears atomically (temporary file in the same directory, then rename); the
        parent directory is created if missing; an existing file is replaced.

        Raises:
            NotFound: No object at ``key``.
        """
        validate_key(key)
        path = Path(path)
        stream = await self.open(key)
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        tmp = path.with_name(temp_name(path.name))
        try:
            async with stream:
                with await asyncio.to_thread(tmp.open, "xb") as out:
                    async for chunk in stream:
                        await asyncio.to_thread(out.write, chunk)
            await asyncio.to_thread(os.replace, tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise

    async def __aenter__(self) -> Storage:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
