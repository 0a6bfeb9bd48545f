"""Ingest settings (``DARKROOM_*``): the common service settings and the library scan's."""

from __future__ import annotations

from darkroom_runtime import ServiceSettings


class IngestSettings(ServiceSettings, frozen=True, kw_only=True):
    """Settings of the ingest service.

    Attributes:
        library_scan_batch: Paths per ``darkroom.library.scan.batch`` message
            (``DARKROOM_LIBRARY_SCAN_BATCH``, default 250: "a few hundred", small enough that a
            batch is checked well within a consumer's ack wait, large enough that a scan of
            100,000 files is 400 messages).
        library_watch_refresh_s: Seconds between two looks at the libraries and at
            ``library.watch.enabled`` by the file watcher (``DARKROOM_LIBRARY_WATCH_REFRESH_S``,
            default 2.0): how soon a new library or import path is watched.
    """

    library_scan_batch: int = 250
    library_watch_refresh_s: float = 2.0

    def __post_init__(self) -> None:
        if self.library_scan_batch < 1:
            raise ValueError("library_scan_batch must be >= 1")
        if self.library_watch_refresh_s <= 0:
            raise ValueError("library_watch_refresh_s must be > 0")
