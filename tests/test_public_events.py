"""Public events after API actions (issue #21 item 1), against the embedded stack.

Each public event (``darkroom.public.<entity>.<verb>.v1`` in the stream ``DARKROOM_PUBLIC``)
arrives after the action that causes it, carries the ids the REST API answers to (checked by
asking the API for them) and no storage key, path, shared-link key or password. Faces
recognized comes from the face service's recognition of real faces: its twin is checked by
tests/test_asyncapi.py's mapping tests, not here.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from darkroom_stack.supervisor import Stack

from tests.conftest import User, make_user, noise_jpeg, stream_events, upload_jpeg

#: Longest wait for one event; the poll ends as soon as it is there.
DEADLINE_S = 180.0
#: What must never be in a public payload: storage prefixes and key/path/secret fields.
FORBIDDEN = ("upload/", "thumbs/", "library/", "encoded-video/")
#: Field names of secrets, storage keys and paths (``has_password`` is a flag, not a secret).
SECRET_FIELDS = {"key", "password", "token", "secret", "path"}


def public(stack: Stack, subject: str, match: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The first event on ``subject`` in the public stream that ``match`` accepts (waits)."""
    deadline = time.monotonic() + DEADLINE_S
    seen: list[bytes] = []
    while time.monotonic() < deadline:
        seen = asyncio.run(stream_events(stack.nats.url, subject, stream="DARKROOM_PUBLIC"))
        for raw in seen:
            event: dict[str, Any] = json.loads(raw)
            if match(event):
                text = raw.decode()
                for bad in FORBIDDEN:
                    assert bad not in text, (subject, text)
                for name in event:
                    assert name not in SECRET_FIELDS, (subject, name)
                    assert not name.endswith(("_key", "_path")), (subject, name)
                assert event["version"] == 1
                return event
        time.sleep(0.5)
    pytest.fail(f"no {subject} matched in {DEADLINE_S} s; seen {len(seen)}: {seen[-3:]}")


def ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json() if r.content else None


def test_asset_lifecycle_events(stack: Stack, admin: User) -> None:
    asset_id = upload_jpeg(admin, noise_jpeg(2111))
    checksum = ok(admin.client.get(f"/api/assets/{asset_id}"))["checksum"]

    def mine(e: dict[str, Any]) -> bool:
        return e.get("asset_id") == asset_id or asset_id in e.get("asset_ids", [])

    up = public(stack, "darkroom.public.asset.uploaded.v1", mine)
    assert up["owner_id"] == admin.id and up["checksum"] == checksum
    meta = public(stack, "darkroom.public.asset.metadata_ready.v1", mine)
    assert (meta["width"], meta["height"]) == (64, 48)
    thumb = public(stack, "darkroom.public.asset.thumbnail_ready.v1", mine)
    assert thumb["type"] == "IMAGE" and thumb["owner_id"] == admin.id

    ok(admin.client.put(f"/api/assets/{asset_id}", json={"isFavorite": True}))
    public(stack, "darkroom.public.asset.updated.v1", mine)
    ok(admin.client.request("DELETE", "/api/assets", json={"ids": [asset_id]}), 204)
    trashed = public(stack, "darkroom.public.asset.trashed.v1", mine)
    assert trashed["owner_id"] == admin.id
    ok(admin.client.post("/api/trash/restore/assets", json={"ids": [asset_id]}))
    public(stack, "darkroom.public.asset.restored.v1", mine)
    assert ok(admin.client.get(f"/api/assets/{asset_id}"))["isTrashed"] is False
    ok(
        admin.client.request("DELETE", "/api/assets", json={"ids": [asset_id], "force": True}),
        204,
    )
    gone = public(stack, "darkroom.public.asset.deleted.v1", mine)
    assert gone["owner_id"] == admin.id


def test_album_and_shared_link_events(stack: Stack, admin: User, other_user: User) -> None:
    asset_id = upload_jpeg(admin, noise_jpeg(2112))
    album = ok(
        admin.client.post("/api/albums", json={"albumName": "P", "assetIds": [asset_id]}), 201
    )
    album_id = album["id"]

    def this_album(e: dict[str, Any]) -> bool:
        return e.get("album_id") == album_id

    made = public(stack, "darkroom.public.album.created.v1", this_album)
    assert made["owner_id"] == admin.id
    ok(admin.client.patch(f"/api/albums/{album_id}", json={"albumName": "Renamed"}))
    updated = public(stack, "darkroom.public.album.updated.v1", this_album)
    assert updated["updated_by"] == admin.id
    ok(
        admin.client.put(
            f"/api/albums/{album_id}/users",
            json={"albumUsers": [{"userId": other_user.id, "role": "viewer"}]},
        )
    )
    shared = public(stack, "darkroom.public.album.shared.v1", this_album)
    assert shared["user_ids"] == [other_user.id]
    link = ok(
        admin.client.post(
            "/api/shared-links", json={"type": "ALBUM", "albumId": album_id, "password": "pw1"}
        ),
        201,
    )
    event = public(
        stack,
        "darkroom.public.shared_link.created.v1",
        lambda e: e.get("shared_link_id") == link["id"],
    )
    assert event["album_id"] == album_id and event["has_password"] is True
    assert link["key"] not in json.dumps(event)
    # the ids are the API's: it answers for them
    assert ok(admin.client.get(f"/api/albums/{album_id}"))["albumName"] == "Renamed"
    assert ok(admin.client.get(f"/api/shared-links/{event['shared_link_id']}"))["id"] == link["id"]


def test_people_events(stack: Stack, admin: User) -> None:
    keep = ok(admin.client.post("/api/people", json={"name": "Keep"}), 201)["id"]
    other = ok(admin.client.post("/api/people", json={"name": "Other"}), 201)["id"]
    made = public(stack, "darkroom.public.person.created.v1", lambda e: e.get("person_id") == keep)
    assert made["owner_id"] == admin.id
    ok(admin.client.post(f"/api/people/{keep}/merge", json={"ids": [other]}))
    merged = public(stack, "darkroom.public.person.merged.v1", lambda e: e.get("person_id") == keep)
    assert merged["merged_person_ids"] == [other]
    assert ok(admin.client.get(f"/api/people/{keep}"))["name"] == "Keep"


def test_user_events(stack: Stack, admin: User) -> None:
    user = make_user(stack, admin)
    made = public(stack, "darkroom.public.user.created.v1", lambda e: e.get("user_id") == user.id)
    assert ok(admin.client.get(f"/api/admin/users/{made['user_id']}"))["email"] == user.email
    ok(admin.client.request("DELETE", f"/api/admin/users/{user.id}", json={"force": False}))
    soft = public(stack, "darkroom.public.user.deleted.v1", lambda e: e.get("user_id") == user.id)
    assert soft["permanent"] is False
    # a deleted user is not deleted again (Immich: 400 User not found); restored, it can be
    ok(admin.client.post(f"/api/admin/users/{user.id}/restore"))
    ok(admin.client.request("DELETE", f"/api/admin/users/{user.id}", json={"force": True}))
    public(
        stack,
        "darkroom.public.user.deleted.v1",
        lambda e: e.get("user_id") == user.id and e["permanent"] is True,
    )
