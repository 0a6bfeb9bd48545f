"""The Litestar application: routes, dependencies, error mapping and connection lifecycle."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import socketio
from darkroom_bus import Bus
from darkroom_db import create_pool
from darkroom_db.system_config import ConfigSource
from darkroom_observability import Metrics, serve_metrics
from darkroom_runtime.live_config import LiveConfig
from darkroom_storage import open_service_storage
from litestar import Controller, Litestar, Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.handlers import HTTPRouteHandler
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from darkroom_gateway import domain
from darkroom_gateway.auth import Auth, authenticate, authorize
from darkroom_gateway.deps import Deps
from darkroom_gateway.domain.maintenance import maintenance_middleware
from darkroom_gateway.errors import EXCEPTION_HANDLERS
from darkroom_gateway.housekeeping import outbox_relay, staging_sweeper, sync_audit_pruner
from darkroom_gateway.http import (
    GatewayRequest,
    head_as_get,
    immich_dates_middleware,
    security_headers,
)
from darkroom_gateway.mail import mail_queue
from darkroom_gateway.nightly import TASKS, restore_sweeper
from darkroom_gateway.realtime import SOCKETIO_PATH, Realtime
from darkroom_gateway.scheduler import scheduler_lifespan
from darkroom_gateway.settings import GatewaySettings


async def open_deps(settings: GatewaySettings) -> Deps:
    """Connect to PostgreSQL, NATS and storage as ``settings`` say.

    Raises:
        OSError / asyncpg / nats errors: a server is unreachable.
    """
    pool = await create_pool(settings.database_url, max_size=20)
    bus = await Bus.connect(
        settings.nats_url, name="gateway", stream_replicas=settings.nats_replicas
    )
    return Deps(
        settings=settings,
        pool=pool,
        bus=bus,
        storage=open_service_storage(settings.storage),
        config=LiveConfig(pool, ConfigSource.from_environ(config_file=settings.config_file)),
    )


async def close_deps(deps: Deps) -> None:
    """Close what :func:`open_deps` opened."""
    await deps.bus.close()
    await deps.pool.close()
    await deps.storage.close()


def route_handlers() -> list[object]:
    """Every controller and route of the API: the ``ROUTES`` list of each module in
    :mod:`darkroom_gateway.domain` (a new domain module only has to define ``ROUTES``), their
    UUID path parameters routed as text (:func:`route_uuids_as_text`)."""
    routes: list[object] = []
    for module in sorted(pkgutil.iter_modules(domain.__path__), key=lambda m: m.name):
        routes += getattr(importlib.import_module(f"{domain.__name__}.{module.name}"), "ROUTES", [])
    route_uuids_as_text(routes)
    return routes


def route_uuids_as_text(routes: list[object]) -> None:
    """Route every ``{name:uuid}`` path parameter as ``{name:str}``, in place.

    Litestar's router answers 404 for a path segment that does not parse as its declared type;
    Immich answers a malformed id in the path with 400 (its parameter validation: ``Invalid
    UUID``, e.g. ``GET /api/assets/123``), after the caller was authenticated. Routed as text,
    the segment reaches the handler's signature, whose annotation stays ``uuid.UUID``: it is
    parsed there, after the :func:`~darkroom_gateway.auth.authorize` guard, and a malformed one
    is a ``ValidationException`` that :func:`darkroom_gateway.errors.http_error_handler` answers
    as Immich does. Routes keep their ``:uuid`` in the source, which says what they take.
    Idempotent (an app built twice in one process).

    Args:
        routes: Controllers (classes) and route handlers, as given to Litestar.
    """
    for route in routes:
        owners = [route, *vars(route).values()] if isinstance(route, type) else [route]
        for owner in owners:
            if isinstance(owner, type) and issubclass(owner, Controller):
                controller: Any = owner  # its path is a class attribute (typed as a slot)
                controller.path = controller.path.replace(":uuid}", ":str}")
            elif isinstance(owner, HTTPRouteHandler):
                owner.paths = {path.replace(":uuid}", ":str}") for path in owner.paths}


def _provide_deps(state: State) -> Deps:
    return state.deps  # type: ignore[no-any-return]


async def _provide_auth(request: Request, deps: NamedDependency[Deps]) -> Auth | None:
    found = request.state.get("auth")  # set by the authorize guard, which ran first
    if isinstance(found, Auth):
        return found
    if request.state.get("maintenance_login"):  # a maintenance_token route, no user
        return None
    return await authenticate(request, deps)


def proxy_middleware(settings: GatewaySettings) -> list[DefineMiddleware]:
    """The one place that decides a request's client address and scheme.

    With ``settings.trusted_proxies`` set, uvicorn's ``ProxyHeadersMiddleware`` rewrites the
    ASGI scope's ``client`` and ``scheme`` from ``X-Forwarded-For``/``X-Forwarded-Proto`` of
    requests whose peer is a trusted proxy (the client is the right-most entry that is not one).
    Without, nothing is rewritten and the client is the TCP peer. Uvicorn's own proxy handling is
    off (``__main__``), so the same rule holds however the app is served.

    Args:
        settings: Gateway settings (``trusted_proxies``).

    Returns:
        The middleware to install: none, or the proxy headers middleware.
    """
    if not settings.trusted_proxies:
        return []
    # uvicorn and Litestar spell the same ASGI callable with different TypedDicts
    middleware = DefineMiddleware(
        ProxyHeadersMiddleware,  # type: ignore[arg-type]
        trusted_hosts=list(settings.trusted_proxies),
    )
    return [middleware]


def create_app(settings: GatewaySettings, *, deps: Deps | None = None) -> Litestar:
    """Build the gateway application.

    Args:
        settings: Gateway settings.
        deps: Connections to use (tests); when None they are opened at start-up from
            ``settings`` and closed at shutdown.

    Returns:
        The Litestar application; ``app.state.realtime`` is its websocket server
        (:class:`~darkroom_gateway.realtime.Realtime`), started and stopped with it. Serve
        :func:`asgi_app` of it to have the websocket too. HEAD is answered on every GET route
        (:func:`~darkroom_gateway.http.head_as_get`).
    """
    realtime = Realtime()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        own = deps is None
        app.state.deps = await open_deps(settings) if own else deps
        metrics_server = None
        if settings.metrics_port:
            metrics_server = await serve_metrics(
                Metrics("gateway"), settings.metrics_host, settings.metrics_port
            )
        await realtime.start(app.state.deps)  # ensures the stream
        await app.state.deps.config.start(app.state.deps.bus)
        try:
            yield
        finally:
            await realtime.stop()
            if metrics_server is not None:
                metrics_server.close()
            if own:
                await close_deps(app.state.deps)

    app = Litestar(
        route_handlers=route_handlers(),
        dependencies={
            "deps": Provide(_provide_deps, sync_to_thread=False),
            "auth": Provide(_provide_auth),
        },
        guards=[authorize],  # 401/403 before the body is parsed, as Immich
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        # the proxy headers first; then, before any guard, maintenance mode's 503
        # dates in Immich's form innermost, so it sees the rendered body of every route
        middleware=[*proxy_middleware(settings), maintenance_middleware, immich_dates_middleware],
        request_class=GatewayRequest,
        # every body but the streamed uploads (their routes set no limit): 413 past this
        request_max_body_size=settings.max_json_body_bytes,
        before_send=[security_headers(settings.map_tile_url)],
        lifespan=[
            lifespan,
            staging_sweeper,
            sync_audit_pruner,
            mail_queue,
            outbox_relay,
            scheduler_lifespan(TASKS),
            restore_sweeper,
        ],
        state=State({"realtime": realtime}),
        openapi_config=OpenAPIConfig(
            title="Darkroom (Immich-compatible API)", version="3.1.0", path="/api/docs"
        ),
        debug=False,
        logging_config=None,  # keep the structlog JSON set up by configure_logging
    )
    # HEAD on every GET route, as Express answers it; before routing (Litestar's middleware
    # runs after it, where a HEAD request has already been refused 405)
    app.asgi_handler = head_as_get(app.asgi_handler)
    return app


def asgi_app(app: Litestar) -> socketio.ASGIApp:
    """What the gateway serves: socket.io at ``/api/socket.io`` (Immich's websocket, see
    :mod:`darkroom_gateway.realtime`), everything else (and the lifespan) to ``app``.

    Args:
        app: An application from :func:`create_app`.

    Returns:
        The ASGI application.
    """
    realtime: Realtime = app.state.realtime
    return socketio.ASGIApp(realtime.sio, other_asgi_app=app, socketio_path=SOCKETIO_PATH)
