"""Publishing the gateway's own state changes to the bus (the websocket of every replica reads
them: :mod:`darkroom_gateway.realtime`), through the transactional outbox
(:mod:`darkroom_runtime.outbox`, docs/outbox.md)."""

from __future__ import annotations

import structlog
from darkroom_events import Event

from darkroom_gateway.deps import Deps

log = structlog.get_logger()


async def announce(deps: Deps, event: Event) -> None:
    """Announce a change already committed: ``event`` is written to the outbox, then published.

    Where the change and its event can share one transaction, write it there instead
    (``async with deps.outbox.transaction() as tx: ...; await tx.add(event)``, as
    :func:`darkroom_gateway.domain.trash.purge_assets` does). Once the row is written the event
    is not lost: NATS down, it is published by the relay when NATS is back. A failure to write
    it (PostgreSQL down) is logged only: the change stands either way, live updates are a
    convenience, and a client that missed one catches up through ``/api/sync``.

    Args:
        deps: The gateway's connections (its outbox).
        event: What changed.
    """
    try:
        await deps.outbox.publish(event)
    except Exception as exc:  # noqa: BLE001 - never fail the request for a notification
        log.warning("event.publish_failed", subject=event.subject, error=f"{exc!r}")
