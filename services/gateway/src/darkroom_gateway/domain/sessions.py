"""Sessions (/api/sessions): the caller's signed-in devices; list, create, update, end."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import msgspec
import structlog
from darkroom_db import users
from darkroom_events import SessionDeleted
from litestar import Controller, Request, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from darkroom_gateway.announce import announce
from darkroom_gateway.auth import Auth, hash_secret, new_secret
from darkroom_gateway.deps import Deps
from darkroom_gateway.errors import BadRequest, NoAccess

log = structlog.get_logger()


class SessionResponse(
    msgspec.Struct, frozen=True, kw_only=True, rename="camel", omit_defaults=True
):
    """Spec: SessionResponseDto (``expiresAt`` only when the session expires)."""

    id: str
    created_at: str
    updated_at: str
    current: bool
    device_os: str = msgspec.field(name="deviceOS")
    device_type: str
    app_version: str | None
    is_pending_sync_reset: bool
    expires_at: str | None = None


class SessionCreateResponse(SessionResponse, frozen=True, kw_only=True):
    """Spec: SessionCreateResponseDto: a session plus its token, shown this once only."""

    token: str


class SessionCreate(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: SessionCreateDto (``duration`` in seconds)."""

    device_os: str = msgspec.field(default="", name="deviceOS")
    device_type: str = ""
    duration: int | None = None


class SessionUpdate(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: SessionUpdateDto."""

    is_pending_sync_reset: bool | None = None


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def session_response(session: users.Session, current_id: uuid.UUID | None) -> SessionResponse:
    """Map a sessions row to SessionResponseDto; ``current`` when it is ``current_id``."""
    return SessionResponse(
        id=str(session.id),
        created_at=_iso(session.created_at),
        updated_at=_iso(session.updated_at),
        current=session.id == current_id,
        device_os=session.device_os,
        device_type=session.device_type,
        app_version=session.app_version,
        is_pending_sync_reset=session.is_pending_sync_reset,
        expires_at=_iso(session.expires_at) if session.expires_at else None,
    )


async def sessions_ended(deps: Deps, user_id: uuid.UUID, session_ids: Sequence[uuid.UUID]) -> None:
    """Announce that ``user_id``'s sessions ``session_ids`` ended (deleted, logged out): one
    ``darkroom.session.deleted`` each, after the deletion is committed. Every route that ends
    a session calls this; the websocket sends ``on_session_delete`` to each session's sockets
    and then disconnects them.

    Args:
        deps: The gateway's connections (its bus).
        user_id: The sessions' owner.
        session_ids: The sessions that are gone.
    """
    for session_id in session_ids:
        await announce(deps, SessionDeleted(session_id=str(session_id), user_id=str(user_id)))


class SessionController(Controller):
    """/api/sessions."""

    path = "/api/sessions"

    @get("/", permission="session.read")
    async def get_sessions(
        self, auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> list[SessionResponse]:
        """The caller's sessions, most recently used first; ``current`` marks this one."""
        current = auth.session.id if auth.session else None
        found = await users.list_sessions(deps.pool, auth.user.id)
        return [session_response(s, current) for s in found]

    @post("/", status_code=201, permission="session.create")
    async def create_session(
        self,
        data: JSONBody[SessionCreate],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
        request: Request,
    ) -> SessionCreateResponse:
        """Create a session for another device (e.g. a cast receiver) that ends with the
        caller's session; ``duration`` (seconds) makes it expire.

        Raises:
            BadRequest: 400 ``This endpoint can only be used with a session token`` for an API
                key (Immich's ``SessionService.create``); ``duration`` below 1.
        """
        if auth.session is None:
            raise BadRequest("This endpoint can only be used with a session token")
        if data.duration is not None and data.duration < 1:
            raise BadRequest("duration must not be less than 1")
        token = new_secret()
        expires = datetime.now(UTC) + timedelta(seconds=data.duration) if data.duration else None
        session = await users.create_session(
            deps.pool,
            owner_id=auth.user.id,
            token_hash=hash_secret(token),
            device_type=data.device_type[:200],
            device_os=data.device_os[:100],
            expires_at=expires,
            parent_id=auth.session.id,
        )
        base = session_response(session, auth.session.id)
        return SessionCreateResponse(**msgspec.structs.asdict(base), token=token)

    @put("/{session_id:uuid}", permission="session.update")
    async def update_session(
        self,
        session_id: FromPath[uuid.UUID],
        data: JSONBody[SessionUpdate],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> SessionResponse:
        """Set or clear a session's pending sync reset.

        Raises:
            NoAccess: 400 ``Not found or no session.update access`` (not the caller's session),
                checked first, as Immich's ``SessionService.update``.
            BadRequest: 400 ``No fields to update`` when the body sets nothing.
        """
        if data.is_pending_sync_reset is None:
            found = await users.list_sessions(deps.pool, auth.user.id)
            if not any(s.id == session_id for s in found):
                raise NoAccess("session.update")
            raise BadRequest("No fields to update")
        session = await users.update_session(
            deps.pool,
            auth.user.id,
            session_id,
            is_pending_sync_reset=data.is_pending_sync_reset,
        )
        if session is None:
            raise NoAccess("session.update")
        return session_response(session, auth.session.id if auth.session else None)

    @delete("/{session_id:uuid}", status_code=204, permission="session.delete")
    async def delete_session(
        self,
        session_id: FromPath[uuid.UUID],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> None:
        """End one of the caller's sessions (sign a device out)."""
        if not await users.delete_session(deps.pool, owner_id=auth.user.id, session_id=session_id):
            raise NoAccess("authDevice.delete")
        await sessions_ended(deps, auth.user.id, [session_id])

    @post("/{session_id:uuid}/lock", status_code=204, permission="session.lock")
    async def lock_session(
        self,
        session_id: FromPath[uuid.UUID],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> None:
        """Lock one of the caller's sessions (Immich's ``lockSession``): its PIN unlock ends,
        so it no longer sees the locked folder until unlocked again; it stays signed in.

        Raises:
            NoAccess: 400 ``Not found or no session.lock access`` (not the caller's session).
        """
        if not await users.lock_session(deps.pool, auth.user.id, session_id):
            raise NoAccess("session.lock")
        log.info("session.locked", user_id=str(auth.user.id), session_id=str(session_id))

    @delete("/", status_code=204, permission="session.delete")
    async def delete_all_sessions(
        self, auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> None:
        """End every session of the caller except the current one."""
        ended = await users.delete_other_sessions(
            deps.pool, auth.user.id, auth.session.id if auth.session else None
        )
        await sessions_ended(deps, auth.user.id, ended)


ROUTES = [SessionController]
