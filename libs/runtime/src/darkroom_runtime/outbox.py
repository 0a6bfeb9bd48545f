"""The transactional outbox: an event is committed with the change it tells of (docs/outbox.md).

Every step that changes PostgreSQL and then announces it goes through :class:`Outbox`::

    async with ctx.outbox.transaction() as tx:          # one connection, one transaction
        await assets.mark_step_done(tx.conn, asset_id, "thumbnail")
        await tx.add(AssetThumbnailGenerated(...))       # an outbox row, same transaction
    # committed: the rows are published at once (the fast path) and marked published

A fact committed elsewhere (a repository function that runs its own transaction) is announced
with ``await outbox.publish(event)``: the row is written and committed at once, then published
the same way; only a crash between the two commits can lose it.

The fast path publishes each row with its message id (``Nats-Msg-Id``) and marks it published
after JetStream's ack. What it could not publish (NATS down, the process killed after the
commit) stays unpublished; :meth:`Outbox.run_relay`, run by every process, publishes rows older
than :data:`RELAY_GRACE_S` (claimed ``FOR UPDATE SKIP LOCKED``, so two relays never publish one
row at the same time; a row published twice anyway, e.g. after a crash between the ack and the
mark, is dropped by JetStream's de-duplication within its window, and handlers are idempotent
past it). Published rows are pruned after :data:`RETENTION_S`.

The pattern is Chris Richardson's "Transactional outbox" (microservices.io/patterns/data/
transactional-outbox.html) with the "polling publisher" as the relay.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

import asyncpg
import structlog
from darkroom_bus import Bus, Envelope
from darkroom_db import outbox as outbox_db
from darkroom_events.catalogue import Event
from darkroom_events.public import public_twin

log = structlog.get_logger()

#: Seconds a row must have waited before the relay takes it: the writer's own fast path
#: publishes it within milliseconds, so the relay only picks up what a crash or an outage left.
RELAY_GRACE_S = 5.0
#: Seconds between two relay passes of one process when there is nothing to do (one indexed
#: query on a partial index of the unpublished rows: cheap when idle).
RELAY_INTERVAL_S = 2.0
#: Rows one relay pass claims at most (its transaction holds their locks while it publishes).
RELAY_BATCH = 100
#: Seconds a published row is kept before it is pruned (to look at what went out lately).
RETENTION_S = 300.0
#: Seconds the fast path waits for each of JetStream's acks (the relay retries what timed out).
PUBLISH_TIMEOUT_S = 5.0
#: Exit status of a process killed by the test-only fault (:class:`CommitFault`).
FAULT_EXIT_CODE = 86


class CommitFault:
    """Test-only fault: kill the process right after its ``after``-th outbox commit, before
    the publish (``DARKROOM_FAULT_AFTER_COMMIT``; issue #15 "Fault injection").

    The process ends with :func:`os._exit` (no clean-up, no ack of the message being handled,
    as a ``kill -9``); the embedded stack's supervisor starts it again, whose count starts over.

    Args:
        after: Commits that carry events before the kill (>= 1).
    """

    def __init__(self, after: int) -> None:
        if after < 1:
            raise ValueError(f"the fault needs a count >= 1, got {after}")
        self.after = after
        self.commits = 0

    @classmethod
    def parse(cls, spec: str, service: str) -> CommitFault | None:
        """The fault ``spec`` sets for ``service``, or None.

        Args:
            spec: ``DARKROOM_FAULT_AFTER_COMMIT``: comma-separated ``<service>:<count>``
                (``*`` for every service), e.g. ``thumbnail:20`` or ``*:50``; empty: none.
            service: This process's service name.

        Returns:
            The fault for this service, or None when it has none.

        Raises:
            ValueError: ``spec`` is malformed.
        """
        found: CommitFault | None = None
        for part in filter(None, (p.strip() for p in spec.split(","))):
            name, sep, count = part.partition(":")
            if not sep or not name or not count.isdigit():
                raise ValueError(f"DARKROOM_FAULT_AFTER_COMMIT: {part!r} is not <service>:<count>")
            if name in (service, "*"):
                found = cls(int(count))
        return found

    def committed(self) -> None:
        """Count one commit with events; at the ``after``-th, end the process at once."""
        self.commits += 1
        if self.commits < self.after:
            return
        log.warning("fault.killed_after_commit", commits=self.commits)
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(FAULT_EXIT_CODE)


@dataclass
class OutboxTransaction:
    """One open transaction of :meth:`Outbox.transaction`.

    Attributes:
        conn: The connection, inside the transaction: make the state change on it.
        rows: The events added so far, as stored.
    """

    conn: asyncpg.Connection
    bus: Bus
    rows: list[outbox_db.OutboxRow] = field(default_factory=list)

    async def add(
        self,
        event: Event,
        *,
        msg_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        subject: str | None = None,
    ) -> None:
        """Write ``event`` to the outbox in this transaction; it is published after the commit.

        When the event has a public twin (:func:`darkroom_events.public.public_twin`: the
        integrations' ``darkroom.public.>`` events), the twin is written too, in the same
        transaction, so it exists exactly when the change does.

        Args:
            event: What the change is.
            msg_id: Overrides the de-duplication id ``<subject>:<dedupe key>``.
            headers: Extra headers (the current trace context is added).
            subject: Publish the payload on this subject instead of the event's own: a
                consumer's re-run subject (docs/events.md "Re-runs"; give a ``msg_id`` with
                a run id).
        """
        envelope = self.bus.envelope(event, msg_id=msg_id, headers=headers, subject=subject)
        envelopes = [envelope]
        twin = public_twin(event) if subject is None else None  # a re-run is not news
        if twin is not None:
            public, public_id = twin
            if msg_id is not None:  # the caller's own de-duplication applies to the twin too
                public_id = f"{public.subject}:{msg_id}"
            envelopes.append(self.bus.envelope(public, msg_id=public_id, headers=headers))
        for env in envelopes:
            self.rows.append(
                await outbox_db.insert(
                    self.conn,
                    subject=env.subject,
                    msg_id=env.msg_id,
                    payload=env.payload,
                    headers=env.headers,
                )
            )


class Outbox:
    """Events committed with their changes, published after the commit or by the relay.

    Args:
        pool: The process's database pool.
        bus: Its bus (publishing; the namespace is applied there).
        fault: The test-only fault (:class:`CommitFault`), or None.
    """

    def __init__(self, pool: asyncpg.Pool, bus: Bus, *, fault: CommitFault | None = None) -> None:
        self.pool = pool
        self.bus = bus
        self.fault = fault

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[OutboxTransaction]:
        """A connection in a transaction whose events (:meth:`OutboxTransaction.add`) are
        committed with it and published right after the commit.

        Yields:
            The open transaction.

        Raises:
            Whatever the body raises (the transaction and its events are rolled back).
            asyncpg.ConnectionDoesNotExistError: PostgreSQL ended the connection (a server
                shutting down) while the transaction was open or committing: asyncpg says
                ``InterfaceError`` ("the underlying connection is closed"), which is raised as
                this connection error so every caller's outage handling applies.
        """
        async with self.pool.acquire() as conn:
            tx = OutboxTransaction(conn=conn, bus=self.bus)
            try:
                async with conn.transaction():
                    yield tx
            except asyncpg.InterfaceError as exc:
                # asyncpg's wording for a connection the server ended (the pooled proxy is
                # already released then, so the connection cannot be asked)
                if "connection is closed" not in str(exc):
                    raise
                raise asyncpg.ConnectionDoesNotExistError(str(exc)) from exc
        if tx.rows:
            if self.fault is not None:
                self.fault.committed()
            await self.send(tx.rows)

    async def publish(self, event: Event, *, msg_id: str | None = None) -> None:
        """Announce a change already committed by other code: write the row, then publish it.

        Args:
            event: What changed.
            msg_id: Overrides the de-duplication id.

        Raises:
            asyncpg / connection errors: the row could not be written (nothing was published).
        """
        async with self.transaction() as tx:
            await tx.add(event, msg_id=msg_id)

    async def send(self, stored: list[outbox_db.OutboxRow]) -> int:
        """The fast path: publish committed rows now, mark those JetStream acknowledged.

        Never raises for NATS or PostgreSQL being down: what is not published (or not marked)
        stays for the relay, which publishes it again under the same message id.

        Args:
            stored: Committed rows, in order.

        Returns:
            How many were published.
        """
        published = await self._publish_rows(stored)
        if published:
            try:
                await outbox_db.mark_published(self.pool, published)
            except Exception as exc:  # noqa: BLE001 - the relay re-publishes (de-duplicated)
                log.warning("outbox.mark_failed", rows=len(published), error=_describe(exc))
        return len(published)

    async def _publish_rows(self, stored: list[outbox_db.OutboxRow]) -> list[int]:
        """Publish rows in order until one fails; the ids of those acknowledged."""
        published: list[int] = []
        if not self.bus.nc.is_connected:  # reconnecting: the relay publishes them later
            log.info("outbox.publish_deferred", rows=len(stored), reason="NATS not connected")
            return published
        for row in stored:
            envelope = Envelope(
                subject=row.subject, msg_id=row.msg_id, payload=row.payload, headers=row.headers
            )
            try:
                await self.bus.publish_envelope(envelope, timeout=PUBLISH_TIMEOUT_S)
            except Exception as exc:  # noqa: BLE001 - left for the relay
                log.warning(
                    "outbox.publish_deferred",
                    subject=row.subject,
                    msg_id=row.msg_id,
                    rows=len(stored) - len(published),
                    error=_describe(exc),
                )
                break
            published.append(row.id)
        return published

    async def relay_once(self, *, grace_s: float = RELAY_GRACE_S, limit: int = RELAY_BATCH) -> int:
        """Publish up to ``limit`` rows left unpublished for more than ``grace_s`` seconds.

        The rows are claimed (locked, ``SKIP LOCKED``) in one transaction that also marks the
        acknowledged ones published, so two relays never publish one row at the same time and
        a row is marked only after its ack. A publish that fails ends the pass; the rest stay.

        Args:
            grace_s: Minimum age of a row, in seconds.
            limit: Most rows in this pass.

        Returns:
            How many rows were published.

        Raises:
            asyncpg / connection errors: PostgreSQL is down (nothing is marked).
        """
        if not self.bus.nc.is_connected:
            return 0
        async with self.pool.acquire() as conn, conn.transaction():
            claimed = await outbox_db.claim(conn, older_than_s=grace_s, limit=limit)
            if not claimed:
                return 0
            published = await self._publish_rows(claimed)
            await outbox_db.mark_published(conn, published)
        log.info("outbox.relayed", rows=len(published), claimed=len(claimed))
        return len(published)

    async def run_relay(
        self,
        stop: asyncio.Event | None = None,
        *,
        interval_s: float = RELAY_INTERVAL_S,
        grace_s: float = RELAY_GRACE_S,
        retention_s: float = RETENTION_S,
    ) -> None:
        """Relay until ``stop`` is set or the task is cancelled; outages are waited out.

        Args:
            stop: Set it to stop; None to run until cancelled.
            interval_s: Seconds between passes when nothing is waiting.
            grace_s: Minimum age of a row the relay publishes, in seconds.
            retention_s: Seconds published rows are kept before they are pruned.
        """
        stop = stop if stop is not None else asyncio.Event()
        while not stop.is_set():
            busy = False
            try:
                busy = await self.relay_once(grace_s=grace_s) >= RELAY_BATCH
                await outbox_db.prune(self.pool, older_than_s=retention_s)
            except Exception as exc:  # noqa: BLE001 - a server is down: try again next pass
                log.warning("outbox.relay_failed", error=_describe(exc))
            if busy:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval_s)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
