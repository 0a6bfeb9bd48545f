"""Notifications (/api/notifications, /api/admin/notifications) and their e-mails, over HTTP
against a stack whose gateway sends mail to a real SMTP server on loopback (aiosmtpd).

What this proves: an album invite makes an in-app notification, sent on the invitee's socket as
``on_notification`` (NotificationDto) and e-mailed through the queue; no e-mail when the user
turned the preference off; new media in a shared album notifies the other members once within
the debounce; read/unread/delete of one's own notifications, and Immich's refusal for another
user's; the admin's test e-mail arrives, templates render escaped; a non-admin is refused on
the admin routes.
"""

from __future__ import annotations

import asyncio
import email
import struct
import time
import uuid
from collections.abc import Callable, Iterator
from email.message import Message
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from darkroom_stack.servers import free_port
from darkroom_stack.supervisor import Stack

from .conftest import User, first_admin, make_user, running_stack
from .test_albums import upload_new
from .test_socketio import Listener, check_schema

#: Generous: a busy 2-core machine (the mail queue, the websocket fan-out).
CEILING_S = 120.0


class Inbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        self.messages.append(email.message_from_bytes(envelope.content, policy=default_policy))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]

    def wait_for(self, address: str, match: Callable[[Message], bool] = lambda _: True) -> Message:
        deadline = time.monotonic() + CEILING_S
        while time.monotonic() < deadline:
            for message in self.to(address):
                if match(message):
                    return message
            time.sleep(0.2)
        raise AssertionError(f"no e-mail to {address} in {CEILING_S} s")


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server on loopback, on a free port."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def mail_stack(
    tmp_path_factory: pytest.TempPathFactory, smtp: tuple[Inbox, int]
) -> Iterator[Stack]:
    """A stack (ingest and gateway: albums need no processing) sending mail to :func:`smtp`."""
    _, port = smtp
    env = {
        "DARKROOM_SMTP_HOST": "127.0.0.1",
        "DARKROOM_SMTP_PORT": str(port),
        "DARKROOM_SMTP_FROM": "Darkroom <photos@darkroom.test>",
        "DARKROOM_SMTP_PASSWORD": "never-logged-smtp-secret",
        "DARKROOM_EXTERNAL_DOMAIN": "https://photos.darkroom.test",
    }
    with running_stack(
        tmp_path_factory.mktemp("mail-stack"), services=("ingest", "gateway"), env=env
    ) as running:
        yield running


@pytest.fixture(scope="module")
def mail_admin(mail_stack: Stack) -> User:
    return first_admin(mail_stack)


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json() if r.content else None


def invites(user: User, album_id: str) -> list[dict[str, Any]]:
    found = ok(user.client.get("/api/notifications", params={"type": "AlbumInvite"}))
    return [n for n in found if n.get("data", {}).get("albumId") == album_id]


async def test_album_invite_notifies_on_socket_and_by_email(
    mail_stack: Stack, mail_admin: User, smtp: tuple[Inbox, int]
) -> None:
    inbox, _ = smtp
    owner = await asyncio.to_thread(make_user, mail_stack, mail_admin)
    guest = await asyncio.to_thread(make_user, mail_stack, mail_admin)
    listener = Listener()
    got = listener._recorder("on_notification")
    listener.sio.on("on_notification", got)
    await listener.connect(mail_stack.url, {"x-api-key": guest.api_key})
    try:
        await listener.wait_for("on_server_version", lambda _: True)
        album = ok(
            await asyncio.to_thread(
                owner.client.post,
                "/api/albums",
                json={"albumName": "Summer <b>2024</b>"},
            ),
            201,
        )
        r = await asyncio.to_thread(
            owner.client.put,
            f"/api/albums/{album['id']}/users",
            json={"albumUsers": [{"userId": guest.id, "role": "viewer"}]},
        )
        ok(r)
        pushed = await listener.wait_for(
            "on_notification", lambda n: n.get("data", {}).get("albumId") == album["id"]
        )
    finally:
        await listener.sio.disconnect()
    check_schema(pushed, "NotificationDto")
    assert pushed["type"] == "AlbumInvite" and "readAt" not in pushed

    listed = invites(guest, album["id"])
    assert [n["id"] for n in listed] == [pushed["id"]]
    check_schema(listed[0], "NotificationDto")
    assert invites(owner, album["id"]) == []

    message = await asyncio.to_thread(inbox.wait_for, guest.email)
    assert "Summer <b>2024</b>" in message["Subject"]
    assert message["From"] == "Darkroom <photos@darkroom.test>"
    html_part = message.get_body(("html",))
    assert html_part is not None
    html = html_part.get_content()
    assert "Summer &lt;b&gt;2024&lt;/b&gt;" in html and "<b>2024" not in html  # escaped
    assert f"https://photos.darkroom.test/albums/{album['id']}" in html
    text_part = message.get_body(("plain",))
    assert text_part is not None and "Summer <b>2024</b>" in text_part.get_content()


def test_no_email_when_the_preference_is_off(
    mail_stack: Stack, mail_admin: User, smtp: tuple[Inbox, int]
) -> None:
    inbox, _ = smtp
    owner = make_user(mail_stack, mail_admin)
    quiet, loud = make_user(mail_stack, mail_admin), make_user(mail_stack, mail_admin)
    off = {"emailNotifications": {"albumInvite": False}}
    assert quiet.client.put("/api/users/me/preferences", json=off).status_code == 200
    first = ok(owner.client.post("/api/albums", json={"albumName": "quiet"}), 201)
    ok(
        owner.client.put(
            f"/api/albums/{first['id']}/users", json={"albumUsers": [{"userId": quiet.id}]}
        )
    )
    second = ok(owner.client.post("/api/albums", json={"albumName": "loud"}), 201)
    ok(
        owner.client.put(
            f"/api/albums/{second['id']}/users", json={"albumUsers": [{"userId": loud.id}]}
        )
    )
    # the queue handled the quiet invite before the loud one that came after it
    inbox.wait_for(loud.email)
    assert len(invites(quiet, first["id"])) == 1  # still notified in the app
    assert inbox.to(quiet.email) == []


def test_album_update_notifies_the_other_members_once(
    mail_stack: Stack, mail_admin: User, smtp: tuple[Inbox, int]
) -> None:
    inbox, _ = smtp
    owner, member = make_user(mail_stack, mail_admin), make_user(mail_stack, mail_admin)
    album = ok(
        owner.client.post(
            "/api/albums",
            json={"albumName": "growing", "albumUsers": [{"userId": member.id, "role": "editor"}]},
        ),
        201,
    )
    for _ in range(2):  # the second addition falls in the debounce
        asset_id = upload_new(owner)
        ok(owner.client.put(f"/api/albums/{album['id']}/assets", json={"ids": [asset_id]}))
    updates = ok(member.client.get("/api/notifications", params={"type": "AlbumUpdate"}))
    assert [n["data"]["albumId"] for n in updates] == [album["id"]]
    mine = ok(owner.client.get("/api/notifications", params={"type": "AlbumUpdate"}))
    assert mine == []  # not told of one's own additions
    inbox.wait_for(
        member.email, lambda m: "growing" in m["Subject"] and "New media" in m["Subject"]
    )


def test_read_unread_delete_own_and_refusals(mail_stack: Stack, mail_admin: User) -> None:
    user, other = make_user(mail_stack, mail_admin), make_user(mail_stack, mail_admin)
    made = [
        ok(
            mail_admin.client.post(
                "/api/admin/notifications",
                json={"userId": user.id, "title": f"note {i}", "level": "warning"},
            ),
            201,
        )
        for i in range(3)
    ]
    for item in made:
        check_schema(item, "NotificationDto")
    a, b, c = (n["id"] for n in made)
    assert {
        n["id"] for n in ok(user.client.get("/api/notifications", params={"unread": True}))
    } == {
        a,
        b,
        c,
    }
    read = ok(user.client.put(f"/api/notifications/{a}", json={"readAt": "2024-01-01T00:00:00Z"}))
    assert read["readAt"].startswith("2024-01-01")
    ok(
        user.client.put(
            "/api/notifications", json={"ids": [b, c], "readAt": "2024-02-01T00:00:00Z"}
        ),
        204,
    )
    assert ok(user.client.get("/api/notifications", params={"unread": True})) == []
    unread = ok(user.client.put(f"/api/notifications/{b}", json={"readAt": None}))
    assert "readAt" not in unread
    assert ok(user.client.get(f"/api/notifications/{b}"))["title"] == "note 1"

    def refused(r: httpx.Response, permission: str) -> None:
        assert r.status_code == 400, r.text
        assert r.json() == {"message": f"Not found or no notification.{permission} access"}

    refused(other.client.get(f"/api/notifications/{a}"), "read")
    refused(other.client.put(f"/api/notifications/{a}", json={"readAt": None}), "update")
    refused(other.client.delete(f"/api/notifications/{a}"), "delete")
    refused(other.client.put("/api/notifications", json={"ids": [a], "readAt": None}), "update")
    refused(other.client.request("DELETE", "/api/notifications", json={"ids": [a, b]}), "delete")
    refused(user.client.get(f"/api/notifications/{uuid.uuid4()}"), "read")
    assert other.client.get("/api/notifications").json() == []

    ok(user.client.delete(f"/api/notifications/{a}"), 204)
    ok(user.client.request("DELETE", "/api/notifications", json={"ids": [b, c]}), 204)
    assert ok(user.client.get("/api/notifications")) == []
    anon = httpx.Client(base_url=mail_stack.url, timeout=60)
    assert anon.get("/api/notifications").status_code == 401


def test_admin_test_email_templates_and_refusals(
    mail_stack: Stack, mail_admin: User, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    config = {
        "enabled": True,
        "from": "Tester <test@darkroom.test>",
        "replyTo": "",
        "transport": {
            "host": "127.0.0.1",
            "port": port,
            "username": "",
            "password": "",
            "secure": False,
            "ignoreCert": False,
        },
    }
    sent = ok(mail_admin.client.post("/api/admin/notifications/test-email", json=config))
    check_schema(sent, "TestEmailResponseDto")
    message = inbox.wait_for(mail_admin.email, lambda m: m["Message-ID"] == sent["messageId"])
    assert message["From"] == "Tester <test@darkroom.test>"

    dead = {**config, "transport": {**config["transport"], "port": free_port()}}
    r = mail_admin.client.post("/api/admin/notifications/test-email", json=dead)
    assert r.status_code == 400 and r.json() == {"message": "Failed to verify SMTP configuration"}
    # no host with TLS, a host that is no IDNA name: the configuration's fault, not a 500
    for host, secure in (("", True), ("bad\U000f247f.example", False)):
        odd = {**config, "transport": {**config["transport"], "host": host, "secure": secure}}
        r = mail_admin.client.post("/api/admin/notifications/test-email", json=odd)
        assert r.status_code == 400, r.text

    preview = ok(
        mail_admin.client.post(
            "/api/admin/notifications/templates/album-invite", json={"template": ""}
        )
    )
    check_schema(preview, "TemplateResponseDto")
    assert preview["name"] == "album-invite" and "John Doe&#x27;s Favorites" in preview["html"]
    custom = ok(
        mail_admin.client.post(
            "/api/admin/notifications/templates/album-update",
            json={"template": "<p>{albumName} for {recipientName}</p>"},
        )
    )
    assert custom["html"] == "<p>Favorite Photos for Jane Doe</p>"

    user = make_user(mail_stack, mail_admin)
    for path, body in (
        ("/api/admin/notifications", {"userId": user.id, "title": "x"}),
        ("/api/admin/notifications/test-email", config),
        ("/api/admin/notifications/templates/album-invite", {"template": ""}),
    ):
        r = user.client.post(path, json=body)
        assert r.status_code == 403, r.text
    assert inbox.to(user.email) == []


def test_smtp_password_is_never_logged(mail_stack: Stack) -> None:
    logs = Path(mail_stack.config.data_dir, "logs")
    text = "".join(p.read_text(errors="replace") for p in logs.glob("*") if p.is_file())
    assert "mail.queue_started" in text  # the gateway logged its mail settings...
    assert "never-logged-smtp-secret" not in text  # ...without the password


def test_a_job_that_fails_for_good_notifies_the_admins(stack: Stack, admin: User) -> None:
    """A video metadata cannot read is dead-lettered by the metadata service: the admins get a
    JobFailed notification (one per failing service while unread), other users none."""
    user = make_user(stack, admin)
    ftyp = struct.pack(">I", 24) + b"ftypisom" + struct.pack(">I", 512) + b"isomiso2"
    junk = b"\x13\x37" * 2000  # an MP4 without a movie header
    data = ftyp + struct.pack(">I", 8 + len(junk)) + b"free" + junk
    r = user.client.post(
        "/api/assets",
        files={"assetData": ("no-moov.mp4", data, "application/octet-stream")},
        data={
            "deviceAssetId": uuid.uuid4().hex,
            "deviceId": "pytest",
            "fileCreatedAt": "2020-01-01T00:00:00.000Z",
            "fileModifiedAt": "2020-01-01T00:00:00.000Z",
        },
    )
    assert r.status_code == 201, r.text

    def job_failed(who: User) -> list[dict[str, Any]]:
        got = ok(who.client.get("/api/notifications", params={"type": "JobFailed"}))
        return [n for n in got if n.get("data", {}).get("service") == "metadata"]

    deadline = time.monotonic() + CEILING_S
    while not job_failed(admin):
        assert time.monotonic() < deadline, "no JobFailed notification for the admin"
        time.sleep(0.5)
    item = job_failed(admin)[0]
    check_schema(item, "NotificationDto")
    assert item["level"] == "error" and "metadata" in item["description"]
    assert job_failed(user) == []
