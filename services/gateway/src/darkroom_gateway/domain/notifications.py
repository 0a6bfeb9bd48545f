"""In-app notifications, /api/notifications and /api/admin/notifications, and the one function
every notification is made with (:func:`notify`).

As Immich 3.1 (its ``NotificationService``; the spec's "Notifications" and "Notifications
(admin)" tags): a user reads, marks read/unread and deletes their own notifications; an id that
is not theirs gets 400 ``Not found or no notification.<action> access``. Made for:

- an album invite (:func:`album_invited`, type ``AlbumInvite``), with an e-mail;
- new media in a shared album (:func:`album_updated`, type ``AlbumUpdate``) for the other
  members, debounced: no new one while the member has an unread one of that album younger than
  :data:`ALBUM_UPDATE_DEBOUNCE` (Immich delays and merges its album update e-mail by as much);
  with an e-mail;
- a pipeline job that failed for good (``JobFailed``, for the admins; made by the services'
  dead-letter hook, :mod:`darkroom_runtime.runner`);
- an admin's ``POST /api/admin/notifications``.

Immich makes none for comments and likes, and neither does Darkroom.

Each new notification is published as ``darkroom.notification.created`` (the websocket sends it
to the user's sockets as ``on_notification``, :mod:`darkroom_gateway.realtime`), and when
e-mail is configured, ``darkroom.notification.email.requested`` for the mail queue
(:mod:`darkroom_gateway.mail`). The admin's test e-mail is the one e-mail sent inside a request:
Immich answers it with the message id.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any

import msgspec
import structlog
from darkroom_db import albums, notifications, users
from darkroom_db.notifications import NotificationLevel, NotificationType
from darkroom_events import AlbumShared, NotificationCreated, NotificationEmailRequested
from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from darkroom_gateway import mail
from darkroom_gateway.announce import announce
from darkroom_gateway.auth import Auth
from darkroom_gateway.deps import Deps
from darkroom_gateway.errors import BadRequest
from darkroom_gateway.permissions import require_access

log = structlog.get_logger()

#: Quiet time of album update notifications per member and album (Immich's
#: ``albumUpdateEmailDelayMs``, 300 000 ms).
ALBUM_UPDATE_DEBOUNCE = timedelta(minutes=5)


class NotificationResponse(
    msgspec.Struct, frozen=True, kw_only=True, rename="camel", omit_defaults=True
):
    """Spec: NotificationDto (``description``, ``data`` and ``readAt`` left out when unset)."""

    id: str
    created_at: datetime
    type: NotificationType
    level: NotificationLevel
    title: str
    description: str | None = None
    data: dict[str, Any] | None = None
    read_at: datetime | None = None


class NotificationUpdate(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: NotificationUpdateDto (``readAt`` null: unread; absent: unchanged)."""

    read_at: datetime | None | msgspec.UnsetType = msgspec.UNSET


class NotificationUpdateAll(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: NotificationUpdateAllDto."""

    ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1)]
    read_at: datetime | None | msgspec.UnsetType = msgspec.UNSET


class NotificationDeleteAll(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: NotificationDeleteAllDto."""

    ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1)]


class NotificationCreate(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: NotificationCreateDto."""

    title: str
    user_id: uuid.UUID
    type: NotificationType = "Custom"
    level: NotificationLevel = "info"
    description: str | None = None
    data: dict[str, Any] | None = None
    read_at: datetime | None = None


class SmtpTransport(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: SystemConfigSmtpTransportDto."""

    host: str
    port: Annotated[int, msgspec.Meta(ge=0, le=65535)]
    username: str
    password: str
    secure: bool
    ignore_cert: bool


class SmtpConfig(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: SystemConfigSmtpDto."""

    enabled: bool
    from_: str = msgspec.field(name="from")
    reply_to: str
    transport: SmtpTransport


class TestEmailResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: TestEmailResponseDto."""

    message_id: str


class Template(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: TemplateDto (an HTML template to preview instead of the built-in one; may be
    empty)."""

    template: str


class TemplateResponse(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: TemplateResponseDto."""

    name: str
    html: str


def notification_response(item: notifications.Notification) -> NotificationResponse:
    """Map a notification to NotificationDto."""
    return NotificationResponse(
        id=str(item.id),
        created_at=item.created_at,
        type=item.type,  # type: ignore[arg-type]  # the table's CHECK keeps it one of them
        level=item.level,  # type: ignore[arg-type]
        title=item.title,
        description=item.description,
        data=item.data,
        read_at=item.read_at,
    )


async def notify(
    deps: Deps,
    *,
    user_id: uuid.UUID,
    type: NotificationType,  # noqa: A002 - the spec's field name
    title: str,
    level: NotificationLevel = "info",
    description: str | None = None,
    data: dict[str, Any] | None = None,
    read_at: datetime | None = None,
    email: bool = False,
) -> notifications.Notification:
    """Make one notification: store it, tell the user's sockets, queue its e-mail.

    Args:
        deps: Connections.
        user_id: The recipient.
        type: NotificationType.
        title: Short title.
        level: NotificationLevel.
        description: Longer text.
        data: JSON object for the client (``{"albumId": ...}`` for album notifications).
        read_at: Already read at (an admin may create it read).
        email: Also e-mail it when SMTP is configured (the user's preference is checked when
            it is sent).

    Returns:
        The notification.
    """
    item = await notifications.create(
        deps.pool,
        user_id=user_id,
        type=type,
        level=level,
        title=title,
        description=description,
        data=data,
        read_at=read_at,
    )
    log.info("notification.created", notification_id=str(item.id), type=type)
    notification_id, recipient = str(item.id), str(user_id)
    await announce(
        deps, NotificationCreated(notification_id=notification_id, user_id=recipient, type=type)
    )
    if email and mail.smtp_settings(deps).enabled:
        await announce(
            deps, NotificationEmailRequested(notification_id=notification_id, user_id=recipient)
        )
    return item


async def album_invited(
    deps: Deps, album_id: uuid.UUID, owner: users.User, user_ids: Sequence[uuid.UUID]
) -> None:
    """An album was shared with ``user_ids``: an AlbumInvite notification (and e-mail) each,
    and ``darkroom.album.shared``."""
    if not user_ids:
        return
    album = await albums.get_album(deps.pool, owner.id, album_id)
    if album is None:
        return
    for user_id in user_ids:
        await notify(
            deps,
            user_id=user_id,
            type="AlbumInvite",
            title="Shared album invitation",
            description=f"{owner.name} shared an album ({album.album_name}) with you",
            data={"albumId": str(album_id)},
            email=True,
        )
    await announce(
        deps,
        AlbumShared(
            album_id=str(album_id),
            owner_id=str(owner.id),
            user_ids=[str(u) for u in user_ids],
            at=datetime.now().astimezone(),
        ),
    )


async def album_updated(deps: Deps, album_ids: Sequence[uuid.UUID], actor_id: uuid.UUID) -> None:
    """New media went into albums: an AlbumUpdate notification (and e-mail) for each other
    member and the owner, unless they have an unread one of that album younger than
    :data:`ALBUM_UPDATE_DEBOUNCE`."""
    for album_id in dict.fromkeys(album_ids):
        album = await albums.get_album(deps.pool, actor_id, album_id)
        if album is None or not album.shared:
            continue
        members = (await albums.members_of(deps.pool, [album]))[album_id]
        for member in members:
            recipient = member.user.id
            if recipient == actor_id or await notifications.recent_album_update(
                deps.pool, recipient, album_id, ALBUM_UPDATE_DEBOUNCE
            ):
                continue
            await notify(
                deps,
                user_id=recipient,
                type="AlbumUpdate",
                title="Shared album update",
                description=f"New media has been added to the album ({album.album_name})",
                data={"albumId": str(album_id)},
                email=True,
            )


class NotificationController(Controller):
    """/api/notifications: the caller's own notifications."""

    path = "/api/notifications"

    @get("/", permission="notification.read")
    async def get_notifications(
        self,
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
        notification_id: Annotated[uuid.UUID | None, QueryParameter(name="id")] = None,
        level: Annotated[NotificationLevel | None, QueryParameter(name="level")] = None,
        kind: Annotated[NotificationType | None, QueryParameter(name="type")] = None,
        unread: Annotated[bool | None, QueryParameter(name="unread")] = None,
    ) -> list[NotificationResponse]:
        """The caller's notifications, newest first, filtered."""
        found = await notifications.search(
            deps.pool,
            auth.user.id,
            notification_id=notification_id,
            type=kind,
            level=level,
            unread=unread,
        )
        return [notification_response(n) for n in found]

    @put("/", status_code=204, permission="notification.update")
    async def update_notifications(
        self,
        data: JSONBody[NotificationUpdateAll],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> None:
        """Mark several notifications read (``readAt``) or unread (``readAt: null``).

        Raises:
            NoAccess: One of the ids is not the caller's (``notification.update``).
        """
        require_access(
            await notifications.all_owned(deps.pool, auth.user.id, data.ids),
            "notification.update",
        )
        if data.read_at is not msgspec.UNSET:
            await notifications.set_read(deps.pool, data.ids, data.read_at)

    @delete("/", status_code=204, permission="notification.delete")
    async def delete_notifications(
        self,
        data: JSONBody[NotificationDeleteAll],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> None:
        """Delete several notifications.

        Raises:
            NoAccess: One of the ids is not the caller's (``notification.delete``).
        """
        require_access(
            await notifications.all_owned(deps.pool, auth.user.id, data.ids),
            "notification.delete",
        )
        await notifications.delete(deps.pool, data.ids)

    @get("/{notification_id:uuid}", permission="notification.read")
    async def get_notification(
        self,
        notification_id: FromPath[uuid.UUID],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> NotificationResponse:
        """One of the caller's notifications.

        Raises:
            NoAccess: Not the caller's, or no such id (``notification.read``).
        """
        item = require_access(
            await notifications.owned(deps.pool, auth.user.id, notification_id),
            "notification.read",
        )
        return notification_response(item)

    @put("/{notification_id:uuid}", permission="notification.update")
    async def update_notification(
        self,
        notification_id: FromPath[uuid.UUID],
        data: JSONBody[NotificationUpdate],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> NotificationResponse:
        """Mark one notification read or unread.

        Raises:
            NoAccess: Not the caller's, or no such id (``notification.update``).
        """
        item = require_access(
            await notifications.owned(deps.pool, auth.user.id, notification_id),
            "notification.update",
        )
        if data.read_at is not msgspec.UNSET:
            item = (await notifications.set_read(deps.pool, [notification_id], data.read_at))[0]
        return notification_response(item)

    @delete("/{notification_id:uuid}", status_code=204, permission="notification.delete")
    async def delete_notification(
        self,
        notification_id: FromPath[uuid.UUID],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> None:
        """Delete one notification.

        Raises:
            NoAccess: Not the caller's, or no such id (``notification.delete``).
        """
        require_access(
            await notifications.owned(deps.pool, auth.user.id, notification_id),
            "notification.delete",
        )
        await notifications.delete(deps.pool, [notification_id])


class NotificationAdminController(Controller):
    """/api/admin/notifications (admins only)."""

    path = "/api/admin/notifications"

    @post("/", status_code=201, admin=True)
    async def create_notification(
        self,
        data: JSONBody[NotificationCreate],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> NotificationResponse:
        """A notification for a user, sent to their sockets like any other.

        Raises:
            BadRequest: No such user.
        """
        if not await albums.existing_users(deps.pool, [data.user_id]):
            raise BadRequest("User not found")
        item = await notify(
            deps,
            user_id=data.user_id,
            type=data.type,
            title=data.title,
            level=data.level,
            description=data.description,
            data=data.data,
            read_at=data.read_at,
        )
        return notification_response(item)

    @post("/test-email", status_code=200, admin=True)
    async def send_test_email_admin(
        self, data: JSONBody[SmtpConfig], auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> TestEmailResponse:
        """Send the test e-mail to the calling admin through the SMTP configuration given (not
        the server's), as Immich: checked first, then sent at once.

        Raises:
            BadRequest: The server could not be reached or refused the login or the message.
        """
        smtp = mail.settings_of(data, deps.settings.smtp.timeout_s)
        try:
            await mail.verify(smtp)
        except mail.SendError as exc:
            log.info("mail.verify_failed", error=str(exc))
            raise BadRequest("Failed to verify SMTP configuration") from exc
        rendered = mail.render(
            "test", {"displayName": auth.user.name, "baseUrl": deps.settings.base_url}
        )
        assert rendered is not None
        subject, body, text = rendered
        try:
            message_id = await mail.send(
                smtp, to=auth.user.email, subject=subject, html_body=body, text=text
            )
        except mail.SendError as exc:
            log.info("mail.test_failed", error=str(exc))
            raise BadRequest(f"Failed to send test email: {exc}") from exc
        log.info("mail.test_sent", user_id=str(auth.user.id))
        return TestEmailResponse(message_id=message_id)

    @post("/templates/{name:str}", status_code=200, admin=True)
    async def get_notification_template_admin(
        self,
        name: FromPath[str],
        data: JSONBody[Template],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> TemplateResponse:
        """Preview an e-mail template (``album-invite``, ``album-update``, ``test``) with sample
        values, or the HTML template given instead; an unknown name previews as empty HTML, as
        Immich."""
        values = {**mail.PREVIEW_DATA.get(name, {}), "baseUrl": deps.settings.base_url}
        rendered = mail.render(name, values, data.template)
        return TemplateResponse(name=name, html=rendered[1] if rendered else "")


ROUTES = [NotificationController, NotificationAdminController]
