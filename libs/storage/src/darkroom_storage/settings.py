"""Settings of the storage library (one frozen Struct, built once by the service and passed in)."""

from __future__ import annotations

from typing import Literal

import msgspec

__all__ = ["MAX_PART_SIZE", "MIN_PART_SIZE", "StorageSettings"]

#: S3 multipart limits (AWS S3 user guide, "Amazon S3 multipart upload limits"): every part but
#: the last has at least 5 MiB, no part more than 5 GiB, at most 10,000 parts.
MIN_PART_SIZE = 5 * 1024 * 1024
MAX_PART_SIZE = 5 * 1024 * 1024 * 1024


class StorageSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Where objects live. Read from ``DARKROOM_STORAGE_*`` by ``darkroom_config.load_settings``.

    Attributes:
        backend: ``"filesystem"`` (embedded default) or ``"s3"``.
        root: Filesystem back end: directory holding the objects (created; relative paths are
            resolved against the working directory when the storage is opened).
        s3_endpoint: S3 back end: ``host:port``, or a URL ``http(s)://host:port`` whose scheme
            then decides TLS (overriding ``s3_secure``).
        s3_access_key: S3 access key id.
        s3_secret_key: S3 secret key (never shown by ``repr``).
        s3_bucket: The one bucket holding every object (created when missing).
        s3_region: Region used for signing (set, so presigning needs no network round trip).
        s3_secure: Use HTTPS when ``s3_endpoint`` has no scheme.
        s3_part_size: Bytes per multipart-upload part for streamed puts (5 MiB .. 5 GiB; also the
            most a streamed put holds in memory at once).
    """

    backend: Literal["filesystem", "s3"] = "filesystem"
    root: str = "./data/storage"
    s3_endpoint: str | None = None
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_bucket: str = "darkroom"
    s3_region: str = "us-east-1"
    s3_secure: bool = False
    s3_part_size: int = 8 * 1024 * 1024

    def __post_init__(self) -> None:
        if self.backend == "s3":
            missing = [
                name
                for name in ("s3_endpoint", "s3_access_key", "s3_secret_key")
                if not getattr(self, name)
            ]
            if missing:
                raise ValueError(f"the s3 storage back end needs {', '.join(missing)}")
        if not MIN_PART_SIZE <= self.s3_part_size <= MAX_PART_SIZE:
            raise ValueError(
                f"s3_part_size must be between {MIN_PART_SIZE} and {MAX_PART_SIZE} bytes"
            )

    def __repr__(self) -> str:
        secret = "'***'" if self.s3_secret_key else "None"
        return (
            f"StorageSettings(backend={self.backend!r}, root={self.root!r}, "
            f"s3_endpoint={self.s3_endpoint!r}, s3_access_key={self.s3_access_key!r}, "
            f"s3_secret_key={secret}, s3_bucket={self.s3_bucket!r}, "
            f"s3_region={self.s3_region!r}, s3_secure={self.s3_secure!r}, "
            f"s3_part_size={self.s3_part_size!r})"
        )
