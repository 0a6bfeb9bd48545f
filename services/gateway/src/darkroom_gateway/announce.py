"""Publishing the gateway's own state changes to the bus (the websocket of every replica reads
them: :mod:`darkroom_gateway.realtime`)."""

from __future__ import annotations

import structlog
from darkroom_events import Event

from darkroom_gateway.deps import Deps

log = structlog.get_logger()


async def announce(deps: Deps, event: Event) -> None:
    """Publish ``event`` after the change it tells of is committed; a failure is logged only.

    The change stands either way: live updates are a convenience, and a client that missed
    one catches up through ``/api/sync``.

    Args:
        deps: The gateway's connections (its bus).
        event: What changed.
    """
    try:
        await deps.bus.publish(event)
    except Exception as exc:  # noqa: BLE001 - never fail the request for a notification
        log.warning("event.publish_failed", subject=event.subject, error=f"{exc!r}")
