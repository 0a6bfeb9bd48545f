"""System config over HTTP against the running embedded stack (issue 15, item 3).

``GET/PUT /api/system-config``, ``/defaults`` and ``/storage-template-options`` answer Immich
3.1's schemas (checked with jsonschema against the spec); a saved thumbnail size applies to the
next upload without a restart (the thumbnail service reloads on ``darkroom.config.updated``);
an invalid value is refused naming the field; ``DARKROOM_CONFIG_FILE`` shows its values and
locks PUT; ordinary users and anonymous callers are refused as Immich refuses them.

The module changes the shared stack's config and puts the defaults back when it ends.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pyvips
from darkroom_stack.supervisor import Stack

from .conftest import User, make_user, running_stack, stream_events, upload_jpeg
from .test_server_metadata import _refused, conforms
from .test_socketio import Listener

PATH = "/api/system-config"


@pytest.fixture(scope="module")
def user(stack: Stack, admin: User) -> User:
    """An ordinary user of this module (not the admin)."""
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def defaults(stack: Stack, admin: User) -> Iterator[dict[str, Any]]:
    """The defaults; saved back as the config when the module ends."""
    r = admin.client.get(f"{PATH}/defaults")
    assert r.status_code == 200, r.text
    yield r.json()
    assert admin.client.put(PATH, json=r.json()).status_code == 200


def _jpeg(width: int, height: int) -> bytes:
    """A JPEG of one random colour (a new file each call: no duplicate upload)."""
    colour = list(os.urandom(3))
    image = pyvips.Image.black(width, height, bands=3) + colour
    return bytes(image.cast("uchar").jpegsave_buffer(Q=85))


def _thumbnail_size(user: User, asset_id: str, ceiling_s: float = 300) -> tuple[int, int]:
    """The (width, height) of the asset's thumbnail, once rendered (polled with a generous
    ceiling: the machine may be busy)."""
    deadline = time.monotonic() + ceiling_s
    while True:
        r = user.client.get(f"/api/assets/{asset_id}/thumbnail", params={"size": "thumbnail"})
        if r.status_code == 200:
            image = pyvips.Image.new_from_buffer(r.content, "")
            return image.width, image.height
        assert time.monotonic() < deadline, f"no thumbnail in {ceiling_s} s"
        time.sleep(0.3)


def test_shapes_validate_against_the_spec(admin: User, defaults: dict[str, Any]) -> None:
    conforms(defaults, "SystemConfigDto")
    current = admin.client.get(PATH)
    assert current.status_code == 200, current.text
    conforms(current.json(), "SystemConfigDto")
    assert set(current.json()) == set(defaults)
    options = admin.client.get(f"{PATH}/storage-template-options")
    assert options.status_code == 200, options.text
    conforms(options.json(), "SystemConfigTemplateStorageOptionDto")
    assert "{{y}}/{{y}}-{{MM}}-{{dd}}/{{filename}}" in options.json()["presetOptions"]
    # Immich's defaults where Darkroom has no setting of its own
    assert defaults["trash"] == {"enabled": True, "days": 30}
    assert defaults["image"]["thumbnail"] == {
        "format": "webp",
        "size": 250,
        "quality": 80,
        "progressive": False,
    }


def _applied(admin: User, size: int, ceiling_s: float = 300) -> None:
    """Upload until a new upload's thumbnail has ``size`` on its shorter side: the thumbnail
    service may still be reloading when the first upload after a save lands."""
    deadline = time.monotonic() + ceiling_s
    while min(_thumbnail_size(admin, upload_jpeg(admin, _jpeg(900, 600)))) != size:
        assert time.monotonic() < deadline, f"thumbnail size {size} was never applied"


def test_put_thumbnail_size_applies_to_the_next_upload(
    stack: Stack, admin: User, defaults: dict[str, Any]
) -> None:
    """Two replicas of the thumbnail service run, and each applies a save without a restart:
    the stack's own is paused (SIGSTOP) while a second one renders, then resumed while the
    second is stopped (it got the event while paused)."""
    replica, _ = stack.spawn_replica("thumbnail")
    first = stack.processes["thumbnail"]
    try:
        os.kill(first.pid, signal.SIGSTOP)
        try:
            # only the second replica renders: it is up, at the default size
            assert min(_thumbnail_size(admin, upload_jpeg(admin, _jpeg(900, 600)))) == 250

            config = copy.deepcopy(defaults)
            config["image"]["thumbnail"]["size"] = 120
            config["trash"]["days"] = 9
            config["notifications"]["smtp"]["transport"]["password"] = "s3cret-smtp"
            r = admin.client.put(PATH, json=config)
            assert r.status_code == 200, r.text
            conforms(r.json(), "SystemConfigDto")
            assert r.json()["image"]["thumbnail"]["size"] == 120
            assert admin.client.get(PATH).json() == r.json()
            # the gateway applies it too: the public server config reports the new trash days
            assert admin.client.get("/api/server/config").json()["trashDays"] == 9

            _applied(admin, 120)  # the second replica
        finally:
            os.kill(first.pid, signal.SIGCONT)
        replica.terminate()
        replica.wait(timeout=60)
        _applied(admin, 120)  # the first one
    finally:
        if replica.poll() is None:
            replica.terminate()
            replica.wait(timeout=60)

    # the event names the changed sections, never a value (the SMTP password is a secret)
    events = asyncio.run(stream_events(stack.env()["DARKROOM_NATS_URL"], "darkroom.config.updated"))
    assert events, "no darkroom.config.updated published"
    last = json.loads(events[-1])
    assert set(last["sections"]) == {"image", "notifications", "trash"}
    assert all(b"s3cret-smtp" not in e for e in events)


async def test_saving_sends_on_config_update_to_every_socket(
    stack: Stack, admin: User, user: User, defaults: dict[str, Any]
) -> None:
    """Immich broadcasts ``on_config_update`` (no payload) when the config is saved; the web
    app reloads the server config on it. An ordinary user's socket gets it too."""
    watcher = Listener()
    watcher.sio.on("on_config_update", watcher._recorder("on_config_update"))
    try:
        await watcher.connect(stack.url, {"x-api-key": user.api_key})
        config = copy.deepcopy(defaults)
        config["server"]["loginPageMessage"] = "Welcome to the family photos"
        r = await asyncio.to_thread(admin.client.put, PATH, json=config)
        assert r.status_code == 200, r.text
        await watcher.wait_for("on_config_update", lambda data: data is None)
    finally:
        if watcher.sio.connected:
            await watcher.sio.disconnect()
        await asyncio.to_thread(admin.client.put, PATH, json=defaults)


def test_invalid_value_is_refused_naming_the_field(admin: User, defaults: dict[str, Any]) -> None:
    before = admin.client.get(PATH).json()
    config = copy.deepcopy(defaults)
    config["image"]["thumbnail"]["size"] = 0
    r = admin.client.put(PATH, json=config)
    _refused(r, 400)
    body = r.json()
    assert body["message"] == "Validation failed", body
    assert [issue["path"] for issue in body["errors"]] == [["image", "thumbnail", "size"]], body
    config = copy.deepcopy(defaults)
    config["nightlyTasks"]["startTime"] = "25:00"
    r = admin.client.put(PATH, json=config)
    _refused(r, 400)
    assert r.json()["errors"][0]["path"] == ["nightlyTasks", "startTime"], r.text
    config = copy.deepcopy(defaults)
    del config["trash"]
    _refused(admin.client.put(PATH, json=config), 400)
    assert admin.client.get(PATH).json() == before  # nothing was saved


def test_password_login_can_be_turned_off(
    stack: Stack, admin: User, defaults: dict[str, Any]
) -> None:
    config = copy.deepcopy(defaults)
    config["passwordLogin"]["enabled"] = False
    assert admin.client.put(PATH, json=config).status_code == 200
    try:
        assert admin.client.get("/api/server/features").json()["passwordLogin"] is False
        with httpx.Client(base_url=stack.url, timeout=60) as anon:
            r = anon.post(
                "/api/auth/login", json={"email": admin.email, "password": admin.password}
            )
        _refused(r, 401)
        assert r.json()["message"] == "Password login has been disabled"
    finally:  # the admin's API key still works: it turns password login back on
        assert admin.client.put(PATH, json=defaults).status_code == 200
    with httpx.Client(base_url=stack.url, timeout=60) as anon:
        r = anon.post("/api/auth/login", json={"email": admin.email, "password": admin.password})
    assert r.status_code == 201, r.text


def test_non_admin_and_anonymous_are_refused(
    stack: Stack, user: User, defaults: dict[str, Any]
) -> None:
    routes = [
        ("GET", PATH, None),
        ("PUT", PATH, defaults),
        ("GET", f"{PATH}/defaults", None),
        ("GET", f"{PATH}/storage-template-options", None),
    ]
    with httpx.Client(base_url=stack.url, timeout=60) as anon:
        for method, path, body in routes:
            _refused(anon.request(method, path, json=body), 401)
    for method, path, body in routes:
        _refused(user.client.request(method, path, json=body), 403)


def test_config_file_locks_put(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A gateway-only stack started with DARKROOM_CONFIG_FILE (YAML): GET shows the file's
    values, /api/server/features says so, PUT is refused as Immich refuses it."""
    data_dir = tmp_path_factory.mktemp("config-file")
    config_file = Path(data_dir) / "darkroom.yaml"
    config_file.write_text("trash:\n  days: 12\nserver:\n  loginPageMessage: Hello\n")
    with running_stack(
        data_dir, services=("gateway",), env={"DARKROOM_CONFIG_FILE": str(config_file)}
    ) as locked:
        from .conftest import first_admin

        admin = first_admin(locked)
        current = admin.client.get(PATH)
        assert current.status_code == 200, current.text
        assert current.json()["trash"]["days"] == 12
        assert current.json()["server"]["loginPageMessage"] == "Hello"
        server_config = admin.client.get("/api/server/config").json()
        assert (server_config["trashDays"], server_config["loginPageMessage"]) == (12, "Hello")
        assert admin.client.get("/api/server/features").json()["configFile"] is True

        r = admin.client.put(PATH, json=current.json())
        _refused(r, 400)
        assert r.json()["message"] == (
            "Cannot update configuration while DARKROOM_CONFIG_FILE is in use"
        )
