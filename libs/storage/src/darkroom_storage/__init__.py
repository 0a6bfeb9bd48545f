"""Object storage for originals and derived files: local filesystem and S3 (minio client) back ends.

One asynchronous interface, :class:`Storage`, two back ends chosen by :class:`StorageSettings`::

    storage = open_storage(settings.storage)
    async with storage:
        await storage.put("upload/u1/ab/cd/a1.jpg", chunks, content_type="image/jpeg")
        async with await storage.open("upload/u1/ab/cd/a1.jpg", start=0, end=1024) as stream:
            async for chunk in stream:
                ...
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from darkroom_storage.base import DEFAULT_CHUNK_SIZE, ObjectInfo, ObjectStream, Storage
from darkroom_storage.errors import AccessDenied, NotFound, StorageError, StorageUnavailable
from darkroom_storage.external import ExternalFiles, ReadOnlyFile, is_external
from darkroom_storage.filesystem import FilesystemStorage
from darkroom_storage.keys import validate_key, validate_prefix
from darkroom_storage.settings import StorageSettings

if TYPE_CHECKING:
    from darkroom_storage.s3 import S3Storage

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "AccessDenied",
    "ExternalFiles",
    "FilesystemStorage",
    "NotFound",
    "ObjectInfo",
    "ObjectStream",
    "ReadOnlyFile",
    "S3Storage",
    "Storage",
    "StorageError",
    "StorageSettings",
    "StorageUnavailable",
    "is_external",
    "open_service_storage",
    "open_storage",
    "validate_key",
    "validate_prefix",
]


def __getattr__(name: str) -> Any:
    """``S3Storage`` on first use (PEP 562): the minio client it needs costs ~0.5 s of start-up
    that a service on the filesystem back end (the embedded default) never uses."""
    if name == "S3Storage":
        from darkroom_storage.s3 import S3Storage

        return S3Storage
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_storage(settings: StorageSettings) -> Storage:
    """Build the back end the settings ask for.

    Blocking: the S3 back end checks the bucket (creating it when missing) with one or two
    requests, so call this at start-up, not per request. The filesystem back end creates its
    root directory.

    Args:
        settings: Which back end, and its parameters.

    Returns:
        A :class:`FilesystemStorage` or an :class:`S3Storage`; close it when done.

    Raises:
        AccessDenied: S3 rejected the credentials (the message names the access key, the
            endpoint and the server's reason, e.g. ``SignatureDoesNotMatch``).
        StorageUnavailable: S3 could not be reached after retries.
        ValueError: Malformed ``s3_endpoint``.
    """
    if settings.backend == "filesystem":
        return FilesystemStorage(Path(settings.root))
    from darkroom_storage.s3 import S3Storage  # imported on first use: see __getattr__

    storage = S3Storage(settings)
    try:
        storage.ensure_bucket()
    except BaseException:
        storage._http.clear()
        raise
    return storage


def open_service_storage(settings: StorageSettings) -> ExternalFiles:
    """The storage a service uses: :func:`open_storage`'s back end inside :class:`ExternalFiles`,
    so that the originals of external libraries (absolute paths) are read in place, and never
    written, through the same interface by every service (the gateway and every pipeline
    service build their storage with this one function).

    Raises:
        As :func:`open_storage`.
    """
    return ExternalFiles(open_storage(settings))
