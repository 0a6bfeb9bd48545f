"""Gateway settings (``DARKROOM_*``), built once at start-up by ``load_settings``."""

from __future__ import annotations

import msgspec
from darkroom_storage import StorageSettings


class GatewaySettings(msgspec.Struct, frozen=True, kw_only=True):
    """Settings of the gateway process.

    Attributes:
        host: Listen address (``DARKROOM_HOST``): loopback only by default; ``0.0.0.0`` serves
            the LAN (the container images set it, since their port is published instead).
        port: Listen port; 2283 as Immich (``DARKROOM_PORT``).
        nats_url: NATS server (``DARKROOM_NATS_URL``).
        database_url: PostgreSQL (``DARKROOM_DATABASE_URL``).
        storage: Object storage (``DARKROOM_STORAGE_*``).
        log_level: structlog level name.
        metrics_host: Address of the Prometheus ``/metrics`` and ``/healthz`` endpoint.
        metrics_port: Its port; 0 turns it off.
        rpc_timeout_s: How long to wait for ingest to answer an upload.
        upload_queue_chunks: Chunks buffered between the request body and storage (backpressure).
        web_dir: The built web app to serve at ``/``; the source tree's build when empty.
        map_tile_url: Raster tile URL template of the web app's map (``DARKROOM_MAP_TILE_URL``;
            ``{z}``/``{x}``/``{y}``, optionally ``{s}`` and ``{r}`` as Leaflet reads them). The
            browser fetches the tiles itself; OpenStreetMap's by default (mind their tile usage
            policy on a busy server, or point this at your own tile server). With no tile
            reachable the map still shows its markers on a blank background.
        map_attribution: HTML credit shown in the map's corner for those tiles
            (``DARKROOM_MAP_ATTRIBUTION``).
    """

    host: str = "127.0.0.1"
    port: int = 2283
    nats_url: str = "nats://127.0.0.1:4222"
    database_url: str = "postgresql://postgres@127.0.0.1:5432/darkroom"
    storage: StorageSettings = StorageSettings()
    log_level: str = "INFO"
    metrics_host: str = "0.0.0.0"
    metrics_port: int = 0
    rpc_timeout_s: float = 120.0
    upload_queue_chunks: int = 8
    web_dir: str = ""
    map_tile_url: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    map_attribution: str = (
        '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
    )
