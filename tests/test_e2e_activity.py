"""Replays Immich's e2e/src/api/specs/activity.e2e-spec.ts against the running embedded stack.

Checked here (not covered by tests/test_activity.py): a like of the album is not confused with
a like of one of its assets (201, a new activity, then 200 with the same body for the album
like again); the filters of GET /activities (``type``, ``userId``, ``assetId``) return the very
bodies POST answered. All of the spec's cases held already; nothing was changed for them (the
others, 201 bodies, author/owner deletion, 400 ``Not found or no activity.delete access``, are
covered by tests/test_activity.py and tests/test_memories_activities_fields_more.py).
"""

from __future__ import annotations

import uuid
from typing import Any

from darkroom_stack.supervisor import Stack

from .conftest import User, make_user, noise_jpeg, upload_jpeg


def test_album_and_asset_likes_and_filters(stack: Stack, admin: User) -> None:
    owner = make_user(stack, admin)
    asset = upload_jpeg(owner, noise_jpeg(8901))
    r = owner.client.post("/api/albums", json={"albumName": "Album 1", "assetIds": [asset]})
    album = r.json()["id"]

    def post(status: int, **body: object) -> dict[str, Any]:
        r = owner.client.post("/api/activities", json={"albumId": album, **body})
        assert r.status_code == status, r.text
        made: dict[str, Any] = r.json()
        return made

    def listed(**params: str) -> list[dict[str, Any]]:
        r = owner.client.get("/api/activities", params={"albumId": album, **params})
        assert r.status_code == 200, r.text
        found: list[dict[str, Any]] = r.json()
        return found

    asset_like = post(201, assetId=asset, type="like")
    album_like = post(201, type="like")
    assert album_like["id"] != asset_like["id"] and album_like["assetId"] is None
    assert post(200, type="like") == album_like
    comment = post(201, type="comment", comment="comment")
    assert listed(type="comment") == [comment]
    assert {a["id"] for a in listed(type="like")} == {asset_like["id"], album_like["id"]}
    assert listed(assetId=asset) == [asset_like]
    assert listed(userId=str(uuid.uuid4())) == []
    assert len(listed(userId=owner.id)) == 3
