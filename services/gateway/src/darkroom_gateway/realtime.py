"""The websocket: Immich's socket.io server events, fed from JetStream on every replica.

Immich's web and mobile clients connect socket.io (Engine.IO 4) at ``/api/socket.io`` with the
same credentials as HTTP (``x-api-key``, ``Authorization: Bearer``, the ``immich_access_token``
cookie) and listen for server events (:class:`ServerEvent`). A connection is refused
(socket.io ``connect_error``) without valid credentials. Each socket joins the rooms
``user:<user id>`` and, for a session login, ``session:<session id>`` (for an API key,
``api_key:<key id>``).

Fan-out: every gateway replica watches the relevant JetStream subjects with its own ordered
consumer (:meth:`darkroom_bus.Bus.watch`, deliver-new), builds the payload from the database at
emit time with the code the REST routes use (``domain.assets.viewer_asset_response``, the sync
stream's Sync* mapping) and emits to the rooms of the users concerned (:func:`asset_audience`:
owner, album members, partners), read from the database then,
on its own sockets. So an event reaches a client whichever replica it is connected to. Nothing
is replayed: a client that was offline catches up through ``/api/sync`` (as Immich's do).

Which events are live (have a producer) is :data:`LIVE`; the others are declared so that a later
feature only has to publish (docs/realtime.md).
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from http.cookies import SimpleCookie
from typing import Any

import msgspec
import socketio
import structlog
from darkroom_db import albums, asset_edits, assets, exif, notifications, partners
from darkroom_events import (
    ApiKeyDeleted,
    AssetDeleted,
    AssetEditRendered,
    AssetHidden,
    AssetShown,
    AssetsRestored,
    AssetsTrashed,
    AssetThumbnailGenerated,
    AssetUpdated,
    ConfigUpdated,
    Event,
    MaintenanceModeChanged,
    NotificationCreated,
    PersonThumbnailUpdated,
    SessionDeleted,
    StackCreated,
    StackDeleted,
    StackUpdated,
    UserDeleted,
)
from litestar.datastructures import Headers

from darkroom_gateway.auth import Auth, authenticate_headers
from darkroom_gateway.deps import Deps
from darkroom_gateway.domain.assets import viewer_asset_response
from darkroom_gateway.domain.notifications import notification_response
from darkroom_gateway.domain.server import API_VERSION, ServerVersionResponse
from darkroom_gateway.domain.sync import _asset as sync_asset
from darkroom_gateway.domain.sync import _exif as sync_exif
from darkroom_gateway.errors import ApiError
from darkroom_gateway.http import immich_dates

log = structlog.get_logger()

#: Where Immich's clients connect (socket.io's ``path`` option, without the leading slash).
SOCKETIO_PATH = "api/socket.io"


def immich_payload(payload: object) -> Any:
    """``payload`` as JSON-ready builtins, its dates written as Immich writes them
    (:func:`darkroom_gateway.http.immich_dates`: ``.000Z`` throughout, as in the API's answers
    and the sync stream)."""
    return msgspec.json.decode(immich_dates(msgspec.json.encode(payload)))


class ServerEvent(enum.StrEnum):
    """Server -> client socket.io events, named and shaped as Immich 3.1.0 sends them
    (its ``ServerEventMap``; payloads are the spec's DTOs)."""

    UPLOAD_SUCCESS = "on_upload_success"  # AssetResponseDto, once the thumbnail exists
    USER_DELETE = "on_user_delete"  # user id, to every socket
    ASSET_DELETE = "on_asset_delete"  # asset id
    ASSET_TRASH = "on_asset_trash"  # asset ids
    ASSET_UPDATE = "on_asset_update"  # AssetResponseDto
    ASSET_HIDDEN = "on_asset_hidden"  # asset id
    ASSET_RESTORE = "on_asset_restore"  # asset ids
    ASSET_STACK_UPDATE = "on_asset_stack_update"  # no payload (Immich sends none)
    PERSON_THUMBNAIL = "on_person_thumbnail"  # person id
    SERVER_VERSION = "on_server_version"  # ServerVersionResponseDto
    CONFIG_UPDATE = "on_config_update"  # no payload
    NEW_RELEASE = "on_new_release"  # ReleaseNotification
    SESSION_DELETE = "on_session_delete"  # session id
    NOTIFICATION = "on_notification"  # NotificationDto
    ASSET_UPLOAD_READY_V1 = "AssetUploadReadyV1"  # {asset: SyncAssetV1, exif: SyncAssetExifV1}
    ASSET_UPLOAD_READY_V2 = "AssetUploadReadyV2"  # {asset: SyncAssetV2, exif: SyncAssetExifV1}
    ASSET_EDIT_READY_V1 = "AssetEditReadyV1"  # {asset: SyncAssetV1, edit: SyncAssetEditV1[]}
    ASSET_EDIT_READY_V2 = "AssetEditReadyV2"  # {asset: SyncAssetV2, edit: SyncAssetEditV1[]}
    APP_RESTART_V1 = "AppRestartV1"  # {isMaintenanceMode}, to every socket


#: Events something in Darkroom emits today; the rest wait for their feature to publish.
LIVE = frozenset(
    {
        ServerEvent.UPLOAD_SUCCESS,
        ServerEvent.ASSET_UPLOAD_READY_V1,
        ServerEvent.ASSET_UPLOAD_READY_V2,
        ServerEvent.ASSET_DELETE,
        ServerEvent.ASSET_TRASH,
        ServerEvent.ASSET_RESTORE,
        ServerEvent.ASSET_UPDATE,
        ServerEvent.SERVER_VERSION,
        ServerEvent.SESSION_DELETE,
        ServerEvent.PERSON_THUMBNAIL,
        ServerEvent.ASSET_HIDDEN,
        ServerEvent.NOTIFICATION,
        ServerEvent.CONFIG_UPDATE,  # system config (#15)
        ServerEvent.ASSET_STACK_UPDATE,
        ServerEvent.ASSET_EDIT_READY_V1,  # edits (#19)
        ServerEvent.ASSET_EDIT_READY_V2,
        ServerEvent.USER_DELETE,
        ServerEvent.APP_RESTART_V1,
    }
)

#: The bus events the websocket turns into server events.
WATCHED: tuple[type[Event], ...] = (
    AssetThumbnailGenerated,
    AssetDeleted,
    AssetsTrashed,
    AssetsRestored,
    AssetUpdated,
    SessionDeleted,
    ApiKeyDeleted,
    PersonThumbnailUpdated,
    AssetHidden,
    AssetShown,
    NotificationCreated,
    ConfigUpdated,
    StackCreated,
    StackUpdated,
    StackDeleted,
    AssetEditRendered,
    UserDeleted,
    MaintenanceModeChanged,
)


def user_room(user_id: uuid.UUID | str) -> str:
    """The room every socket of a user joins."""
    return f"user:{user_id}"


def session_room(session_id: uuid.UUID | str) -> str:
    """The room of the sockets of one login session."""
    return f"session:{session_id}"


def api_key_room(api_key_id: uuid.UUID | str) -> str:
    """The room of the sockets opened with one API key."""
    return f"api_key:{api_key_id}"


def _cookies(headers: Headers) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(headers.get("cookie", ""))
    except Exception:  # noqa: BLE001 - a malformed Cookie header is no credential
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


class Realtime:
    """The socket.io server of one gateway process and its JetStream fan-out.

    Create it once per app; :meth:`start` once the connections exist (the app's lifespan),
    :meth:`stop` at shutdown. Serve :attr:`sio` with :func:`socketio.ASGIApp` in front of the
    Litestar app (:func:`darkroom_gateway.app.asgi_app`).

    Attributes:
        sio: The python-socketio server (ASGI mode). Same-origin browsers only (its default
            CORS check); the mobile apps send no ``Origin``.
    """

    def __init__(self) -> None:
        """A server with no connections yet; sockets are refused until :meth:`start`."""
        self.sio = socketio.AsyncServer(async_mode="asgi", logger=False, engineio_logger=False)
        self._deps: Deps | None = None
        self._subs: list[Any] = []
        self.sio.on("connect", self._on_connect)
        self.sio.on("disconnect", self._on_disconnect)

    async def start(self, deps: Deps) -> None:
        """Watch the bus and accept sockets.

        Args:
            deps: The gateway's connections (the bus's stream is ensured first: the gateway
                may start before the services that usually create it).

        Raises:
            nats.errors.Error: NATS refused the stream or a consumer.
        """
        self._deps = deps
        await deps.bus.ensure_stream()
        self._subs = await deps.bus.watch(WATCHED, self.dispatch)
        log.info("realtime.started", watching=[t.subject for t in WATCHED])

    async def stop(self) -> None:
        """Stop watching the bus and refuse new sockets."""
        for sub in self._subs:
            try:
                await sub.unsubscribe()
            except Exception as exc:  # noqa: BLE001 - the connection may be gone already
                log.debug("realtime.unsubscribe_failed", error=str(exc))
        self._subs = []
        self._deps = None

    async def _on_connect(self, sid: str, environ: dict[str, Any], auth: object = None) -> None:
        deps = self._deps
        if deps is None:
            raise socketio.exceptions.ConnectionRefusedError("Server is starting")
        headers = Headers.from_scope(environ["asgi.scope"])
        try:
            caller: Auth = await authenticate_headers(headers, _cookies(headers), deps)
        except ApiError as exc:
            log.info("realtime.refused", reason=exc.message)
            raise socketio.exceptions.ConnectionRefusedError(exc.message) from None
        await self.sio.enter_room(sid, user_room(caller.user.id))
        if caller.session is not None:
            await self.sio.enter_room(sid, session_room(caller.session.id))
        if caller.api_key is not None:
            await self.sio.enter_room(sid, api_key_room(caller.api_key.id))
        major, minor, patch = API_VERSION
        version = ServerVersionResponse(major=major, minor=minor, patch=patch)
        await self.sio.emit(ServerEvent.SERVER_VERSION, msgspec.to_builtins(version), to=sid)
        log.info("realtime.connected", sid=sid, user_id=str(caller.user.id))

    async def _on_disconnect(self, sid: str, reason: object = None) -> None:
        log.info("realtime.disconnected", sid=sid)

    async def emit(self, event: ServerEvent, payload: object, room: str | list[str]) -> None:
        """Send ``event`` with ``payload`` (JSON-able after :func:`msgspec.to_builtins`) to the
        sockets of ``room`` (or of any of a list of rooms, once per socket) connected to this
        process."""
        await self.sio.emit(event.value, immich_payload(payload), room=room)

    async def dispatch(self, event: Event) -> None:
        """Turn one bus event into the server events of the users concerned.

        A new asset (``on_upload_success``, ``AssetUploadReadyV1``) is announced to its owner;
        the other asset events go to every user :func:`asset_audience` names (owner, album
        members, partners); session events to the session's sockets, which are then
        disconnected; a user removed for good and maintenance going on or off to every socket.

        Args:
            event: One of :data:`WATCHED`.
        """
        deps = self._deps
        if deps is None or not self._has_sockets():
            return  # nobody to tell on this replica: no payload is built, no query made
        if isinstance(event, AssetThumbnailGenerated | AssetShown):
            # shown again (a live photo's video unlinked): announced as a new upload, as
            # Immich's AssetShow re-runs the thumbnails with ``notify`` (JobService.onDone)
            await self._asset_ready(deps, uuid.UUID(event.owner_id), uuid.UUID(event.asset_id))
        elif isinstance(event, AssetUpdated):
            await self._asset_updated(deps, uuid.UUID(event.owner_id), uuid.UUID(event.asset_id))
        elif isinstance(event, AssetDeleted):
            rooms = await asset_rooms(deps, event.owner_id, [event.asset_id])
            await self.emit(ServerEvent.ASSET_DELETE, event.asset_id, rooms)
        elif isinstance(event, AssetsTrashed):
            rooms = await asset_rooms(deps, event.owner_id, event.asset_ids)
            await self.emit(ServerEvent.ASSET_TRASH, event.asset_ids, rooms)
        elif isinstance(event, AssetsRestored):
            rooms = await asset_rooms(deps, event.owner_id, event.asset_ids)
            await self.emit(ServerEvent.ASSET_RESTORE, event.asset_ids, rooms)
        elif isinstance(event, AssetHidden):
            rooms = await asset_rooms(deps, event.owner_id, [event.asset_id])
            await self.emit(ServerEvent.ASSET_HIDDEN, event.asset_id, rooms)
        elif isinstance(event, PersonThumbnailUpdated):
            # people are their owner's only (Immich sends it to the owner)
            await self.emit(
                ServerEvent.PERSON_THUMBNAIL, event.person_id, user_room(event.owner_id)
            )
        elif isinstance(event, SessionDeleted):
            room = session_room(event.session_id)
            await self.emit(ServerEvent.SESSION_DELETE, event.session_id, room)
            await self.disconnect_room(room)
        elif isinstance(event, ApiKeyDeleted):
            await self.disconnect_room(api_key_room(event.api_key_id))
        elif isinstance(event, NotificationCreated):  # notifications (#14)
            await self._notification(deps, uuid.UUID(event.notification_id))
        elif isinstance(event, ConfigUpdated):  # system config (#15): every socket, no payload
            await self.sio.emit(ServerEvent.CONFIG_UPDATE.value)
        elif isinstance(event, AssetEditRendered):  # edits (#19): the owner's sockets only
            await self._edit_ready(deps, uuid.UUID(event.owner_id), uuid.UUID(event.asset_id))
        elif isinstance(event, UserDeleted):
            if event.permanent:  # Immich (onUserDelete): every socket, once the user is gone
                await self.emit_all(ServerEvent.USER_DELETE, event.user_id)
        elif isinstance(event, MaintenanceModeChanged):
            # Immich (onAppRestart, endMaintenance): every socket, on and off
            await self.emit_all(ServerEvent.APP_RESTART_V1, {"isMaintenanceMode": event.active})
        elif isinstance(event, StackCreated | StackUpdated | StackDeleted):  # stacks (#16)
            # Immich 3.1 (notification.service.ts) sends it to the stack's owner with no
            # payload at all (its clients reload the timeline); a stack is its owner's alone
            await self.sio.emit(
                ServerEvent.ASSET_STACK_UPDATE.value, room=user_room(event.owner_id)
            )

    async def emit_all(self, event: ServerEvent, payload: object) -> None:
        """Send ``event`` with ``payload`` to every socket connected to this process (Immich's
        ``clientBroadcast``)."""
        await self.sio.emit(event.value, immich_payload(payload))

    def _has_sockets(self) -> bool:
        """Whether any socket is connected to this process (python-socketio keeps every
        connected socket in the namespace's ``None`` room)."""
        return bool(self.sio.manager.rooms.get("/", {}).get(None))

    async def disconnect_room(self, room: str) -> None:
        """Disconnect every socket of ``room`` on this process: the sockets of a session or API
        key that ended, whose credentials no longer hold (a client reconnecting is refused)."""
        sids = [sid for sid, _ in self.sio.manager.get_participants("/", room)]
        for sid in sids:
            await self.sio.disconnect(sid)
        if sids:
            log.info("realtime.closed", room=room, sockets=len(sids))

    async def _asset_ready(self, deps: Deps, owner_id: uuid.UUID, asset_id: uuid.UUID) -> None:
        """``on_upload_success`` (AssetResponseDto), then ``AssetUploadReadyV1`` and ``V2``
        (``{asset: SyncAssetV1/V2, exif: SyncAssetExifV1}``, as Immich 3.1's
        ``JobService.onDone`` after the thumbnails: only with an exif row) to the owner."""
        asset = await assets.get_asset(deps.pool, owner_id, asset_id)
        if asset is None or asset.visibility not in ("timeline", "archive"):
            return  # deleted since, or hidden/locked: Immich announces only what timelines show
        exif_row = await exif.get_exif(deps.pool, owner_id, asset_id)
        # the owner only, as Immich: its clients add what this brings to the main timeline, where
        # another user's photo (an album member's, a partner's) does not belong
        rooms = [user_room(owner_id)]
        shown = await viewer_asset_response(deps, asset, exif_row, as_owner=True)
        await self.emit(ServerEvent.UPLOAD_SUCCESS, shown, rooms)
        if exif_row is not None:  # Immich sends the ready events only with exif
            row = msgspec.structs.asdict(asset)
            exif_sync = sync_exif({**msgspec.structs.asdict(exif_row), "asset_id": asset.id})
            for name, v2 in (
                (ServerEvent.ASSET_UPLOAD_READY_V1, False),
                (ServerEvent.ASSET_UPLOAD_READY_V2, True),
            ):
                await self.emit(name, {"asset": sync_asset(row, v2=v2), "exif": exif_sync}, rooms)
        log.info("realtime.emitted", socket_event="on_upload_success", asset_id=str(asset_id))

    async def _asset_updated(self, deps: Deps, owner_id: uuid.UUID, asset_id: uuid.UUID) -> None:
        """``on_asset_update`` (AssetResponseDto) to the owner and, without the owner's private
        fields, to the rest of :func:`asset_audience`; an asset in the locked folder to its owner
        alone (Immich sends every ``on_asset_update`` to the owner only, and no partner or album
        member ever sees a locked asset)."""
        asset = await assets.get_asset(deps.pool, owner_id, asset_id)
        if asset is None:
            return
        exif_row = await exif.get_exif(deps.pool, owner_id, asset_id)
        mine = await viewer_asset_response(deps, asset, exif_row, as_owner=True)
        await self.emit(ServerEvent.ASSET_UPDATE, mine, user_room(owner_id))
        if asset.visibility == "locked":
            return
        rooms = await asset_rooms(deps, owner_id, [asset_id])
        others = [r for r in rooms if r != user_room(owner_id)]
        if others:  # album members and partners see it without the owner's private fields
            theirs = await viewer_asset_response(deps, asset, exif_row, as_owner=False)
            await self.emit(ServerEvent.ASSET_UPDATE, theirs, others)

    async def _edit_ready(self, deps: Deps, owner_id: uuid.UUID, asset_id: uuid.UUID) -> None:
        """``AssetEditReadyV1`` and ``AssetEditReadyV2`` (``{asset: SyncAssetV1/V2, edit:
        SyncAssetEditV1[]}``, as Immich 3.1's ``JobService.onDone`` sends them after
        ``AssetEditThumbnailGeneration``) to the owner's sockets: the edited renderings are
        ready. Each edit item has the asset id and its place (the mobile app's
        ``SyncAssetEditV1.fromJson`` requires both)."""
        asset = await assets.get_asset(deps.pool, owner_id, asset_id)
        if asset is None:
            return
        edits = await asset_edits.list_edits(deps.pool, asset_id)
        row = {**msgspec.structs.asdict(asset), "is_edited": bool(edits)}
        items = [
            {
                "id": str(e.id),
                "assetId": str(e.asset_id),
                "action": e.action,
                "parameters": e.parameters,
                "sequence": e.sequence,
            }
            for e in edits
        ]
        for name, v2 in (
            (ServerEvent.ASSET_EDIT_READY_V1, False),
            (ServerEvent.ASSET_EDIT_READY_V2, True),
        ):
            payload = {"asset": sync_asset(row, v2=v2), "edit": items}
            await self.emit(name, payload, user_room(owner_id))
        log.info("realtime.emitted", socket_event="AssetEditReadyV1", asset_id=str(asset_id))

    async def _notification(self, deps: Deps, notification_id: uuid.UUID) -> None:
        """``on_notification`` (NotificationDto) to the sockets of the notification's user."""
        item = await notifications.get(deps.pool, notification_id)
        if item is None:  # deleted since
            return
        payload = notification_response(item)
        await self.emit(ServerEvent.NOTIFICATION, payload, user_room(item.user_id))
        log.info("realtime.emitted", socket_event="on_notification", notification_id=str(item.id))


async def asset_audience(
    deps: Deps, owner_id: uuid.UUID | str, asset_ids: Sequence[uuid.UUID | str]
) -> set[uuid.UUID]:
    """The users an event about ``owner_id``'s assets ``asset_ids`` is sent to.

    The owner, the owners and members of the albums holding the assets
    (:func:`darkroom_db.albums.users_seeing_assets`) and the owner's partners (every one: an
    event about an asset a client does not hold changes nothing there). Read from the database
    when the event is emitted, so every gateway replica computes the same set whatever it has
    seen before.

    Args:
        deps: The gateway's connections (its database pool).
        owner_id: The assets' owner.
        asset_ids: The assets the event is about.

    Returns:
        The user ids (never empty: the owner is always in it).
    """
    owner = uuid.UUID(str(owner_id))
    ids = [uuid.UUID(str(i)) for i in asset_ids]
    users = {owner}
    users |= await albums.users_seeing_assets(deps.pool, ids)
    users |= set(await partners.partner_user_ids(deps.pool, owner))
    return users


async def asset_rooms(
    deps: Deps, owner_id: uuid.UUID | str, asset_ids: Sequence[uuid.UUID | str]
) -> list[str]:
    """The rooms of :func:`asset_audience` (one per user)."""
    return [user_room(u) for u in sorted(await asset_audience(deps, owner_id, asset_ids))]
