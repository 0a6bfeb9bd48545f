"""The system config in force, kept current in every process without a restart.

A process loads the config from PostgreSQL at start (:mod:`darkroom_db.system_config`: the
defaults, the admin's stored overrides, a ``DARKROOM_CONFIG_FILE``) and reloads it whenever
``darkroom.config.updated`` arrives. The event is received through :meth:`darkroom_bus.Bus.watch`
(an ephemeral ordered consumer of this connection, not a durable consumer shared by a service's
replicas), so EVERY replica of every service sees it and reloads. The event only says that
something changed; the values are always read from the database, so a replica that reloads late
still gets the latest save, and no value (secrets included) travels on the bus.

Handlers read ``ctx.config.current`` at the start of each job, so the next job after a save uses
the new values.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg
import structlog
from darkroom_bus import Bus
from darkroom_db import system_config
from darkroom_db.system_config import ConfigSource, SystemConfigDto
from darkroom_events import ConfigUpdated, Event

log = structlog.get_logger()

Listener = Callable[[SystemConfigDto], Awaitable[None]]


class LiveConfig:
    """The current system config of one process.

    Args:
        pool: Database pool the config is loaded from.
        source: The process's environment defaults and config file
            (:meth:`ConfigSource.from_environ`, read once at start-up).
    """

    def __init__(self, pool: asyncpg.Pool, source: ConfigSource) -> None:
        self.pool = pool
        self.source = source
        self._current: SystemConfigDto | None = None
        self._listeners: list[Listener] = []
        self._lock = asyncio.Lock()
        #: Times the config was (re)loaded: tests wait on it.
        self.loads = 0

    @property
    def current(self) -> SystemConfigDto:
        """The config in force; the defaults until :meth:`start` has loaded the stored one."""
        if self._current is None:
            return system_config.defaults(self.source)
        return self._current

    def on_change(self, listener: Listener) -> None:
        """Call ``listener(config)`` after every reload (a service re-sizes a pool, say)."""
        self._listeners.append(listener)

    async def reload(self) -> SystemConfigDto:
        """Read the config from the database now (one reload at a time) and tell listeners.

        Returns:
            The config now in force.
        """
        async with self._lock:
            self._current = await system_config.load(self.pool, self.source)
            self.loads += 1
            current = self._current
        for listener in self._listeners:
            await listener(current)
        return current

    async def start(self, bus: Bus) -> None:
        """Watch ``darkroom.config.updated`` on ``bus`` (its stream must exist:
        :meth:`Bus.ensure_stream`), then load the config.

        Watching first means a save made while the first load runs is not missed.
        """

        async def on_event(event: Event) -> None:
            sections = event.sections if isinstance(event, ConfigUpdated) else []
            await self.reload()
            log.info("config.reloaded", sections=sections)

        await bus.watch([ConfigUpdated], on_event)
        await self.reload()
