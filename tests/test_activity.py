"""Album activity (comments and likes, /api/activities) over HTTP against the running stack.

What this proves: a member comments and the owner sees it, on the album and on an asset in it;
likes are given once; statistics count both; the author or the album's owner deletes, another
member cannot delete someone else's comment; a stranger (and an anonymous client) gets Immich's
refusal on read, create and delete; an album with activity off takes none. Every body validates
against the spec's schema.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from darkroom_stack.supervisor import Stack

from .conftest import User, make_user
from .test_albums import upload_new
from .test_socketio import check_schema


@pytest.fixture(scope="module")
def people(stack: Stack, admin: User) -> dict[str, User]:
    """An album owner, two members (editor, viewer) and a stranger."""
    return {name: make_user(stack, admin) for name in ("owner", "editor", "viewer", "stranger")}


@pytest.fixture(scope="module")
def album(people: dict[str, User]) -> dict[str, str]:
    """A shared album of ``owner`` holding one asset; its id and the asset's."""
    owner = people["owner"]
    asset_id = upload_new(owner)
    r = owner.client.post(
        "/api/albums",
        json={
            "albumName": "Activity",
            "assetIds": [asset_id],
            "albumUsers": [
                {"userId": people["editor"].id, "role": "editor"},
                {"userId": people["viewer"].id, "role": "viewer"},
            ],
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["isActivityEnabled"] is True
    return {"album": r.json()["id"], "asset": asset_id}


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json() if r.content else None


def refused(r: httpx.Response, permission: str) -> None:
    assert r.status_code == 400, r.text
    assert r.json() == {"message": f"Not found or no {permission} access"}


def test_member_comments_and_the_owner_sees_it(
    people: dict[str, User], album: dict[str, str]
) -> None:
    editor, owner = people["editor"], people["owner"]
    body = {"albumId": album["album"], "type": "comment", "comment": "What a view <3"}
    made = ok(editor.client.post("/api/activities", json=body), 201)
    check_schema(made, "ActivityResponseDto")
    assert made["comment"] == "What a view <3"
    assert made["type"] == "comment" and made["assetId"] is None
    assert made["user"]["id"] == editor.id

    on_asset = {**body, "assetId": album["asset"], "comment": "this one"}
    asset_comment = ok(people["viewer"].client.post("/api/activities", json=on_asset), 201)
    assert asset_comment["assetId"] == album["asset"]

    seen = ok(owner.client.get("/api/activities", params={"albumId": album["album"]}))
    for item in seen:
        check_schema(item, "ActivityResponseDto")
    ids = [a["id"] for a in seen]
    assert ids.index(made["id"]) < ids.index(asset_comment["id"])  # oldest first
    album_level = ok(
        owner.client.get("/api/activities", params={"albumId": album["album"], "level": "album"})
    )
    assert made["id"] in [a["id"] for a in album_level]
    assert asset_comment["id"] not in [a["id"] for a in album_level]
    of_asset = ok(
        owner.client.get(
            "/api/activities", params={"albumId": album["album"], "assetId": album["asset"]}
        )
    )
    assert [a["id"] for a in of_asset] == [asset_comment["id"]]
    by_user = ok(
        owner.client.get("/api/activities", params={"albumId": album["album"], "userId": editor.id})
    )
    assert {a["user"]["id"] for a in by_user} == {editor.id}

    empty = {"albumId": album["album"], "type": "comment"}
    assert editor.client.post("/api/activities", json=empty).status_code == 400


def test_likes_once_and_statistics(people: dict[str, User], album: dict[str, str]) -> None:
    owner, viewer = people["owner"], people["viewer"]
    stats_before = ok(
        owner.client.get(
            "/api/activities/statistics",
            params={"albumId": album["album"], "assetId": album["asset"]},
        )
    )
    like = {"albumId": album["album"], "assetId": album["asset"], "type": "like"}
    first = ok(viewer.client.post("/api/activities", json=like), 201)
    assert first["type"] == "like" and first["comment"] is None
    again = ok(viewer.client.post("/api/activities", json=like), 200)  # Immich: the same like
    assert again["id"] == first["id"]
    ok(owner.client.post("/api/activities", json=like), 201)
    comment = {**like, "type": "comment", "comment": "nice"}
    ok(owner.client.post("/api/activities", json=comment), 201)

    stats = ok(
        owner.client.get(
            "/api/activities/statistics",
            params={"albumId": album["album"], "assetId": album["asset"]},
        )
    )
    check_schema(stats, "ActivityStatisticsResponseDto")
    assert stats == {
        "comments": stats_before["comments"] + 1,
        "likes": stats_before["likes"] + 2,
    }
    whole = ok(viewer.client.get("/api/activities/statistics", params={"albumId": album["album"]}))
    assert whole["likes"] >= stats["likes"] and whole["comments"] > stats["comments"]
    likes = ok(
        viewer.client.get("/api/activities", params={"albumId": album["album"], "type": "like"})
    )
    assert likes and all(a["type"] == "like" for a in likes)


def test_author_or_owner_deletes_and_no_one_else(
    people: dict[str, User], album: dict[str, str]
) -> None:
    owner, editor, viewer = people["owner"], people["editor"], people["viewer"]
    body = {"albumId": album["album"], "type": "comment", "comment": "to be removed"}
    by_editor = ok(editor.client.post("/api/activities", json=body), 201)
    by_viewer = ok(viewer.client.post("/api/activities", json=body), 201)

    refused(viewer.client.delete(f"/api/activities/{by_editor['id']}"), "activity.delete")
    ok(editor.client.delete(f"/api/activities/{by_editor['id']}"), 204)  # the author
    ok(owner.client.delete(f"/api/activities/{by_viewer['id']}"), 204)  # the album's owner
    left = ok(owner.client.get("/api/activities", params={"albumId": album["album"]}))
    assert not {by_editor["id"], by_viewer["id"]} & {a["id"] for a in left}
    refused(owner.client.delete(f"/api/activities/{by_viewer['id']}"), "activity.delete")


def test_stranger_and_anonymous_are_refused(
    stack: Stack, people: dict[str, User], album: dict[str, str]
) -> None:
    stranger = people["stranger"]
    mine = ok(
        people["owner"].client.post(
            "/api/activities",
            json={"albumId": album["album"], "type": "comment", "comment": "private"},
        ),
        201,
    )
    params = {"albumId": album["album"]}
    refused(stranger.client.get("/api/activities", params=params), "album.read")
    refused(stranger.client.get("/api/activities/statistics", params=params), "album.read")
    refused(
        stranger.client.post("/api/activities", json={**params, "type": "like"}),
        "activity.create",
    )
    refused(stranger.client.delete(f"/api/activities/{mine['id']}"), "activity.delete")
    # an asset the stranger owns does not open the album either
    theirs = upload_new(stranger)
    refused(
        stranger.client.post("/api/activities", json={**params, "assetId": theirs, "type": "like"}),
        "activity.create",
    )
    # a member cannot hang activity on an asset outside the album
    refused(
        people["editor"].client.post(
            "/api/activities", json={**params, "assetId": theirs, "type": "like"}
        ),
        "activity.create",
    )
    refused(
        stranger.client.get("/api/activities", params={"albumId": str(uuid.uuid4())}),
        "album.read",
    )
    anon = httpx.Client(base_url=stack.url, timeout=60)
    for r in (
        anon.get("/api/activities", params=params),
        anon.post("/api/activities", json={**params, "type": "like"}),
        anon.delete(f"/api/activities/{mine['id']}"),
        anon.get("/api/activities/statistics", params=params),
    ):
        assert r.status_code == 401, r.text


def test_album_with_activity_off_takes_none(people: dict[str, User], album: dict[str, str]) -> None:
    owner, editor = people["owner"], people["editor"]
    r = owner.client.patch(f"/api/albums/{album['album']}", json={"isActivityEnabled": False})
    assert r.status_code == 200 and r.json()["isActivityEnabled"] is False, r.text
    try:
        refused(
            editor.client.post("/api/activities", json={"albumId": album["album"], "type": "like"}),
            "activity.create",
        )
        ok(editor.client.get("/api/activities", params={"albumId": album["album"]}))  # still read
    finally:
        owner.client.patch(f"/api/albums/{album['album']}", json={"isActivityEnabled": True})
