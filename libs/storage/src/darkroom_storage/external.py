"""External files: originals of external libraries, read in place, never written.

An external-library asset's ``original_path`` (and ``sidecar_path``) is the file's absolute path
(``/mnt/photos/2019/IMG_1.jpg``), as Immich keeps it. Every service reads originals through its
:class:`~darkroom_storage.Storage` (metadata, thumbnail, transcode, the gateway's downloads), so
this one wrapper, built by :func:`darkroom_storage.open_service_storage` around the back end,
is the only code that resolves such paths:

- a key starting with ``/`` is an external file: ``open``, ``head``, ``get_bytes``,
  ``download_to`` and ``local_path`` read it from the local filesystem (the import paths are
  mounted read-only into each service that reads originals: docs/deploy.md "External
  libraries"); every other key goes to the back end unchanged;
- writing an external file (``put``, ``move`` to or from one, a presigned PUT) raises
  :class:`ReadOnlyFile`, and ``delete`` of one does nothing: purging an asset removes its rows
  and derived files, never the user's file. So "originals are never modified" holds whatever a
  caller does, including the storage-template mover (part of #17) should it meet one.

Keys are checked as :func:`darkroom_storage.keys.validate_key` checks relative keys (no ``..``,
no empty segment), so an external path cannot climb out of where it points.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import structlog

from darkroom_storage.base import DEFAULT_CHUNK_SIZE, ObjectInfo, ObjectStream, Storage
from darkroom_storage.errors import StorageError
from darkroom_storage.filesystem import FilesystemStorage

__all__ = ["ExternalFiles", "ReadOnlyFile", "is_external"]

log = structlog.get_logger()


class ReadOnlyFile(StorageError):
    """An attempt to write, move or replace an external library's file."""


def is_external(key: str) -> bool:
    """Whether ``key`` names an external file (an absolute path) rather than a stored object."""
    return key.startswith("/")


class ExternalFiles(Storage):
    """The storage services use: the configured back end, plus external files read in place.

    Args:
        inner: The back end holding every managed object (filesystem or S3).
    """

    def __init__(self, inner: Storage) -> None:
        self.inner = inner
        # Keys of this store are the absolute path without its leading "/"; it is only read.
        self._files = FilesystemStorage(Path("/"), fsync=False)

    def __repr__(self) -> str:
        return f"ExternalFiles({self.inner!r})"

    def __getattr__(self, name: str) -> Any:
        # What only one back end has (e.g. S3's ensure_bucket) stays reachable.
        return getattr(self.inner, name)

    @staticmethod
    def _rel(key: str) -> str:
        return key[1:]

    def _refuse(self, key: str, what: str) -> ReadOnlyFile:
        log.warning("storage.external_write_refused", key=key, op=what)
        return ReadOnlyFile(f"{key!r} is an external library file: it is never {what}")

    async def put(
        self,
        key: str,
        data: bytes | AsyncIterable[bytes],
        *,
        content_type: str | None = None,
        durable: bool = True,
    ) -> ObjectInfo:
        """See :meth:`Storage.put`; external files raise :class:`ReadOnlyFile`."""
        if is_external(key):
            raise self._refuse(key, "written")
        return await self.inner.put(key, data, content_type=content_type, durable=durable)

    async def open(
        self,
        key: str,
        *,
        start: int = 0,
        end: int | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> ObjectStream:
        """See :meth:`Storage.open`; an external file is read from the local filesystem."""
        if is_external(key):
            return await self._files.open(
                self._rel(key), start=start, end=end, chunk_size=chunk_size
            )
        return await self.inner.open(key, start=start, end=end, chunk_size=chunk_size)

    async def get_bytes(self, key: str) -> bytes:
        """See :meth:`Storage.get_bytes`."""
        if is_external(key):
            return await self._files.get_bytes(self._rel(key))
        return await self.inner.get_bytes(key)

    async def head(self, key: str) -> ObjectInfo:
        """See :meth:`Storage.head`; an external file's info carries its absolute path as key."""
        if is_external(key):
            info = await self._files.head(self._rel(key))
            return ObjectInfo(
                key=key,
                size=info.size,
                etag=info.etag,
                modified=info.modified,
                content_type=info.content_type,
            )
        return await self.inner.head(key)

    async def delete(self, key: str) -> None:
        """See :meth:`Storage.delete`; an external file is left alone (only its asset goes)."""
        if is_external(key):
            log.debug("storage.external_kept", key=key)
            return
        await self.inner.delete(key)

    async def move(self, src: str, dst: str) -> ObjectInfo:
        """See :meth:`Storage.move`; moving from or to an external file raises ReadOnlyFile."""
        if is_external(src) or is_external(dst):
            raise self._refuse(src if is_external(src) else dst, "moved")
        return await self.inner.move(src, dst)

    def list_objects(self, prefix: str = "") -> AsyncIterator[ObjectInfo]:
        """See :meth:`Storage.list_objects` (managed objects only)."""
        return self.inner.list_objects(prefix)

    async def presigned_get_url(self, key: str, expires: timedelta) -> str | None:
        """See :meth:`Storage.presigned_get_url`; None for an external file (served by us)."""
        if is_external(key):
            return None
        return await self.inner.presigned_get_url(key, expires)

    async def presigned_put_url(self, key: str, expires: timedelta) -> str | None:
        """See :meth:`Storage.presigned_put_url`; external files raise ReadOnlyFile."""
        if is_external(key):
            raise self._refuse(key, "written")
        return await self.inner.presigned_put_url(key, expires)

    def local_path(self, key: str) -> Path | None:
        """See :meth:`Storage.local_path`; an external file is its own path."""
        if is_external(key):
            return self._files.local_path(self._rel(key))
        return self.inner.local_path(key)

    async def download_to(self, key: str, path: Path) -> None:
        """See :meth:`Storage.download_to`."""
        if is_external(key):
            await self._files.download_to(self._rel(key), path)
            return
        await self.inner.download_to(key, path)

    async def sweep_temp(self, older_than: timedelta = timedelta(hours=24)) -> int:
        """See :meth:`Storage.sweep_temp` (the back end's leftovers only)."""
        return await self.inner.sweep_temp(older_than)

    async def sweep(self, prefix: str, older_than: timedelta) -> int:
        """See :meth:`Storage.sweep` (managed objects only)."""
        return await self.inner.sweep(prefix, older_than)

    async def close(self) -> None:
        """Close the back end."""
        await self.inner.close()
