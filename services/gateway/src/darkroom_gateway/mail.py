"""E-mail: SMTP settings, the templates, sending, and the queue that sends notification e-mails.

Mirrors Immich's ``notifications.smtp`` configuration (``SystemConfigSmtpDto``) and its e-mail
templates (album invite, album update, test e-mail; ``server/src/emails``), written anew: each
template is an HTML and a plain-text body with ``{tag}`` placeholders, the tags Immich's custom
templates use (``{albumName}``, ``{recipientName}``, ``{senderName}``, ``{albumId}``,
``{baseUrl}``, ``{displayName}``). Values are HTML-escaped in the HTML body.

E-mails are never sent inside a request (but the admin's test e-mail, which Immich answers with
the message id): a route publishes ``darkroom.notification.email.requested`` with the
notification's id, and the durable JetStream consumer ``gateway-mail`` (shared by every gateway
replica, run in the gateway's lifespan by :func:`run_mail_queue`) renders and sends it. A failed
send is retried with backoff by the bus runner, then dead-lettered into ``job_failures``; a
redelivered request whose notification was e-mailed already is acknowledged without sending
(``notification.emailed_at``).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import re
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import TYPE_CHECKING, Any

import aiosmtplib
import msgspec
import structlog
from darkroom_bus import DeadLetter, subscribe
from darkroom_db import albums, jobs, notifications, users
from darkroom_events import NotificationEmailRequested
from litestar import Litestar

if TYPE_CHECKING:  # settings.py imports this module for SmtpSettings
    from darkroom_gateway.deps import Deps

log = structlog.get_logger()


class SmtpSettings(msgspec.Struct, frozen=True, kw_only=True):
    """How to send e-mail (``DARKROOM_SMTP_*``), as Immich's ``notifications.smtp``.

    One struct, so that a live system configuration can replace it later.

    Attributes:
        host: SMTP server (``DARKROOM_SMTP_HOST``); empty (the default) sends no e-mail.
        port: Its port (``DARKROOM_SMTP_PORT``; 587, submission).
        username: Login (``DARKROOM_SMTP_USERNAME``); empty: no login.
        password: Its password (``DARKROOM_SMTP_PASSWORD``; a secret: never logged, not in
            ``repr``).
        from_: Sender address (``DARKROOM_SMTP_FROM``), e.g. ``Darkroom <photos@example.org>``.
        reply_to: Reply-To address (``DARKROOM_SMTP_REPLY_TO``); empty: ``from_``.
        secure: TLS from the first byte (``DARKROOM_SMTP_SECURE``, port 465 style); otherwise
            STARTTLS is used when the server offers it (nodemailer's behaviour, which Immich
            uses).
        ignore_cert: Accept any server certificate (``DARKROOM_SMTP_IGNORE_CERT``).
        timeout_s: Seconds one SMTP exchange may take (``DARKROOM_SMTP_TIMEOUT_S``).
    """

    host: str = ""
    port: int = 587
    username: str = ""
    password: str = msgspec.field(default="")
    from_: str = ""
    reply_to: str = ""
    secure: bool = False
    ignore_cert: bool = False
    timeout_s: float = 30.0

    @property
    def enabled(self) -> bool:
        """Whether e-mail is configured (a host and a sender)."""
        return bool(self.host and self.from_)

    def __repr__(self) -> str:
        """The settings without the password."""
        return f"SmtpSettings(host={self.host!r}, port={self.port}, from_={self.from_!r})"


class SendError(Exception):
    """The SMTP server could not be reached or refused the message."""


#: Template name -> (subject, HTML body, text body). Names as Immich's ``EmailTemplate``.
TEMPLATES: dict[str, tuple[str, str, str]] = {
    "album-invite": (
        "You have been added to a shared album - {albumName}",
        "<!doctype html><html><body><h1>Hey {recipientName}!</h1>"
        "<p>{senderName} has added you to the album <strong>{albumName}</strong>.</p>"
        '<p><a href="{baseUrl}/albums/{albumId}">View album</a></p></body></html>',
        "Hey {recipientName}!\n\n{senderName} has added you to the album {albumName}.\n\n"
        "View album: {baseUrl}/albums/{albumId}\n",
    ),
    "album-update": (
        "New media has been added to an album - {albumName}",
        "<!doctype html><html><body><h1>Hey {recipientName}!</h1>"
        "<p>New media has been added to <strong>{albumName}</strong>.</p>"
        '<p><a href="{baseUrl}/albums/{albumId}">View album</a></p></body></html>',
        "Hey {recipientName}!\n\nNew media has been added to {albumName}.\n\n"
        "View album: {baseUrl}/albums/{albumId}\n",
    ),
    "test": (
        "Test email from Darkroom",
        "<!doctype html><html><body><h1>Hey {displayName}!</h1>"
        "<p>This is a test e-mail from your Darkroom server: e-mail works.</p>"
        '<p><a href="{baseUrl}">Open Darkroom</a></p></body></html>',
        "Hey {displayName}!\n\nThis is a test e-mail from your Darkroom server: e-mail works.\n\n"
        "{baseUrl}\n",
    ),
}

#: Sample values of the template preview (``POST /api/admin/notifications/templates/{name}``),
#: as Immich's preview.
PREVIEW_DATA: dict[str, dict[str, str]] = {
    "album-invite": {
        "albumId": "1",
        "albumName": "John Doe's Favorites",
        "senderName": "John Doe",
        "recipientName": "Jane Doe",
    },
    "album-update": {"albumId": "1", "albumName": "Favorite Photos", "recipientName": "Jane Doe"},
    "test": {"displayName": "John Doe"},
}

_TAG = re.compile(r"\{(\w+)\}")


def fill(template: str, values: Mapping[str, str], *, escape: bool) -> str:
    """Replace each ``{tag}`` of ``template`` by its value (HTML-escaped when ``escape``);
    unknown tags are left as they are (as Immich's ``replaceTemplateTags``)."""

    def one(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        if value is None:
            return match.group(0)
        return html.escape(value) if escape else value

    return _TAG.sub(one, template)


def render(
    name: str, values: Mapping[str, str], custom_html: str = ""
) -> tuple[str, str, str] | None:
    """A template filled in: (subject, HTML, text), or None for an unknown template name.

    Args:
        name: ``album-invite``, ``album-update`` or ``test``.
        values: Tag values (unescaped).
        custom_html: An HTML template to use instead of the built-in one (its tags filled the
            same way).
    """
    found = TEMPLATES.get(name)
    if found is None:
        return None
    subject, body, text = found
    return (
        fill(subject, values, escape=False),
        fill(custom_html or body, values, escape=True),
        fill(text, values, escape=False),
    )


#: How a send or a check fails for a reason of the configuration or the server: SMTP errors,
#: socket errors, and the ``ValueError`` (``UnicodeError`` included) that a host name that is
#: empty or no valid IDNA name raises while connecting.
_SMTP_FAILURES = (aiosmtplib.SMTPException, OSError, ValueError)


async def send(smtp: SmtpSettings, *, to: str, subject: str, html_body: str, text: str) -> str:
    """Send one e-mail (HTML with a plain-text alternative) through ``smtp``.

    Args:
        smtp: The server and sender.
        to: Recipient address.
        subject: Subject line.
        html_body: HTML body.
        text: Plain-text body.

    Returns:
        The message's ``Message-ID``.

    Raises:
        SendError: The server is unreachable, refused the login or the message.
    """
    message = EmailMessage()
    message["From"] = smtp.from_
    message["To"] = to
    message["Reply-To"] = smtp.reply_to or smtp.from_
    message["Subject"] = subject
    domain = smtp.from_.rsplit("@", 1)[-1].strip(" >") or None
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(text)
    message.add_alternative(html_body, subtype="html")
    try:
        await aiosmtplib.send(
            message,
            hostname=smtp.host,
            port=smtp.port,
            username=smtp.username or None,
            password=smtp.password or None,
            use_tls=smtp.secure,
            start_tls=None if not smtp.secure else False,  # None: STARTTLS when offered
            validate_certs=not smtp.ignore_cert,
            timeout=smtp.timeout_s,
        )
    except _SMTP_FAILURES as exc:
        raise SendError(f"{type(exc).__name__}: {exc}") from exc
    return str(message["Message-ID"])


async def verify(smtp: SmtpSettings) -> None:
    """Connect (and log in, when a username is set) to check a configuration, as Immich's
    ``verifySmtp``.

    Raises:
        SendError: It did not work.
    """
    client = aiosmtplib.SMTP(
        hostname=smtp.host,
        port=smtp.port,
        use_tls=smtp.secure,
        start_tls=None if not smtp.secure else False,
        validate_certs=not smtp.ignore_cert,
        timeout=smtp.timeout_s,
    )
    try:
        await client.connect()
        if smtp.username:
            await client.login(smtp.username, smtp.password)
        await client.quit()
    except _SMTP_FAILURES as exc:
        raise SendError(f"{type(exc).__name__}: {exc}") from exc


@dataclass(frozen=True)
class MailContext:
    """What the mail queue's handler needs: the gateway's connections (the SMTP server and the
    links' base URL are read from the system config in force at send time)."""

    deps: Deps


def smtp_settings(deps: Deps) -> SmtpSettings:
    """The SMTP server of the system config in force (``notifications.smtp``, read live; the
    ``DARKROOM_SMTP_*`` variables are its defaults), with ``DARKROOM_SMTP_TIMEOUT_S``. Not
    ``enabled`` (no host) while the config turns e-mail off."""
    smtp = deps.config.current.notifications.smtp
    return settings_of(smtp, deps.settings.smtp.timeout_s, enabled=smtp.enabled)


def settings_of(smtp: Any, timeout_s: float, *, enabled: bool = True) -> SmtpSettings:
    """:class:`SmtpSettings` of an SMTP section shaped as Immich's ``SystemConfigSmtpDto``
    (``transport``, ``from``, ``replyTo``): the config in force, one about to be saved, or the
    one a test e-mail names.

    Args:
        smtp: The section (any struct with those fields).
        timeout_s: Connection and command timeout, seconds (``DARKROOM_SMTP_TIMEOUT_S``).
        enabled: False gives no host (e-mail off).
    """
    transport = smtp.transport
    return SmtpSettings(
        host=transport.host if enabled else "",
        port=transport.port,
        username=transport.username,
        password=transport.password,
        from_=smtp.from_,
        reply_to=smtp.reply_to,
        secure=transport.secure,
        ignore_cert=transport.ignore_cert,
        timeout_s=timeout_s,
    )


def base_url(deps: Deps) -> str:
    """Links' base in e-mails: system config ``server.externalDomain`` (``DARKROOM_EXTERNAL_
    DOMAIN`` its default), else ``http://localhost:<port>``."""
    return deps.config.current.server.external_domain.rstrip("/") or deps.settings.base_url


#: Template and the user preference (``emailNotifications.<key>``) of each notification type
#: that is e-mailed.
EMAILED_TYPES: dict[str, tuple[str, str]] = {
    "AlbumInvite": ("album-invite", "album_invite"),
    "AlbumUpdate": ("album-update", "album_update"),
}


@subscribe(
    NotificationEmailRequested,
    durable="gateway-mail",
    max_deliver=6,
    backoff=(5, 30, 120, 600, 1800),
    concurrency=2,
    skip_if_gone=False,
)
async def send_notification_email(event: NotificationEmailRequested, ctx: MailContext) -> None:
    """Send the e-mail of one notification (album invite or update), at most once.

    Acknowledged without sending when the notification is gone or e-mailed already, the user
    is deleted, or their preference (``emailNotifications.enabled`` and ``albumInvite`` /
    ``albumUpdate``) is off at send time, as Immich checks it in its job.

    Raises:
        SendError: The SMTP server failed (the runner retries with backoff).
    """
    from darkroom_gateway.domain.users import preferences_response  # routes import us

    pool = ctx.deps.pool
    item = await notifications.get(pool, uuid.UUID(event.notification_id))
    if item is None or item.emailed_at is not None or item.type not in EMAILED_TYPES:
        return
    template, preference = EMAILED_TYPES[item.type]
    user = await users.get_user(pool, item.user_id)
    if user is None or user.deleted_at is not None:
        return
    smtp = smtp_settings(ctx.deps)
    if not smtp.enabled:
        log.info("mail.skipped", notification_id=event.notification_id, reason="smtp off")
        return
    prefs = preferences_response(await users.get_preferences(pool, user.id) or {})
    wanted = prefs.email_notifications
    if not wanted.enabled or not getattr(wanted, preference):
        log.info("mail.skipped", notification_id=event.notification_id, reason="preference")
        return
    album_id = str((item.data or {}).get("albumId", ""))
    album = await albums.get_album(pool, item.user_id, uuid.UUID(album_id)) if album_id else None
    if album is None:
        return
    owner = await users.get_user(pool, album.owner_id)
    values = {
        "albumId": album_id,
        "albumName": album.album_name,
        "recipientName": user.name,
        "senderName": owner.name if owner else "",
        "baseUrl": base_url(ctx.deps),
    }
    rendered = render(template, values)
    assert rendered is not None
    subject, body, text = rendered
    await send(smtp, to=user.email, subject=subject, html_body=body, text=text)
    await notifications.mark_emailed(pool, item.id)
    log.info("mail.sent", notification_id=event.notification_id, template=template)


async def run_mail_queue(deps: Deps, stop: asyncio.Event) -> None:
    """Consume ``darkroom.notification.email.requested`` until ``stop`` is set (the gateway's
    lifespan runs it); dead letters go to ``job_failures``."""

    async def dead_letter(letter: DeadLetter) -> None:
        await jobs.record_failure(
            deps.pool,
            subject=letter.subject,
            durable="gateway-mail",
            stream_seq=letter.stream_seq,
            deliveries=letter.deliveries,
            error=letter.error,
            permanent=letter.permanent,
            payload=letter.payload,
            asset_id=None,
        )

    ctx = MailContext(deps=deps)
    await deps.bus.run(
        [send_notification_email],
        ctx,
        on_dead_letter=dead_letter,
        stop=stop,
        publish_failures=False,
    )


async def _consume_forever(deps: Deps, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await run_mail_queue(deps, stop)
        except Exception as exc:  # noqa: BLE001 - NATS away for now: start the consumer again
            log.warning("mail.queue_failed", error=f"{type(exc).__name__}: {exc}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=5.0)


@contextlib.asynccontextmanager
async def mail_queue(app: Litestar) -> AsyncIterator[None]:
    """Litestar lifespan: run the mail queue (:func:`run_mail_queue`) while the gateway runs;
    every replica runs it, sharing the one durable consumer. It runs even while SMTP is off:
    an admin may turn e-mail on in the system config at any time (no e-mail is requested
    while it is off).

    Args:
        app: The gateway application (``app.state.deps`` must be set).

    Yields:
        While the application runs.
    """
    deps: Deps = app.state.deps
    stop = asyncio.Event()
    task = asyncio.create_task(_consume_forever(deps, stop))
    smtp = smtp_settings(deps)
    log.info("mail.queue_started", enabled=smtp.enabled, host=smtp.host, port=smtp.port)
    try:
        yield
    finally:
        stop.set()
        await task
