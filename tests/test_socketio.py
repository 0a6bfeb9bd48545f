"""The websocket (socket.io at /api/socket.io) through real sockets against a running stack.

Two clients of one user and one of another: what the first uploads arrives on the second as
``on_upload_success`` (and ``AssetUploadReadyV1``), never on the third; the same when the two
clients are connected to two gateway processes of one stack. Sockets without valid credentials
are refused, as Immich refuses them.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import numpy as np
import pytest
import pyvips
import socketio
from darkroom_stack.servers import free_port
from darkroom_stack.supervisor import Stack

from tests.conftest import User, make_user

SPEC_FILE = Path(__file__).resolve().parents[2] / "shared/reference/immich-openapi-specs.json"
SPEC = json.loads(SPEC_FILE.read_text()) if SPEC_FILE.exists() else {}
#: Generous: the stack processes the upload (metadata, thumbnail) on a busy 2-core machine.
CEILING_S = 120.0
EVENTS = (
    "on_server_version",
    "on_upload_success",
    "AssetUploadReadyV1",
    "on_asset_trash",
    "on_asset_restore",
    "on_asset_delete",
    "on_asset_update",
    "on_session_delete",
    "on_asset_hidden",
    "on_person_thumbnail",
    "AssetEditReadyV1",
)


def make_jpeg(seed: int) -> bytes:
    """A small JPEG unique to ``seed`` (never a duplicate of another upload)."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 255, size=(48, 64, 3), dtype=np.uint8)
    return bytes(pyvips.Image.new_from_array(pixels, interpretation="srgb").jpegsave_buffer(Q=80))


def json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema -> JSON Schema: ``nullable: true`` becomes "or null"."""
    if isinstance(node, list):
        return [json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable"):
        if "type" in out and "enum" not in out:
            out["type"] = [out["type"], "null"]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def check_schema(payload: Any, name: str) -> None:
    """Validate ``payload`` against the spec's component schema ``name`` (when the spec is
    there: ../shared/reference)."""
    if not SPEC:
        pytest.skip("the Immich spec is not in ../shared/reference")
    components = json_schema(SPEC["components"])
    jsonschema.validate(payload, {**components["schemas"][name], "components": components})


class Listener:
    """A socket.io client that records every server event it gets."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.got: list[tuple[str, Any]] = []
        self.refusals: list[Any] = []  # connect_error payloads ({"message": ...})
        for name in EVENTS:
            self.sio.on(name, self._recorder(name))

        async def refused(data: Any = None) -> None:
            self.refusals.append(data)

        self.sio.on("connect_error", refused)

    def _recorder(self, name: str) -> Callable[..., Any]:
        async def record(data: Any = None) -> None:
            self.got.append((name, data))

        return record

    async def connect(self, url: str, headers: dict[str, str]) -> None:
        await self.sio.connect(
            url,
            headers=dict(headers),  # a copy: the client takes the Cookie header out of it
            socketio_path="/api/socket.io",
            transports=["websocket"],
        )

    async def wait_disconnected(self) -> None:
        """Wait up to :data:`CEILING_S` for the server to close this socket."""
        deadline = time.monotonic() + CEILING_S
        while self.sio.connected:
            assert time.monotonic() < deadline, f"still connected after {CEILING_S} s"
            await asyncio.sleep(0.1)

    def of(self, name: str) -> list[Any]:
        return [data for event, data in self.got if event == name]

    async def wait_for(self, name: str, match: Callable[[Any], bool]) -> Any:
        """The first ``name`` event whose payload ``match``es, waiting up to :data:`CEILING_S`."""
        deadline = time.monotonic() + CEILING_S
        while time.monotonic() < deadline:
            for data in self.of(name):
                if match(data):
                    return data
            await asyncio.sleep(0.1)
        raise AssertionError(f"no {name} in {CEILING_S} s; got {[e for e, _ in self.got]}")


@pytest.fixture
async def listeners() -> AsyncIterator[Callable[[], Listener]]:
    made: list[Listener] = []

    def make() -> Listener:
        made.append(Listener())
        return made[-1]

    yield make
    for listener in made:
        if listener.sio.connected:
            await listener.sio.disconnect()


class Everything(Listener):
    """A listener that records every server event, whatever its name (socket.io's ``*``)."""

    def __init__(self) -> None:
        super().__init__()

        async def anything(event: str, *args: Any) -> None:
            self.got.append((event, args[0] if args else None))

        self.sio.on("*", anything)


@pytest.fixture
async def sockets() -> AsyncIterator[Callable[[], Everything]]:
    """``sockets()`` -> a new :class:`Everything` listener, disconnected after the test."""
    made: list[Everything] = []

    def make() -> Everything:
        made.append(Everything())
        return made[-1]

    yield make
    for listener in made:
        if listener.sio.connected:
            await listener.sio.disconnect()


async def connected(make: Callable[[], Everything], url: str, user: User) -> Everything:
    """A new listener connected as ``user`` (API key), once the server has greeted it."""
    socket = make()
    await socket.connect(url, {"x-api-key": user.api_key})
    await socket.wait_for("on_server_version", lambda _: True)
    return socket


def login_token(stack_url: str, user: User) -> str:
    r = httpx.post(
        f"{stack_url}/api/auth/login",
        json={"email": user.email, "password": user.password},
        timeout=60,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["accessToken"])


async def upload(user: User, seed: int) -> str:
    def post() -> str:
        r = user.client.post(
            "/api/assets",
            files={"assetData": (f"live-{seed}.jpg", make_jpeg(seed), "image/jpeg")},
            data={
                "deviceAssetId": uuid.uuid4().hex,
                "deviceId": "pytest-socketio",
                "fileCreatedAt": "2021-06-01T10:00:00.000Z",
                "fileModifiedAt": "2021-06-01T10:00:00.000Z",
            },
        )
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    return await asyncio.to_thread(post)


async def check_fan_out(
    first_url: str, second_url: str, stack: Stack, owner: User, stranger: User, make: Any
) -> None:
    """The first client of ``owner`` uploads; its second client (maybe on another gateway) gets
    the events; ``stranger``'s client never does."""
    first, second, third = make(), make(), make()
    await first.connect(first_url, {"x-api-key": owner.api_key})
    await second.connect(second_url, {"Authorization": f"Bearer {login_token(stack.url, owner)}"})
    await third.connect(second_url, {"x-api-key": stranger.api_key})
    for client in (first, second, third):
        version = await client.wait_for("on_server_version", lambda _: True)
        assert version == {"major": 3, "minor": 1, "patch": 0, "prerelease": None}

    seed = uuid.uuid4().int % 2**32
    asset_id = await upload(owner, seed)
    uploaded = await second.wait_for("on_upload_success", lambda d: d["id"] == asset_id)
    assert uploaded["ownerId"] == owner.id
    assert uploaded["originalFileName"] == f"live-{seed}.jpg"
    assert uploaded["thumbhash"]  # sent once the thumbnail exists, as Immich does
    check_schema(uploaded, "AssetResponseDto")
    ready = await second.wait_for("AssetUploadReadyV1", lambda d: d["asset"]["id"] == asset_id)
    check_schema(ready["asset"], "SyncAssetV1")
    check_schema(ready["exif"], "SyncAssetExifV1")
    await first.wait_for("on_upload_success", lambda d: d["id"] == asset_id)

    # the stranger's own upload reaches it after the owner's was dispatched (stream order):
    # from then on the owner's would have arrived, had it been sent to the stranger
    theirs = await upload(stranger, seed + 1)
    await third.wait_for("on_upload_success", lambda d: d["id"] == theirs)
    assert all(d["id"] != asset_id for d in third.of("on_upload_success"))
    assert all(d["asset"]["id"] != asset_id for d in third.of("AssetUploadReadyV1"))
    assert all(d["id"] != theirs for d in second.of("on_upload_success"))


async def test_upload_reaches_the_users_other_client_and_no_one_else(
    stack: Stack, admin: User, listeners: Any
) -> None:
    stranger = await asyncio.to_thread(make_user, stack, admin)
    await check_fan_out(stack.url, stack.url, stack, admin, stranger, listeners)


async def test_trash_restore_update_and_delete_are_sent_to_the_owner(
    stack: Stack, admin: User, listeners: Any
) -> None:
    watcher = listeners()
    await watcher.connect(stack.url, {"x-api-key": admin.api_key})
    asset_id = await upload(admin, uuid.uuid4().int % 2**32)
    await watcher.wait_for("on_upload_success", lambda d: d["id"] == asset_id)

    def call(method: str, path: str, body: dict[str, Any]) -> None:
        r = admin.client.request(method, path, json=body)
        assert r.status_code in (200, 204), r.text

    await asyncio.to_thread(call, "PUT", f"/api/assets/{asset_id}", {"isFavorite": True})
    updated = await watcher.wait_for("on_asset_update", lambda d: d["id"] == asset_id)
    assert updated["isFavorite"] is True
    await asyncio.to_thread(call, "DELETE", "/api/assets", {"ids": [asset_id]})
    await watcher.wait_for("on_asset_trash", lambda d: d == [asset_id])
    await asyncio.to_thread(call, "POST", "/api/trash/restore/assets", {"ids": [asset_id]})
    await watcher.wait_for("on_asset_restore", lambda d: d == [asset_id])
    await asyncio.to_thread(call, "DELETE", "/api/assets", {"ids": [asset_id], "force": True})
    await watcher.wait_for("on_asset_delete", lambda d: d == asset_id)


async def test_logout_sends_on_session_delete_and_closes_that_sessions_socket(
    stack: Stack, admin: User, listeners: Any
) -> None:
    token = login_token(stack.url, admin)
    device = listeners()
    await device.connect(stack.url, {"Authorization": f"Bearer {token}"})
    await device.wait_for("on_server_version", lambda _: True)
    r = await asyncio.to_thread(
        httpx.post,
        f"{stack.url}/api/auth/logout",
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    await device.wait_for("on_session_delete", lambda d: isinstance(d, str) and len(d) == 36)
    await device.wait_disconnected()


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-api-key": "not-a-key"},
        {"Authorization": "Bearer not-a-token"},
        {"Cookie": "immich_access_token=not-a-token"},
    ],
    ids=["anonymous", "wrong-api-key", "wrong-bearer", "wrong-cookie"],
)
async def test_sockets_without_valid_credentials_are_refused(
    stack: Stack, admin: User, headers: dict[str, str], listeners: Any
) -> None:
    refused = listeners()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await refused.connect(stack.url, headers)
    assert not refused.sio.connected
    assert refused.got == []
    # refused by the server for its credentials, with HTTP's message; and a valid one connects
    expected = "Invalid API key" if "x-api-key" in headers else "Invalid user token"
    assert refused.refusals == [{"message": expected if headers else "Authentication required"}]
    # (a valid key alone: beside a bad session token it is not looked at, as Immich's validate)
    accepted = listeners()
    await accepted.connect(stack.url, {"x-api-key": admin.api_key})
    await accepted.wait_for("on_server_version", lambda _: True)


async def test_events_reach_clients_on_another_gateway_process(
    stack: Stack, admin: User, listeners: Any
) -> None:
    port = free_port()
    proc, _ = stack.spawn_replica("gateway", env={"DARKROOM_PORT": str(port)})
    second_url = f"http://{stack.config.host}:{port}"
    try:
        deadline = time.monotonic() + CEILING_S
        async with httpx.AsyncClient(timeout=5) as http:
            while True:
                try:
                    if (await http.get(f"{second_url}/api/server/ping")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert proc.poll() is None, "the second gateway exited"
                assert time.monotonic() < deadline, "the second gateway did not start"
                await asyncio.sleep(0.3)
        stranger = await asyncio.to_thread(make_user, stack, admin)
        await check_fan_out(stack.url, second_url, stack, admin, stranger, listeners)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def call(user: User, method: str, path: str, body: Any = None, status: int = 200) -> Any:
    """``user``'s request; asserts ``status`` and returns the JSON body (None when empty)."""
    r = user.client.request(method, path, json=body)
    assert r.status_code == status, r.text
    return r.json() if r.content else None


async def test_asset_events_reach_album_members_and_no_one_else(
    stack: Stack, admin: User, listeners: Any
) -> None:
    member, stranger = [await asyncio.to_thread(make_user, stack, admin) for _ in range(2)]
    theirs, outsider = listeners(), listeners()
    await theirs.connect(stack.url, {"x-api-key": member.api_key})
    await outsider.connect(stack.url, {"x-api-key": stranger.api_key})
    mine = listeners()
    await mine.connect(stack.url, {"x-api-key": admin.api_key})
    # the thumbnail (whose event is on_upload_success) waits until the asset is in the album
    stack.hold("thumbnail")
    try:
        asset_id = await upload(admin, uuid.uuid4().int % 2**32)
        album = {
            "albumName": "shared live",
            "assetIds": [asset_id],
            "albumUsers": [{"userId": member.id, "role": "viewer"}],
        }
        await asyncio.to_thread(call, admin, "POST", "/api/albums", album, 201)
    finally:
        stack.spawn("thumbnail")
    await mine.wait_for("on_upload_success", lambda d: d["id"] == asset_id)
    await asyncio.to_thread(call, admin, "PUT", f"/api/assets/{asset_id}", {"isFavorite": True})
    await mine.wait_for("on_asset_update", lambda d: d["id"] == asset_id and d["isFavorite"])
    # the member sees the change, but not the owner's favourite flag, people or tags
    seen = await theirs.wait_for("on_asset_update", lambda d: d["id"] == asset_id)
    assert (seen["isFavorite"], seen.get("people", []), seen.get("tags", [])) == (False, [], [])
    await asyncio.to_thread(call, admin, "DELETE", "/api/assets", {"ids": [asset_id]}, 204)
    await theirs.wait_for("on_asset_trash", lambda d: d == [asset_id])
    restore = {"ids": [asset_id]}
    await asyncio.to_thread(call, admin, "POST", "/api/trash/restore/assets", restore)
    await theirs.wait_for("on_asset_restore", lambda d: d == [asset_id])
    purge = {"ids": [asset_id], "force": True}
    await asyncio.to_thread(call, admin, "DELETE", "/api/assets", purge, 204)
    await theirs.wait_for("on_asset_delete", lambda d: d == asset_id)

    # the stranger's own upload reaches it after all of the above was dispatched (stream order)
    own = await upload(stranger, uuid.uuid4().int % 2**32)
    await outsider.wait_for("on_upload_success", lambda d: d["id"] == own)
    assert [e for e, d in outsider.got if asset_id in json.dumps(d)] == []
    # a new asset is its owner's news only (as Immich: clients add it to the main timeline)
    announced = ("on_upload_success", "AssetUploadReadyV1")
    assert [e for e, d in theirs.got if e in announced and asset_id in json.dumps(d)] == []


async def test_motion_part_linked_to_a_still_is_announced_hidden(
    stack: Stack, admin: User, listeners: Any, tmp_path: Path
) -> None:
    from tests.test_live_photo_upload import _clip, _post

    owner = await asyncio.to_thread(make_user, stack, admin)
    watcher = listeners()
    await watcher.connect(stack.url, {"x-api-key": owner.api_key})
    await watcher.wait_for("on_server_version", lambda _: True)
    video = await asyncio.to_thread(_post, owner, "M.MOV", _clip(tmp_path / "m.mp4", 3))
    still = await upload(owner, uuid.uuid4().int % 2**32)
    link = {"livePhotoVideoId": video["id"]}
    await asyncio.to_thread(call, owner, "PUT", f"/api/assets/{still}", link)
    await watcher.wait_for("on_asset_hidden", lambda d: d == video["id"])


async def test_deleting_sessions_signs_their_sockets_out(
    stack: Stack, admin: User, listeners: Any
) -> None:
    user = await asyncio.to_thread(make_user, stack, admin)
    tokens = [login_token(stack.url, user) for _ in range(3)]
    current, one, other = listeners(), listeners(), listeners()
    for client, token in zip((current, one, other), tokens, strict=True):
        await client.connect(stack.url, {"Authorization": f"Bearer {token}"})
        await client.wait_for("on_server_version", lambda _: True)

    def as_token(token: str, method: str, path: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.request(method, f"{stack.url}{path}", headers=headers, timeout=60)

    def session_of(token: str) -> str:
        listed = as_token(token, "GET", "/api/sessions").json()
        return str(next(s["id"] for s in listed if s["current"]))

    ids = [await asyncio.to_thread(session_of, token) for token in tokens]
    # DELETE /api/sessions/{id}: that session's socket gets on_session_delete, then is closed
    r = await asyncio.to_thread(as_token, tokens[0], "DELETE", f"/api/sessions/{ids[1]}")
    assert r.status_code == 204, r.text
    await one.wait_for("on_session_delete", lambda d: d == ids[1])
    await one.wait_disconnected()
    # DELETE /api/sessions: every other session goes, each socket told and closed
    r = await asyncio.to_thread(as_token, tokens[0], "DELETE", "/api/sessions")
    assert r.status_code == 204, r.text
    await other.wait_for("on_session_delete", lambda d: d == ids[2])
    await other.wait_disconnected()
    assert current.sio.connected
    assert current.of("on_session_delete") == []
    assert other.of("on_session_delete") == [ids[2]]


async def test_deleting_an_api_key_closes_the_sockets_it_opened(
    stack: Stack, admin: User, listeners: Any
) -> None:
    made = await asyncio.to_thread(
        call, admin, "POST", "/api/api-keys", {"name": "socket", "permissions": ["all"]}, 201
    )
    keyed, other = listeners(), listeners()
    await keyed.connect(stack.url, {"x-api-key": made["secret"]})
    await other.connect(stack.url, {"x-api-key": admin.api_key})
    for client in (keyed, other):
        await client.wait_for("on_server_version", lambda _: True)
    key_id = made["apiKey"]["id"]
    await asyncio.to_thread(call, admin, "DELETE", f"/api/api-keys/{key_id}", None, 204)
    await keyed.wait_disconnected()
    assert other.sio.connected


async def test_a_password_change_ending_sessions_signs_their_sockets_out(
    stack: Stack, admin: User, listeners: Any
) -> None:
    user = await asyncio.to_thread(make_user, stack, admin)
    kept, ended = login_token(stack.url, user), login_token(stack.url, user)
    mine, theirs = listeners(), listeners()
    for client, token in ((mine, kept), (theirs, ended)):
        await client.connect(stack.url, {"Authorization": f"Bearer {token}"})
        await client.wait_for("on_server_version", lambda _: True)
    body = {"password": user.password, "newPassword": "a new password", "invalidateSessions": True}
    r = await asyncio.to_thread(
        httpx.post,
        f"{stack.url}/api/auth/change-password",
        json=body,
        headers={"Authorization": f"Bearer {kept}"},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    await theirs.wait_for("on_session_delete", lambda d: isinstance(d, str))
    await theirs.wait_disconnected()
    assert mine.sio.connected and mine.of("on_session_delete") == []
