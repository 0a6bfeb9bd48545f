"""What request handlers get injected: the process-wide connections, made once at start-up."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
from darkroom_bus import Bus
from darkroom_storage import Storage

from darkroom_gateway.settings import GatewaySettings


@dataclass(frozen=True)
class Deps:
    """The gateway's connections: settings, database pool, bus and object storage."""

    settings: GatewaySettings
    pool: asyncpg.Pool
    bus: Bus
    storage: Storage
