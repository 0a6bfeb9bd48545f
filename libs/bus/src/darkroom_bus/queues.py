"""Operating one durable consumer as a queue: its counts, pause, resume and empty.

Immich's queue commands (``PUT /api/jobs/{name}``, ``PUT /api/queues/{name}``,
``DELETE /api/queues/{name}/jobs``) act on the one durable consumer behind each queue
(``<durable>_<subject>``, :func:`darkroom_bus.handlers.consumer_name`). The stream is shared by
every consumer, so nothing here deletes messages from it: each operation changes only what the
one consumer will be delivered.

- **pause / resume**: JetStream's consumer pause (NATS 2.11+, ADR-42): a paused consumer
  delivers nothing to any replica until ``pause_until`` passes; the messages for it keep
  arriving, so its pending count (the queue's lag) grows, and resuming delivers them. The pause
  is part of the consumer's stored configuration, so it survives restarts of NATS and of the
  services (the runner keeps ``pause_until`` when it re-provisions:
  :meth:`darkroom_bus.runner.Consumer.provision`).
- **empty**: the consumer is deleted and created again, with the same configuration, to start
  at the message after the stream's last one (``deliver_policy=by_start_sequence``): what was
  waiting for it is skipped, the stream and the other consumers are untouched. Messages being
  handled at that moment finish (their ack then goes nowhere, which is harmless).
"""

from __future__ import annotations

import msgspec
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from darkroom_bus.bus import Bus

#: ``pause_until`` of a queue paused by an admin: "until resumed" (RFC 3339, far future).
PAUSED_FOREVER = "2999-12-31T00:00:00Z"


class ConsumerState(msgspec.Struct, frozen=True, kw_only=True):
    """One consumer's counts, as the jobs admin reads them.

    Attributes:
        exists: False when no service ever created the consumer (all counts 0).
        paused: Whether delivery is paused.
        waiting: Messages not yet delivered (``num_pending``).
        active: Delivered and not yet acknowledged (``num_ack_pending``).
        delayed: Redelivered messages (``num_redelivered``).
    """

    exists: bool
    paused: bool = False
    waiting: int = 0
    active: int = 0
    delayed: int = 0


async def state(bus: Bus, consumer: str) -> ConsumerState:
    """The counts of consumer ``consumer`` of the bus's stream."""
    try:
        info = await bus.js.consumer_info(bus.stream_name, consumer)
    except NotFoundError:
        return ConsumerState(exists=False)
    return ConsumerState(
        exists=True,
        paused=bool(info.paused),
        waiting=info.num_pending or 0,
        active=info.num_ack_pending or 0,
        delayed=info.num_redelivered or 0,
    )


async def pause(bus: Bus, consumer: str) -> None:
    """Stop delivering to ``consumer`` until :func:`resume` (kept across restarts).

    Raises:
        nats.js.errors.NotFoundError: The consumer does not exist.
    """
    await bus.js.pause_consumer(bus.stream_name, consumer, PAUSED_FOREVER)


async def resume(bus: Bus, consumer: str) -> None:
    """Deliver to ``consumer`` again; what waited meanwhile comes first, in stream order.

    Raises:
        nats.js.errors.NotFoundError: The consumer does not exist.
    """
    await bus.js.resume_consumer(bus.stream_name, consumer)


async def empty(bus: Bus, consumer: str) -> int:
    """Skip every message waiting for ``consumer`` (see the module docstring).

    Returns:
        How many were waiting.

    Raises:
        nats.js.errors.NotFoundError: The consumer does not exist.
    """
    info = await bus.js.consumer_info(bus.stream_name, consumer)
    waiting = info.num_pending or 0
    stream = await bus.js.stream_info(bus.stream_name)
    kept = info.config
    config = ConsumerConfig(
        name=kept.name,
        durable_name=kept.durable_name,
        description=kept.description,
        filter_subject=kept.filter_subject,
        filter_subjects=kept.filter_subjects,
        deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
        opt_start_seq=stream.state.last_seq + 1,
        ack_policy=kept.ack_policy,
        ack_wait=kept.ack_wait,
        max_deliver=kept.max_deliver,
        max_ack_pending=kept.max_ack_pending,
        pause_until=kept.pause_until if info.paused else None,
    )
    await bus.js.delete_consumer(bus.stream_name, consumer)
    await bus.js.add_consumer(bus.stream_name, config=config)
    return waiting
