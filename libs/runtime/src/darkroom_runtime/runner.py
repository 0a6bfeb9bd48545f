"""Run a pipeline service: settings -> logging/tracing -> connections -> consume until stopped."""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import structlog
from darkroom_bus import SERVER_DOWN_ERRORS, Bus, DeadLetter, HandlerSpec, handler_spec
from darkroom_config import load_settings
from darkroom_db import CONNECTION_ERRORS as DATABASE_DOWN_ERRORS
from darkroom_db import assets, create_pool, jobs, notifications, system_config
from darkroom_db.system_config import ConfigSource
from darkroom_events import NotificationCreated
from darkroom_observability import Metrics, configure_logging, configure_tracing, serve_metrics
from darkroom_storage import StorageUnavailable, open_service_storage

from darkroom_runtime.backlog import export_backlog
from darkroom_runtime.components import report_component_versions
from darkroom_runtime.context import Context
from darkroom_runtime.live_config import LiveConfig
from darkroom_runtime.outbox import CommitFault
from darkroom_runtime.settings import ServiceSettings

log = structlog.get_logger()
S = TypeVar("S", bound=ServiceSettings)


def dead_letter_recorder(ctx: Context) -> Callable[[DeadLetter], Awaitable[None]]:
    """A bus dead-letter hook that writes ``job_failures``, marks the asset failed and tells the
    admins (a JobFailed notification, debounced per service: :func:`notify_admins`)."""

    async def record(letter: DeadLetter) -> None:
        asset_id = None
        if letter.asset_id:
            try:
                asset_id = uuid.UUID(letter.asset_id)
            except ValueError:
                asset_id = None
        await jobs.record_failure(
            ctx.pool,
            subject=letter.subject,
            durable=ctx.service,
            stream_seq=letter.stream_seq,
            deliveries=letter.deliveries,
            error=letter.error,
            permanent=letter.permanent,
            payload=letter.payload,
            asset_id=asset_id,
        )
        await notify_admins(ctx, letter)

    return record


async def notify_admins(ctx: Context, letter: DeadLetter) -> None:
    """A JobFailed in-app notification for the admins (:func:`darkroom_db.notifications.
    job_failed`), published as ``darkroom.notification.created`` for their sockets. Immich
    notifies its admin of failed jobs the same way; a notification that cannot be made is only
    logged (the failure itself is recorded)."""
    try:
        made = await notifications.job_failed(
            ctx.pool, service=ctx.service, subject=letter.subject, error=letter.error
        )
        for item in made:
            await ctx.outbox.publish(
                NotificationCreated(
                    notification_id=str(item.id), user_id=str(item.user_id), type=item.type
                )
            )
    except Exception as exc:  # noqa: BLE001 - the dead letter is recorded; this is a courtesy
        log.warning("notification.job_failed_not_sent", error=f"{type(exc).__name__}: {exc}")


#: Durable consumer (service) -> the Immich queue whose ``job.<queue>.concurrency`` (system
#: config) sets how many of its jobs one replica runs at once.
QUEUE_OF_DURABLE: dict[str, str] = {
    "metadata": "metadata_extraction",
    "thumbnail": "thumbnail_generation",
    "transcode": "video_conversion",
    "embedding": "smart_search",
    "face": "face_detection",
    "ocr": "ocr",
}


def concurrency_from_config(config: LiveConfig) -> Callable[[HandlerSpec[Any, Any]], int | None]:
    """The bus's concurrency hook (``Bus.run(concurrency=...)``): ``job.<queue>.concurrency``
    from the live system config, for the consumers of the queues in :data:`QUEUE_OF_DURABLE`.

    The bus reads it before every fetch, so a ``PUT /api/system-config`` applies to every
    replica of every service within a second of ``darkroom.config.updated`` (no restart). While
    a queue's value is Immich's default (e.g. ``smartSearch`` 2), the handler's own tuned
    ``@subscribe(concurrency=...)`` stays in force (the embedding service embeds 16 previews per
    inference call): Immich's defaults are tuned for Immich's workers, not Darkroom's.

    Args:
        config: The process's live config.

    Returns:
        ``(spec) -> int | None``: the value to apply, None for the spec's own.
    """
    defaults = system_config.defaults(config.source).job

    def concurrency(spec: HandlerSpec[Any, Any]) -> int | None:
        queue = QUEUE_OF_DURABLE.get(spec.durable)
        if queue is None:
            return None
        value = int(getattr(config.current.job, queue).concurrency)
        return None if value == getattr(defaults, queue).concurrency else value

    return concurrency


def asset_exists_check(ctx: Context) -> Callable[[str], Awaitable[bool]]:
    """The bus hook that tells whether a job's asset still exists (see ``Bus.run``)."""

    async def exists(asset_id: str) -> bool:
        try:
            key = uuid.UUID(asset_id)
        except ValueError:
            return True  # not ours to judge: let the handler decide
        return await assets.exists_for_worker(ctx.pool, key)

    return exists


async def serve(
    name: str,
    settings: ServiceSettings,
    handlers: Sequence[Callable[..., Any]],
    *,
    setup: Callable[[Context], Awaitable[None]] | None = None,
    rpc: Callable[[Context], Awaitable[None]] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Connect everything, then consume with ``handlers`` until ``stop`` is set.

    Args:
        name: Service name: durable consumer name, log and metrics label.
        settings: Its settings.
        handlers: ``@subscribe``-decorated handlers.
        setup: Called once with the context before consuming (load models, build caches).
        rpc: Called once to register request/reply responders (``ctx.bus.serve(...)``).
        stop: Set it to stop gracefully; in-flight jobs finish or go back to the stream.

    Raises:
        Connection errors at start-up (the supervisor restarts the process).
    """
    metrics = Metrics(name)
    metrics_server = None
    if settings.metrics_port:
        metrics_server = await serve_metrics(metrics, settings.metrics_host, settings.metrics_port)
    pool = await create_pool(settings.database_url, max_size=settings.db_pool_size)
    bus = await Bus.connect(settings.nats_url, name=name, stream_replicas=settings.nats_replicas)
    bus.server_down_errors = (*SERVER_DOWN_ERRORS, *DATABASE_DOWN_ERRORS, StorageUnavailable)
    export_backlog(metrics, bus, [handler_spec(h).consumer_name for h in handlers])
    storage = open_service_storage(settings.storage)
    executor = ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix=name)
    ctx = Context(
        service=name,
        settings=settings,
        bus=bus,
        pool=pool,
        storage=storage,
        executor=executor,
        config=LiveConfig(pool, ConfigSource.from_environ(config_file=settings.config_file)),
    )
    ctx.outbox.fault = CommitFault.parse(settings.fault_after_commit, name)
    if ctx.outbox.fault is not None:
        log.warning("fault.armed", service=name, after_commits=ctx.outbox.fault.after)
    stop = stop or asyncio.Event()
    try:
        await bus.ensure_stream()
        await ctx.config.start(bus)
        if setup is not None:
            await setup(ctx)
        if rpc is not None:
            await rpc(ctx)
        components = await report_component_versions(pool)
        log.info(
            "service.started",
            service=name,
            handlers=[h.__name__ for h in handlers],
            components=components,
        )
        relay = asyncio.create_task(ctx.outbox.run_relay(stop))
        try:
            if handlers:
                await bus.run(
                    handlers,
                    ctx,
                    on_dead_letter=dead_letter_recorder(ctx),
                    stop=stop,
                    metrics=metrics,
                    asset_exists=asset_exists_check(ctx),
                    redact_roots=ctx.path_roots(),
                    concurrency=concurrency_from_config(ctx.config),
                )
            else:
                await stop.wait()
        finally:
            relay.cancel()
            await asyncio.gather(relay, return_exceptions=True)
    finally:
        log.info("service.stopping", service=name)
        await bus.close()
        await pool.close()
        await storage.close()
        executor.shutdown(wait=False, cancel_futures=True)
        if metrics_server is not None:
            metrics_server.close()


def run_service(
    name: str,
    settings_type: type[S],
    handlers: Sequence[Callable[..., Any]],
    *,
    setup: Callable[[Context], Awaitable[None]] | None = None,
    rpc: Callable[[Context], Awaitable[None]] | None = None,
) -> None:
    """Process entry point: read settings, configure logging/tracing, serve until SIGTERM/SIGINT.

    Raises:
        darkroom_config.ConfigError: A ``DARKROOM_*`` variable is bad (names it).
    """
    settings = load_settings(settings_type)
    configure_logging(name, settings.log_level)
    configure_tracing(name, exporter=settings.tracing_exporter or None)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(name, settings, handlers, setup=setup, rpc=rpc, stop=stop)

    asyncio.run(main())
