"""Maintenance mode (spec "Maintenance (admin)"): enter and leave it, its status, its login, and
what the API answers while it is on.

Immich 2.5+ restarts into a maintenance worker that serves only ``GET /api/server/config``
(``maintenanceMode: true``), ``GET /api/server/version``, the database-backup routes and the
``/api/admin/maintenance`` routes (server/src/maintenance/maintenance-worker.controller.ts,
read for its behaviour); its web app shows a maintenance page. Darkroom's gateway keeps running
instead and lets exactly those routes through (:data:`OPEN_DURING_MAINTENANCE`); every other
``/api`` route answers 503 ``{"message": "Server is in maintenance mode"}`` with
``Retry-After``, so the mobile app and the CLI retry rather than fail (Immich's worker has no
such route at all). The state is shared by every replica through NATS key-value
(:mod:`darkroom_runtime.maintenance`), never the database a restore replaces.

Starting maintenance gives the admin the maintenance login cookie
(:data:`~darkroom_gateway.auth.MAINTENANCE_COOKIE_NAME`), as Immich does: a JWT with the admin's
name, signed with the maintenance secret (:mod:`darkroom_gateway.maintenance_token`); its token
also works with ``POST /api/admin/maintenance/login``, which answers that name.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Literal, get_args

import msgspec
import structlog
from darkroom_db import users
from darkroom_events import ConfigUpdated, DatabaseRestored, MaintenanceModeChanged
from darkroom_runtime import backups
from darkroom_runtime.maintenance import OFF, MaintenanceState, new_secret
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Receive,
    Scope,
    Send,
)

from darkroom_gateway import maintenance_token
from darkroom_gateway.announce import announce
from darkroom_gateway.auth import MAINTENANCE_COOKIE_NAME, Auth, maintenance_login, site_cookie
from darkroom_gateway.deps import Deps
from darkroom_gateway.errors import (
    CORRELATION_HEADER,
    BadRequest,
    ErrorBody,
    Unauthorized,
    new_correlation_id,
)

log = structlog.get_logger()

#: ``/api`` paths (prefixes) that answer while maintenance is on: Immich's maintenance worker's.
OPEN_DURING_MAINTENANCE: tuple[str, ...] = (
    "/api/server/config",
    "/api/server/version",
    "/api/admin/database-backups",
    "/api/admin/maintenance",
)
#: ``message`` of the 503 every other route answers during maintenance.
MAINTENANCE_MESSAGE = "Server is in maintenance mode"
#: Who the start-restore flow's token logs in (Immich's ``startRestoreFlow`` signs ``admin``).
RESTORE_FLOW_USERNAME = "admin"
#: The ``error`` of the status to anyone but the maintenance login (Immich's
#: ``getPublicStatus``): the real one may name what failed in the restored dump.
PUBLIC_ERROR = "Something went wrong, see logs!"

#: Spec: MaintenanceAction.
MaintenanceAction = Literal["start", "end", "select_database_restore", "restore_database"]


def _action(action: str) -> MaintenanceAction:
    for known in get_args(MaintenanceAction):
        if action == known:
            return known  # type: ignore[no-any-return]
    return "end"


def is_open_during_maintenance(path: str) -> bool:
    """Whether ``path`` answers while maintenance is on (not ``/api``: the web app does)."""
    if not path.startswith("/api/"):
        return True
    return any(path == p or path.startswith(p + "/") for p in OPEN_DURING_MAINTENANCE)


def maintenance_middleware(app: ASGIApp) -> ASGIApp:
    """The one place that turns the API away during maintenance (runs before every guard).

    Args:
        app: The route's ASGI app.

    Returns:
        An ASGI app answering 503 :data:`MAINTENANCE_MESSAGE` (``Retry-After``) for an ``/api``
        route not in :data:`OPEN_DURING_MAINTENANCE` while maintenance is on.
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not is_open_during_maintenance(scope["path"]):
            deps: Deps = scope["app"].state.deps
            if (await deps.maintenance.get()).active:
                body = msgspec.json.encode(ErrorBody(message=MAINTENANCE_MESSAGE))
                headers = [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(deps.settings.retry_after_s).encode()),
                    (CORRELATION_HEADER.encode(), new_correlation_id().encode()),
                ]
                start: HTTPResponseStartEvent = {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": headers,
                }
                await send(start)
                end: HTTPResponseBodyEvent = {
                    "type": "http.response.body",
                    "body": body,
                    "more_body": False,
                }
                await send(end)
                return
        await app(scope, receive, send)

    return middleware


class SetMaintenanceMode(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: SetMaintenanceModeDto."""

    action: MaintenanceAction
    restore_backup_filename: str | msgspec.UnsetType = msgspec.UNSET


class MaintenanceStatusResponse(
    msgspec.Struct, frozen=True, kw_only=True, rename="camel", omit_defaults=True
):
    """Spec: MaintenanceStatusResponseDto (``task``/``progress``/``error`` while they apply)."""

    action: MaintenanceAction
    active: bool
    error: str | None = None
    progress: int | None = None
    task: str | None = None


class MaintenanceLogin(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: MaintenanceLoginDto."""

    token: str | None = None


class MaintenanceAuthResponse(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: MaintenanceAuthDto."""

    username: str


class StorageFolderResponse(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: MaintenanceDetectInstallStorageFolderDto."""

    files: int
    folder: Literal["encoded-video", "library", "upload", "profile", "thumbs", "backups"]
    readable: bool
    writable: bool


class DetectInstallResponse(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: MaintenanceDetectInstallResponseDto."""

    storage: list[StorageFolderResponse]


#: Immich's storage folders and Darkroom's key prefix of each.
_FOLDERS: dict[str, str] = {
    "encoded-video": "encoded-video/",
    "library": "library/",
    "upload": "upload/",
    "profile": "profile/",
    "thumbs": "thumbs/",
    "backups": backups.PREFIX,
}
#: Files counted per folder at most by detect-install (a heuristic, not an inventory).
_COUNT_LIMIT = 10_000


def maintenance_cookie(request: Request, state: MaintenanceState, username: str) -> Cookie:
    """The maintenance login cookie (HTTP-only, this session only) of the maintenance in
    progress for ``username``: a token signed with its secret (Immich ``signMaintenanceJwt``)."""
    token = maintenance_token.sign(state.secret, username)
    return site_cookie(request, MAINTENANCE_COOKIE_NAME, token)


async def tell_maintenance(deps: Deps, state: MaintenanceState) -> None:
    """Announce that maintenance went on or off (:class:`MaintenanceModeChanged`)."""
    event = MaintenanceModeChanged(active=state.active, action=state.action, at=datetime.now(UTC))
    await announce(deps, event)


async def enter_maintenance(deps: Deps, action: MaintenanceAction) -> MaintenanceState:
    """Turn maintenance on (keeping the secret of one already on) and announce it; the state
    stored."""
    current = await deps.maintenance.get(fresh=True)
    state = MaintenanceState(
        active=True,
        action=action,
        secret=current.secret if current.active and current.secret else new_secret(),
        started_at=current.started_at or datetime.now(UTC).timestamp(),
    )
    await deps.maintenance.set(state)
    await tell_maintenance(deps, state)
    return state


async def after_restore(deps: Deps, name: str, applied: list[str]) -> None:
    """What the gateway does once a restore finished: new database connections (the restored
    types have new OIDs), the restored system config reloaded here and announced to every
    replica of every service, the restore and the end of maintenance announced.

    Args:
        deps: The gateway's connections.
        name: The backup restored.
        applied: The migrations applied after it.
    """
    await deps.pool.expire_connections()
    await deps.config.reload()
    now = datetime.now(UTC)
    await announce(deps, ConfigUpdated(sections=["*"], at=now))
    await announce(deps, DatabaseRestored(filename=name, migrations_applied=applied, at=now))
    await tell_maintenance(deps, OFF)
    # the "missing" sweep after a restore runs on DatabaseRestored, whoever restored
    # (this route or ``darkroom restore``): darkroom_gateway.nightly.restore_sweeper


async def restore_in_background(deps: Deps, name: str) -> None:
    """Restore backup ``name`` (:func:`darkroom_runtime.backups.restore_backup`) and then
    :func:`after_restore`; a failure is in the maintenance status, which stays on."""
    try:
        applied = await backups.restore_backup(
            deps.settings.database_url,
            deps.storage,
            name,
            deps.maintenance,
            bin_dir=backups.backup.pg_bin_dir(deps.settings.pg_bin_dir),
        )
    except Exception:  # noqa: BLE001 - recorded in the maintenance status and logged
        return
    await after_restore(deps, name, applied)


def start_restore_task(deps: Deps, name: str) -> None:
    """Run :func:`restore_in_background` without waiting for it (Immich's ``setAction``)."""
    task = asyncio.create_task(restore_in_background(deps, name))
    deps.background.add(task)
    task.add_done_callback(deps.background.discard)


class MaintenanceController(Controller):
    """/api/admin/maintenance."""

    path = "/api/admin/maintenance"

    @post("/", status_code=201, admin=True, permission="maintenance", maintenance_token=True)
    async def set_maintenance_mode(
        self,
        data: JSONBody[SetMaintenanceMode],
        request: Request,
        auth: NamedDependency[Auth | None],
        deps: NamedDependency[Deps],
    ) -> Response[None]:
        """Spec setMaintenanceMode: ``start``/``select_database_restore`` turn maintenance on
        (answering the maintenance login cookie, with the admin's name, to an admin user; the
        maintenance login keeps its own), ``end`` turns it off, ``restore_database`` restores
        ``restoreBackupFilename`` in the background (poll the status).

        Raises:
            BadRequest: ``restore_database`` without a valid, existing backup name, or while a
                restore runs.
        """
        if data.action == "end":
            await deps.maintenance.set(OFF)
            await tell_maintenance(deps, OFF)
            return Response(None, status_code=201)
        if data.action == "restore_database":
            name = data.restore_backup_filename
            if not isinstance(name, str) or not backups.backup.BACKUP_NAME.match(name):
                raise BadRequest("restoreBackupFilename must name a backup")
            if not await deps.storage.exists(backups.backup_key(name)):
                raise BadRequest(f"Backup {name} not found")
            if (await deps.maintenance.get(fresh=True)).task:
                raise BadRequest("A restore is running already")
        state = await enter_maintenance(deps, data.action)
        if data.action == "restore_database":
            start_restore_task(deps, str(data.restore_backup_filename))
        if auth is None:  # the maintenance login: its cookie stays (Immich's worker sets none)
            return Response(None, status_code=201)
        cookie = maintenance_cookie(request, state, auth.user.name)
        return Response(None, status_code=201, cookies=[cookie])

    @get("/status")
    async def status(
        self, request: Request, deps: NamedDependency[Deps]
    ) -> MaintenanceStatusResponse:
        """Spec getMaintenanceStatus (public, as Immich): on or off, the action, the running
        task and its progress; the last error as it is only to the maintenance login (it names
        what failed in the restored dump), to others :data:`PUBLIC_ERROR` (Immich
        maintenance-worker.service ``status``/``getPublicStatus``)."""
        state = await deps.maintenance.get(fresh=True)
        error = state.error or None
        if error and not await maintenance_login(request.cookies, deps):
            error = PUBLIC_ERROR
        return MaintenanceStatusResponse(
            action=_action(state.action),
            active=state.active,
            error=error,
            progress=state.progress if state.task else None,
            task=state.task or None,
        )

    @post("/login", status_code=201)
    async def login(
        self, data: JSONBody[MaintenanceLogin], request: Request, deps: NamedDependency[Deps]
    ) -> Response[MaintenanceAuthResponse]:
        """Spec maintenanceLogin: a token (or the cookie) of the maintenance in progress logs
        in, answering the name it carries; the cookie is set. Outside maintenance Immich's
        server answers 400 whatever is sent (maintenance.controller ``maintenanceLogin``); its
        maintenance worker 401 for no token or one its secret does not verify
        (maintenance-worker.service ``login``).

        Raises:
            BadRequest: Maintenance is off.
            Unauthorized: No token, or not one of the maintenance in progress.
        """
        state = await deps.maintenance.get(fresh=True)
        if not state.active:
            raise BadRequest("Not in maintenance mode")
        token = data.token or request.cookies.get(MAINTENANCE_COOKIE_NAME)
        if not token:
            raise Unauthorized("Missing JWT Token")
        username = maintenance_token.username(state.secret, token)
        if username is None:
            raise Unauthorized("Invalid JWT Token")
        return Response(
            MaintenanceAuthResponse(username=username),
            status_code=201,
            cookies=[site_cookie(request, MAINTENANCE_COOKIE_NAME, token)],
        )

    @get("/detect-install", admin=True, permission="maintenance", maintenance_token=True)
    async def detect_install(
        self, auth: NamedDependency[Auth | None], deps: NamedDependency[Deps]
    ) -> DetectInstallResponse:
        """Spec detectPriorInstall: per storage folder, how many files it has (at most
        10,000 counted) and whether it can be read and written (a probe object)."""
        out = []
        for folder, prefix in _FOLDERS.items():
            files = 0
            readable = writable = True
            try:
                async for _ in deps.storage.list_objects(prefix):
                    files += 1
                    if files >= _COUNT_LIMIT:
                        break
            except Exception:  # noqa: BLE001 - reported as not readable
                readable = False
            probe = f"{prefix}.darkroom-write-probe"
            try:
                await deps.storage.put(probe, b"")
                await deps.storage.delete(probe)
            except Exception:  # noqa: BLE001 - reported as not writable
                writable = False
            out.append(
                StorageFolderResponse(
                    files=files,
                    folder=folder,  # type: ignore[arg-type]
                    readable=readable,
                    writable=writable,
                )
            )
        return DetectInstallResponse(storage=out)


async def server_is_set_up(deps: Deps) -> bool:
    """Whether a user exists (Immich's start-restore flow is for a server not set up yet)."""
    return await users.count_users(deps.pool) > 0


ROUTES = [MaintenanceController]
