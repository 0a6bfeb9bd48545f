"""What request handlers get injected: the process-wide connections, made once at start-up."""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass

import asyncpg
from darkroom_bus import Bus
from darkroom_runtime.live_config import LiveConfig
from darkroom_runtime.maintenance import MaintenanceFlag
from darkroom_runtime.outbox import Outbox
from darkroom_storage import Storage

from darkroom_gateway.places import Gazetteer
from darkroom_gateway.settings import GatewaySettings


@dataclass(frozen=True)
class Deps:
    """The gateway's connections: settings, database pool, bus and object storage, and the
    system config in force (``config.current``, reloaded live on ``darkroom.config.updated``)."""

    settings: GatewaySettings
    pool: asyncpg.Pool
    bus: Bus
    storage: Storage
    config: LiveConfig

    @functools.cached_property
    def outbox(self) -> Outbox:
        """Where the gateway's events go: written with their changes, published after the
        commit (:mod:`darkroom_runtime.outbox`)."""
        return Outbox(self.pool, self.bus)

    @functools.cached_property
    def places(self) -> Gazetteer:
        """The GeoNames places ``GET /api/search/places`` searches (:mod:`darkroom_gateway.places`),
        read from the packaged list on the first search, not at start-up."""
        return Gazetteer()

    @functools.cached_property
    def maintenance(self) -> MaintenanceFlag:
        """The maintenance-mode state every replica shares (NATS key-value, not the database a
        restore replaces: :mod:`darkroom_runtime.maintenance`)."""
        return MaintenanceFlag(self.bus)

    @functools.cached_property
    def background(self) -> set[asyncio.Task[None]]:
        """Tasks a request started and does not wait for (a restore), kept referenced until
        they end."""
        return set()
