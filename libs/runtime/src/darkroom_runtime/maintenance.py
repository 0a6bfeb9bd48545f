"""Maintenance mode: one flag every gateway replica agrees on, kept where a restore cannot erase
it.

The state lives in a NATS JetStream key-value bucket (``darkroom_maintenance``, suffixed with the
bus namespace), not in PostgreSQL: a database restore drops and recreates every table, and the
flag must hold while it does. Each process reads it through a :class:`MaintenanceFlag`, which
caches the value for :data:`CACHE_S` seconds, so every request does not cost a round trip and
every replica sees a change within that time. When NATS cannot be reached the last known value
is kept, without waiting while the connection is down (a NATS outage neither puts the API in
maintenance mode nor slows it).

The state mirrors Immich's ``MaintenanceStatusResponseDto`` (``active``, ``action``, ``task``,
``progress``, ``error``) plus the secret of the maintenance login (Immich's maintenance JWT
secret, kept in its system metadata).
"""

from __future__ import annotations

import asyncio
import secrets
import time

import msgspec
import structlog
from darkroom_bus import Bus
from nats.errors import Error as NatsError
from nats.js.errors import BucketNotFoundError, KeyNotFoundError

log = structlog.get_logger()

#: Seconds a process trusts the flag it read last (every replica agrees within this time).
CACHE_S = 1.0
#: Seconds one read of the bucket may take before the last known value is used.
READ_TIMEOUT_S = 1.0
#: Bucket and key of the state.
BUCKET = "darkroom_maintenance"
KEY = "state"


class MaintenanceState(msgspec.Struct, frozen=True, kw_only=True):
    """The maintenance state (Immich's MaintenanceStatusResponseDto and its login secret).

    Attributes:
        active: Whether the server is in maintenance mode.
        action: Immich's MaintenanceAction: ``start``, ``end``, ``restore_database``...
        task: What runs now (``restore``: restoring a backup), "" when nothing does.
        progress: Percent of ``task`` done (0-100).
        error: Why the last action failed, "" when it did not.
        secret: Token of ``POST /api/admin/maintenance/login`` (random, 256 bits); never
            answered to anyone but the admin who started maintenance.
        started_at: Unix time maintenance began (0 when off).
    """

    active: bool = False
    action: str = "end"
    task: str = ""
    progress: int = 0
    error: str = ""
    secret: str = ""
    started_at: float = 0.0


OFF = MaintenanceState()


def new_secret() -> str:
    """A fresh maintenance login token (43 URL-safe characters, 256 bits)."""
    return secrets.token_urlsafe(32)


class MaintenanceFlag:
    """The maintenance state as one process sees it (cached :data:`CACHE_S` seconds).

    Args:
        bus: The process's NATS connection (its namespace suffixes the bucket name).
    """

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self._state = OFF
        self._read_at = -CACHE_S
        self._lock = asyncio.Lock()

    @property
    def bucket(self) -> str:
        """The key-value bucket's name."""
        return f"{BUCKET}_{self.bus.namespace}" if self.bus.namespace else BUCKET

    async def _kv(self, *, create: bool):  # type: ignore[no-untyped-def]
        try:
            return await self.bus.js.key_value(self.bucket)
        except BucketNotFoundError:
            if not create:
                return None
            return await self.bus.js.create_key_value(bucket=self.bucket, history=1)

    async def get(self, *, fresh: bool = False) -> MaintenanceState:
        """The state: cached unless older than :data:`CACHE_S` or ``fresh``.

        Args:
            fresh: Read the bucket now (an action about to change the state).

        Returns:
            The state; the last known one (off at first) when NATS does not answer in time.
        """
        if not fresh and time.monotonic() - self._read_at < CACHE_S:
            return self._state
        if not self.bus.nc.is_connected:  # NATS down: the last known state, without waiting
            return self._state
        async with self._lock:
            if not fresh and time.monotonic() - self._read_at < CACHE_S:
                return self._state
            try:
                self._state = await asyncio.wait_for(self._read(), READ_TIMEOUT_S)
            except (TimeoutError, NatsError, OSError) as exc:
                log.warning("maintenance.read_failed", error=f"{type(exc).__name__}: {exc}")
            self._read_at = time.monotonic()
            return self._state

    async def _read(self) -> MaintenanceState:
        kv = await self._kv(create=False)
        if kv is None:
            return OFF
        try:
            entry = await kv.get(KEY)
        except KeyNotFoundError:
            return OFF
        if not entry.value:
            return OFF
        return msgspec.json.decode(entry.value, type=MaintenanceState)

    async def set(self, state: MaintenanceState) -> None:
        """Store ``state`` for every replica (this one sees it at once).

        Raises:
            nats.errors.Error: NATS did not take it.
        """
        kv = await self._kv(create=True)
        await kv.put(KEY, msgspec.json.encode(state))
        self._state = state
        self._read_at = time.monotonic()
        log.info(
            "maintenance.state",
            active=state.active,
            action=state.action,
            task=state.task,
            progress=state.progress,
            error=state.error or None,
        )

    async def update(self, **changes: object) -> MaintenanceState:
        """Store the current state with ``changes`` (``task``, ``progress``, ``error``...)."""
        state = msgspec.structs.replace(await self.get(fresh=True), **changes)
        await self.set(state)
        return state
