"""Metadata service settings (``DARKROOM_*``)."""

from __future__ import annotations

from darkroom_runtime import ServiceSettings


class MetadataSettings(ServiceSettings, frozen=True, kw_only=True):
    """Settings of the metadata service.

    Attributes:
        reverse_geocoding: Fill city/state/country from GPS with the offline GeoNames data
            (``DARKROOM_REVERSE_GEOCODING``; Immich's "reverse geocoding" setting, on by default).
        scratch_dir: Where originals are downloaded for reading; the system temp dir when empty.
        auto_stack: Stack RAW+JPEG pairs (same base name and capture time) and bursts (Apple
            burst id, Google/Samsung burst file names) of one owner as they are ingested
            (``DARKROOM_AUTO_STACK``, off by default; Immich has no such setting, so it is not
            part of the system config). See :mod:`darkroom_metadata.stacking`.
        exiftool: The ExifTool to run (``DARKROOM_EXIFTOOL``); empty: the npm
            ``exiftool-vendored.pl`` that ``make run-deps`` installs, else ``exiftool`` on PATH.
        exiftool_timeout_s: Longest wait for ExifTool's answer on one file, seconds
            (``DARKROOM_EXIFTOOL_TIMEOUT_S``); past it ExifTool is killed and restarted and the
            job is retried.
    """

    reverse_geocoding: bool = True
    scratch_dir: str = ""
    auto_stack: bool = False
    exiftool: str = ""
    exiftool_timeout_s: float = 60.0
