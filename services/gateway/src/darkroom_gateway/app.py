"""The Litestar application: routes, dependencies, error mapping and connection lifecycle."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from darkroom_bus import Bus
from darkroom_db import create_pool
from darkroom_storage import open_storage
from litestar import Litestar, Request
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig

from darkroom_gateway.auth import Auth, authenticate
from darkroom_gateway.deps import Deps
from darkroom_gateway.domain.api_keys import ApiKeyController
from darkroom_gateway.domain.assets import AssetController
from darkroom_gateway.domain.auth import AuthController
from darkroom_gateway.domain.queues import QueueController
from darkroom_gateway.domain.server import ServerController, well_known
from darkroom_gateway.domain.users import UserController
from darkroom_gateway.errors import EXCEPTION_HANDLERS
from darkroom_gateway.settings import GatewaySettings


async def open_deps(settings: GatewaySettings) -> Deps:
    """Connect to PostgreSQL, NATS and storage as ``settings`` say.

    Raises:
        OSError / asyncpg / nats errors: a server is unreachable.
    """
    pool = await create_pool(settings.database_url, max_size=20)
    bus = await Bus.connect(settings.nats_url, name="gateway")
    return Deps(settings=settings, pool=pool, bus=bus, storage=open_storage(settings.storage))


async def close_deps(deps: Deps) -> None:
    """Close what :func:`open_deps` opened."""
    await deps.bus.close()
    await deps.pool.close()
    await deps.storage.close()


def _provide_deps(state: State) -> Deps:
    return state.deps  # type: ignore[no-any-return]


async def _provide_auth(request: Request, deps: Deps) -> Auth:
    return await authenticate(request, deps)


def create_app(settings: GatewaySettings, *, deps: Deps | None = None) -> Litestar:
    """Build the gateway application.

    Args:
        settings: Gateway settings.
        deps: Connections to use (tests); when None they are opened at start-up from
            ``settings`` and closed at shutdown.

    Returns:
        The ASGI application.
    """

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        own = deps is None
        app.state.deps = await open_deps(settings) if own else deps
        try:
            yield
        finally:
            if own:
                await close_deps(app.state.deps)

    return Litestar(
        route_handlers=[
            ServerController,
            AuthController,
            UserController,
            ApiKeyController,
            AssetController,
            QueueController,
            well_known,
        ],
        dependencies={
            "deps": Provide(_provide_deps, sync_to_thread=False),
            "auth": Provide(_provide_auth),
        },
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        lifespan=[lifespan],
        openapi_config=OpenAPIConfig(
            title="Darkroom (Immich-compatible API)", version="3.1.0", path="/api/docs"
        ),
        debug=False,
    )
