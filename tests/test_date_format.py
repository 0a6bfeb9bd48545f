"""Dates in every answer as Immich writes them (JavaScript's ``Date.toISOString``, an asset's
EXIF dates included: Immich 3.x maps them with ``toISOString`` in ``mapExif``).

Immich's JSON carries instants as ``2020-01-01T00:00:00.000Z``: three fraction digits, ``Z``.
immich-go parses exactly that form (anything else silently reads as year 1), and a client that
sends ``fileCreatedAt`` expects the same string back. Checked here through HTTP, the sync
stream and the websocket: whole seconds get ``.000``, microseconds are cut to milliseconds, and
a user's text that looks like a date is left exactly as written.
"""

from __future__ import annotations

import asyncio
import json
import re

import httpx
from darkroom_stack.supervisor import Stack

from .conftest import User, make_user, noise_jpeg, upload_jpeg, wait_processed
from .test_socketio import Listener, login_token
from .test_socketio import upload as socket_upload

#: Immich's form of an instant.
IMMICH_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def _ok(response: object) -> object:
    assert response.status_code in (200, 201), response.text  # type: ignore[attr-defined]
    return response.json()  # type: ignore[attr-defined]


def test_answers_carry_immich_instants(stack: Stack, admin: User) -> None:
    owner = make_user(stack, admin)
    me = _ok(owner.client.get("/api/users/me"))
    for field in ("createdAt", "updatedAt", "profileChangedAt"):
        assert IMMICH_INSTANT.match(me[field]), (field, me[field])

    asset_id = upload_jpeg(owner, noise_jpeg(401), created_at="2020-01-01T00:00:00.000Z")
    wait_processed(owner, [asset_id])
    asset = _ok(owner.client.get(f"/api/assets/{asset_id}"))
    assert asset["fileCreatedAt"] == "2020-01-01T00:00:00.000Z", asset["fileCreatedAt"]
    assert asset["fileModifiedAt"] == "2020-01-01T00:00:00.000Z"
    for field in ("localDateTime", "createdAt", "updatedAt"):
        assert IMMICH_INSTANT.match(asset[field]), (field, asset[field])

    # EXIF dates too (Immich 3.x's e2e: new Date('2016-09-22T21:10:29.060Z').toISOString(); 2.x
    # wrote PostgreSQL's JSON text, "2016-09-22T21:10:29.06+00:00")
    r = owner.client.put(
        f"/api/assets/{asset_id}", json={"dateTimeOriginal": "2019-05-04T03:02:01.120Z"}
    )
    changed = _ok(r)
    assert IMMICH_INSTANT.match(changed["updatedAt"]), changed["updatedAt"]
    taken = _ok(owner.client.get(f"/api/assets/{asset_id}"))["exifInfo"]["dateTimeOriginal"]
    assert taken == "2019-05-04T03:02:01.120Z", taken
    r = owner.client.put(
        f"/api/assets/{asset_id}", json={"dateTimeOriginal": "2019-05-04T03:02:01Z"}
    )
    _ok(r)
    taken = _ok(owner.client.get(f"/api/assets/{asset_id}"))["exifInfo"]["dateTimeOriginal"]
    assert taken == "2019-05-04T03:02:01.000Z", taken

    # text that looks like a date is the user's: untouched, wherever it stands
    name, description = "2020-01-01T00:00:00Z", "2020-01-01T00:00:00.123456Z"
    album = _ok(
        owner.client.post(
            "/api/albums",
            json={"albumName": name, "description": description, "assetIds": [asset_id]},
        )
    )
    assert album["albumName"] == name and album["description"] == description, album
    for field in ("createdAt", "updatedAt", "startDate", "endDate"):
        assert IMMICH_INSTANT.match(album[field]), (field, album[field])
    listed = _ok(owner.client.get("/api/albums"))
    assert [a["albumName"] for a in listed] == [name]


async def test_sync_stream_and_websocket_carry_immich_instants(stack: Stack, admin: User) -> None:
    owner = make_user(stack, admin)
    watcher = Listener()
    await watcher.connect(stack.url, {"x-api-key": owner.api_key})
    try:
        asset_id = await socket_upload(owner, 403)
        shown = await watcher.wait_for("on_upload_success", lambda a: a["id"] == asset_id)
    finally:
        await watcher.sio.disconnect()
    for field in ("fileCreatedAt", "createdAt", "updatedAt", "localDateTime"):
        assert IMMICH_INSTANT.match(str(shown[field])), (field, shown[field])

    token = login_token(stack.url, owner)  # the sync stream is a session's
    r = await asyncio.to_thread(
        httpx.post,
        f"{stack.url}/api/sync/stream",
        json={"types": ["AssetsV1", "AssetExifsV1"]},
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,
    )
    assert r.status_code == 200, r.text
    lines = [json.loads(line) for line in r.text.splitlines() if line]
    row = next(x["data"] for x in lines if x["type"] == "AssetV1" and x["data"]["id"] == asset_id)
    for field in ("fileCreatedAt", "fileModifiedAt", "localDateTime"):
        assert IMMICH_INSTANT.match(str(row[field])), (field, row[field])
    # the sync stream's EXIF dates are dates (``.000Z``) too
    exif = next(
        x["data"] for x in lines if x["type"] == "AssetExifV1" and x["data"]["assetId"] == asset_id
    )
    assert IMMICH_INSTANT.match(str(exif["dateTimeOriginal"])), exif["dateTimeOriginal"]
