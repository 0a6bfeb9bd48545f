"""Prometheus metrics for one service, served with a health check on a small asyncio server."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from types import TracebackType

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.exposition import choose_encoder

__all__ = ["HANDLER_SECONDS_BUCKETS", "Metrics", "MetricsServer", "serve_metrics"]

HANDLER_SECONDS_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
    300.0,
    600.0,
)
"""Handler latency buckets in seconds: prometheus_client's defaults (5 ms to 10 s) extended
to 10 minutes, for the video transcodes."""


class Metrics:
    """The metrics of one service, in a registry of its own (never prometheus_client's global).

    Series (``handler`` is the handler's name, ``consumer`` the JetStream durable's):
    ``jobs_done_total{handler}``, ``jobs_failed_total{handler}`` (counters),
    ``handler_seconds{handler}`` (histogram, seconds), ``consumer_pending{consumer}`` (gauge:
    messages not yet delivered to the consumer), ``service_info{service}``.

    Args:
        service: The service name, exported as ``service_info{service="..."} 1``.

    Attributes:
        registry: The registry holding every series above.
        jobs_done: Counter of jobs that succeeded, by handler.
        jobs_failed: Counter of jobs that failed (to be retried or not), by handler.
        handler_seconds: Histogram of handler run times in seconds, by handler.
        consumer_pending: Gauge of pending messages, by consumer.
        refresh_timeout_s: Seconds the hooks added by :meth:`on_scrape` get, together, before
            a scrape is answered with the values they set last.
    """

    refresh_timeout_s: float = 5.0

    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry()
        self.jobs_done = Counter(
            "jobs_done", "Jobs handled successfully.", ["handler"], registry=self.registry
        )
        self.jobs_failed = Counter(
            "jobs_failed", "Jobs whose handler failed.", ["handler"], registry=self.registry
        )
        self.handler_seconds = Histogram(
            "handler_seconds",
            "Time a handler took, in seconds.",
            ["handler"],
            buckets=HANDLER_SECONDS_BUCKETS,
            registry=self.registry,
        )
        self.consumer_pending = Gauge(
            "consumer_pending",
            "Messages of the stream not yet delivered to the consumer.",
            ["consumer"],
            registry=self.registry,
        )
        Info("service", "The service exporting these metrics.", registry=self.registry).info(
            {"service": service}
        )
        self._refreshers: list[Callable[[], Awaitable[None]]] = []

    def on_scrape(self, refresh: Callable[[], Awaitable[None]]) -> None:
        """Run ``refresh`` (an async function setting gauges) before each scrape is answered.

        For values read from elsewhere at scrape time (JetStream consumer info). A refresh that
        raises or outlasts :attr:`refresh_timeout_s` is logged; the scrape is answered anyway.
        """
        self._refreshers.append(refresh)

    async def refresh(self) -> None:
        """Run every :meth:`on_scrape` hook (the metrics server does before ``/metrics``)."""
        if not self._refreshers:
            return
        try:
            async with asyncio.timeout(self.refresh_timeout_s):
                results = await asyncio.gather(
                    *(r() for r in self._refreshers), return_exceptions=True
                )
        except TimeoutError:
            structlog.get_logger().warning("metrics.refresh_timeout", service=self.service)
            return
        for result in results:
            if isinstance(result, Exception):
                structlog.get_logger().warning(
                    "metrics.refresh_failed", service=self.service, error=repr(result)
                )

    def observe(self, handler: str, seconds: float, ok: bool) -> None:
        """Record one finished job attempt (the hook the bus calls for every message).

        Args:
            handler: The handler's name.
            seconds: How long the attempt took.
            ok: Whether it succeeded.
        """
        (self.jobs_done if ok else self.jobs_failed).labels(handler).inc()
        self.handler_seconds.labels(handler).observe(seconds)

    @contextmanager
    def job(self, handler: str) -> Iterator[None]:
        """Time one job of a handler and count it as done, or failed if it raises.

        Works around ``await`` too: ``with metrics.job("generate_thumbnails"): await ...``.

        Args:
            handler: The handler's name (a label value: keep the set small and fixed).
        """
        start = time.perf_counter()
        try:
            yield
        except BaseException:
            self.jobs_failed.labels(handler).inc()
            raise
        else:
            self.jobs_done.labels(handler).inc()
        finally:
            self.handler_seconds.labels(handler).observe(time.perf_counter() - start)

    def exposition(self, accept: str = "") -> tuple[bytes, str]:
        """The registry in a Prometheus exposition format.

        Args:
            accept: The scraper's ``Accept`` header; OpenMetrics when it asks for it, else the
                Prometheus text format 0.0.4.

        Returns:
            (body, content type).
        """
        encoder, content_type = choose_encoder(accept)
        return encoder(self.registry), content_type


_REQUEST_TIMEOUT_S = 10.0
_MAX_HEADER_BYTES = 16 * 1024


class MetricsServer:
    """A running metrics server (from :func:`serve_metrics`).

    Attributes:
        host: The address it listens on.
        port: The port it listens on (the one the OS chose when asked for port 0).
        url: ``http://host:port``.
    """

    def __init__(self, server: asyncio.Server, host: str, port: int) -> None:
        self._server = server
        self.host = host
        self.port = port
        self.url = f"http://{host}:{port}" if ":" not in host else f"http://[{host}]:{port}"

    def close(self) -> None:
        """Stop accepting connections (see :meth:`stop` to also wait for them to end)."""
        self._server.close()

    async def stop(self) -> None:
        """Stop accepting connections and wait until the server is closed."""
        self._server.close()
        await self._server.wait_closed()

    async def __aenter__(self) -> MetricsServer:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()


async def serve_metrics(metrics: Metrics, host: str, port: int) -> MetricsServer:
    """Serve ``GET /metrics`` (Prometheus exposition) and ``GET /healthz`` (``ok``).

    A minimal HTTP/1.1 server on the running event loop, one request per connection; ``HEAD``
    is answered like ``GET`` without a body, other methods with 405, other paths with 404.

    Args:
        metrics: The service's metrics.
        host: Address to listen on, e.g. ``"0.0.0.0"`` or ``"127.0.0.1"``.
        port: TCP port; 0 lets the OS pick a free one (read it from ``.port``).

    Returns:
        The running :class:`MetricsServer`; ``await server.stop()`` (or ``server.close()``)
        to end it.

    Raises:
        OSError: The address cannot be bound (port in use...).
    """

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(_REQUEST_TIMEOUT_S):
                request = await reader.readuntil(b"\r\n\r\n")
            await _respond(metrics, request, writer)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass  # a client that went away, or sent too much or too slowly: nothing to answer
        except ConnectionError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    server = await asyncio.start_server(handle, host, port, limit=_MAX_HEADER_BYTES)
    bound_host, bound_port = server.sockets[0].getsockname()[:2]
    structlog.get_logger().info("metrics.serving", host=bound_host, port=bound_port)
    return MetricsServer(server, bound_host, bound_port)


async def _respond(metrics: Metrics, request: bytes, writer: asyncio.StreamWriter) -> None:
    request_line, *header_lines = request.decode("latin-1").split("\r\n")
    parts = request_line.split(" ")
    method, target = (parts[0], parts[1]) if len(parts) == 3 else ("", "")
    path = target.split("?", 1)[0]
    headers = dict(
        (name.strip().lower(), value.strip())
        for name, sep, value in (line.partition(":") for line in header_lines)
        if sep
    )
    content_type = "text/plain; charset=utf-8"
    if not method:
        status, body = "400 Bad Request", b"bad request\n"
    elif method not in ("GET", "HEAD"):
        status, body = "405 Method Not Allowed", b"method not allowed\n"
    elif path == "/metrics":
        status = "200 OK"
        await metrics.refresh()
        body, content_type = metrics.exposition(headers.get("accept", ""))
    elif path == "/healthz":
        status, body = "200 OK", b"ok"
    else:
        status, body = "404 Not Found", b"not found\n"
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n"
    )
    if status.startswith("405"):
        head += "Allow: GET, HEAD\r\n"
    writer.write(head.encode("latin-1") + b"\r\n" + (b"" if method == "HEAD" else body))
    await writer.drain()
