"""Queue-lag metrics for autoscaling: each durable consumer's backlog, read at scrape time.

On every scrape of ``/metrics`` the service asks JetStream for the info of each of its durable
consumers (``$JS.API.CONSUMER.INFO``) and exports:

- ``darkroom_consumer_pending{stream,consumer}``: messages not yet delivered to any replica
  (``num_pending``), the lag KEDA's NATS JetStream scaler compares with ``lagThreshold``;
- ``darkroom_consumer_ack_pending{stream,consumer}``: delivered, not yet acknowledged
  (``num_ack_pending``: the work in flight, at most ``max_ack_pending``);
- ``darkroom_consumer_redelivered{stream,consumer}``: redelivered, not yet acknowledged.

Every replica of a service reports the same numbers (they are the consumer's, which the
replicas share): an autoscaler takes one of them (``max by (consumer)``), never their sum.
The values are the server's own at the moment of the scrape; when NATS cannot be asked, the
scrape is answered with the values of the last one that could (a warning is logged).
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog
from darkroom_bus import Bus
from darkroom_observability import Metrics
from prometheus_client import Gauge

log = structlog.get_logger()

#: Seconds one consumer-info request may take during a scrape.
INFO_TIMEOUT_S = 2.0


class Backlog:
    """The backlog gauges of one service's durable consumers.

    Args:
        metrics: The service's metrics (the gauges go in its registry).
        bus: The connected bus (its stream is the ``stream`` label).
        consumers: Durable consumer names (``<durable>_<subject>``,
            :attr:`darkroom_bus.handlers.HandlerSpec.consumer_name`).

    Attributes:
        pending: ``darkroom_consumer_pending`` gauge.
        ack_pending: ``darkroom_consumer_ack_pending`` gauge.
        redelivered: ``darkroom_consumer_redelivered`` gauge.
    """

    def __init__(self, metrics: Metrics, bus: Bus, consumers: Sequence[str]) -> None:
        self._metrics = metrics
        self._bus = bus
        self.consumers = tuple(consumers)
        labels = ["stream", "consumer"]
        self.pending = Gauge(
            "darkroom_consumer_pending",
            "Messages not yet delivered to the durable consumer (JetStream num_pending).",
            labels,
            registry=metrics.registry,
        )
        self.ack_pending = Gauge(
            "darkroom_consumer_ack_pending",
            "Messages delivered and not yet acknowledged (JetStream num_ack_pending).",
            labels,
            registry=metrics.registry,
        )
        self.redelivered = Gauge(
            "darkroom_consumer_redelivered",
            "Messages redelivered and not yet acknowledged (JetStream num_redelivered).",
            labels,
            registry=metrics.registry,
        )

    async def refresh(self) -> None:
        """Read every consumer's info from JetStream and set the gauges.

        A consumer that cannot be read (NATS down, consumer not yet created) keeps its last
        values; the others are still set.
        """
        stream = self._bus.stream_name
        for consumer in self.consumers:
            try:
                info = await self._bus.js.consumer_info(stream, consumer, timeout=INFO_TIMEOUT_S)
            except Exception as exc:  # noqa: BLE001 - any NATS error: keep the last values
                log.warning(
                    "backlog.read_failed", consumer=consumer, error=f"{type(exc).__name__}: {exc}"
                )
                continue
            pending = info.num_pending or 0
            self.pending.labels(stream, consumer).set(pending)
            self.ack_pending.labels(stream, consumer).set(info.num_ack_pending or 0)
            self.redelivered.labels(stream, consumer).set(info.num_redelivered or 0)
            self._metrics.consumer_pending.labels(consumer).set(pending)


def export_backlog(metrics: Metrics, bus: Bus, consumers: Sequence[str]) -> Backlog:
    """Export the backlog of ``consumers`` in ``metrics``, refreshed on every scrape.

    Returns:
        The :class:`Backlog` (its gauges, and ``refresh`` to call it directly).
    """
    backlog = Backlog(metrics, bus, consumers)
    metrics.on_scrape(backlog.refresh)
    return backlog
