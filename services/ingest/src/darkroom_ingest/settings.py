"""Ingest settings (``DARKROOM_*``): the common service settings."""

from __future__ import annotations

from darkroom_runtime import ServiceSettings


class IngestSettings(ServiceSettings, frozen=True, kw_only=True):
    """Settings of the ingest service (nothing of its own yet)."""
