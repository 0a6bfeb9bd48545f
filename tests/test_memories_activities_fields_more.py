"""Memories and album activity: behaviours no other test exercises, each as Immich 3.1 has it.

* An asset taken out of an album takes its comments and likes there with it (Immich's
  ``activity`` table has a foreign key ``(albumId, assetId)`` to ``album_asset`` with
  ``ON DELETE CASCADE``, schema ``activity.table.ts``): ``GET /api/activities`` and
  ``/statistics`` no longer count them, and once the asset is back in the album a new like is a
  new like (201), not the old one (200). The same holds when the asset moves into the locked
  folder, which takes it out of every album (``AssetService.updateAll`` ->
  ``albumRepository.removeAssetsFromAll``).
* A comment of spaces is a comment: ``ActivityCreateDto.comment`` is only ``@IsNotEmpty()``
  (``""`` refused, ``"  "`` kept as sent).
* ``memory-cleanup`` also unlinks from every memory the assets that left the timeline
  (archived, hidden, locked: ``MemoryRepository.cleanup`` deletes ``memory_asset`` rows whose
  asset's visibility is not ``timeline``), so an asset archived then brought back is no longer
  in the memory.
* A generated "on this day" memory holds at most 20 assets of its year (Immich's
  ``AssetRepository.getByDayOfYear``, used by ``MemoryService.createOnThisDayMemories``, takes
  ``limit(20)`` assets a year).
* Stranger checks: ``userId`` of another user filters ``GET /api/activities`` to nothing (200,
  as Immich's ``ActivityService.getAll`` only checks ``album.read`` on the album), and a
  stranger's asset never lands in a memory through ``PUT /api/memories/{id}/assets``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from darkroom_stack.supervisor import Stack

from .conftest import User, make_user, noise_jpeg, upload_jpeg, wait_processed

PIN = "052913"


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, (r.request.method, r.request.url, r.status_code, r.text)
    return r.json() if r.content else None


@pytest.fixture(scope="module")
def people(stack: Stack, admin: User) -> dict[str, User]:
    """An album owner, a member (editor) and a stranger."""
    return {name: make_user(stack, admin) for name in ("owner", "member", "stranger")}


@pytest.fixture(scope="module")
def photos(people: dict[str, User]) -> list[str]:
    """Four processed photos of the owner."""
    owner = people["owner"]
    ids = [upload_jpeg(owner, noise_jpeg(8300 + i)) for i in range(4)]
    wait_processed(owner, ids)
    return ids


def _album(people: dict[str, User], assets: list[str]) -> str:
    r = people["owner"].client.post(
        "/api/albums",
        json={
            "albumName": "Activity more",
            "assetIds": assets,
            "albumUsers": [{"userId": people["member"].id, "role": "editor"}],
        },
    )
    return str(ok(r, 201)["id"])


def _activity_ids(user: User, album: str, **params: str) -> list[str]:
    r = user.client.get("/api/activities", params={"albumId": album, **params})
    return [a["id"] for a in ok(r)]


def test_removing_an_asset_from_the_album_removes_its_activity(
    people: dict[str, User], photos: list[str]
) -> None:
    owner, member = people["owner"], people["member"]
    asset, other = photos[0], photos[1]
    album = _album(people, [asset, other])
    on_album = {"albumId": album, "type": "comment", "comment": "album"}
    kept = ok(member.client.post("/api/activities", json=on_album), 201)["id"]
    like = {"albumId": album, "assetId": asset, "type": "like"}
    liked = ok(member.client.post("/api/activities", json=like), 201)["id"]
    comment = {**like, "type": "comment", "comment": "on the asset"}
    ok(owner.client.post("/api/activities", json=comment), 201)
    other_like = ok(member.client.post("/api/activities", json={**like, "assetId": other}), 201)
    stats = {"albumId": album}
    assert ok(owner.client.get("/api/activities/statistics", params=stats)) == {
        "comments": 2,
        "likes": 2,
    }

    out = owner.client.request("DELETE", f"/api/albums/{album}/assets", json={"ids": [asset]})
    assert ok(out) == [{"id": asset, "success": True}]
    assert _activity_ids(owner, album) == [kept, other_like["id"]]
    assert _activity_ids(member, album, assetId=asset) == []
    assert ok(owner.client.get("/api/activities/statistics", params=stats)) == {
        "comments": 1,
        "likes": 1,
    }
    with_asset = {"albumId": album, "assetId": asset}
    assert ok(owner.client.get("/api/activities/statistics", params=with_asset)) == {
        "comments": 0,
        "likes": 0,
    }

    # back in the album, the old like is gone for good: liking again is a new like
    ok(owner.client.put(f"/api/albums/{album}/assets", json={"ids": [asset]}))
    assert _activity_ids(owner, album, assetId=asset) == []
    again = ok(member.client.post("/api/activities", json=like), 201)
    assert again["id"] != liked


def test_moving_an_asset_to_the_locked_folder_removes_its_activity(
    stack: Stack, people: dict[str, User], photos: list[str]
) -> None:
    owner, member = people["owner"], people["member"]
    asset = photos[2]
    album = _album(people, [asset])
    ok(member.client.post("/api/activities", json={"albumId": album, "type": "like"}), 201)
    body = {"albumId": album, "assetId": asset, "type": "comment", "comment": "soon locked"}
    ok(member.client.post("/api/activities", json=body), 201)

    login = httpx.post(
        f"{stack.url}/api/auth/login",
        json={"email": owner.email, "password": owner.password},
        timeout=60,
    )
    token = ok(login, 201)["accessToken"]
    session = httpx.Client(
        base_url=stack.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )
    ok(session.post("/api/auth/pin-code", json={"pinCode": PIN}), 204)
    ok(session.post("/api/auth/session/unlock", json={"pinCode": PIN}), 204)
    ok(session.put("/api/assets", json={"ids": [asset], "visibility": "locked"}), 204)

    left = ok(owner.client.get("/api/activities", params={"albumId": album}))
    assert [(a["type"], a["assetId"]) for a in left] == [("like", None)]
    stats = owner.client.get("/api/activities/statistics", params={"albumId": album})
    assert ok(stats) == {"comments": 0, "likes": 1}


def test_a_comment_of_spaces_is_kept(people: dict[str, User], photos: list[str]) -> None:
    member = people["member"]
    album = _album(people, [photos[3]])
    body = {"albumId": album, "type": "comment", "comment": "   "}
    made = ok(member.client.post("/api/activities", json=body), 201)
    assert made["comment"] == "   " and made["type"] == "comment"
    empty = member.client.post("/api/activities", json={**body, "comment": ""})
    assert empty.status_code == 400, empty.text


def test_user_filter_with_a_strangers_id_finds_nothing(
    people: dict[str, User], photos: list[str]
) -> None:
    owner, stranger = people["owner"], people["stranger"]
    album = _album(people, [photos[3]])
    ok(owner.client.post("/api/activities", json={"albumId": album, "type": "like"}), 201)
    assert _activity_ids(owner, album, userId=stranger.id) == []
    assert len(_activity_ids(owner, album, userId=owner.id)) == 1


def test_cleanup_unlinks_assets_that_left_the_timeline(
    admin: User, people: dict[str, User], photos: list[str]
) -> None:
    owner, stranger = people["owner"], people["stranger"]
    c = owner.client
    body = {
        "type": "on_this_day",
        "data": {"year": 2011},
        "memoryAt": "2011-05-04T00:00:00.000Z",
        "assetIds": [photos[0], photos[1]],
        "isSaved": True,  # kept by the cleanup, which removes unsaved old ones
    }
    memory = ok(c.post("/api/memories", json=body), 201)["id"]
    theirs = upload_jpeg(stranger, noise_jpeg(8399))
    added = ok(c.put(f"/api/memories/{memory}/assets", json={"ids": [theirs]}))
    assert added == [{"id": theirs, "success": False, "error": "no_permission"}]

    archive = {"ids": [photos[1]], "visibility": "archive"}
    ok(c.put("/api/assets", json=archive), 204)
    try:
        ok(admin.client.post("/api/jobs", json={"name": "memory-cleanup"}), 204)
    finally:
        ok(c.put("/api/assets", json={**archive, "visibility": "timeline"}), 204)
    got = ok(c.get(f"/api/memories/{memory}"))
    assert [a["id"] for a in got["assets"]] == [photos[0]]
    # the asset may be linked again, as a new link
    again = ok(c.put(f"/api/memories/{memory}/assets", json={"ids": [photos[1]]}))
    assert again == [{"id": photos[1], "success": True}]


def test_a_generated_memory_holds_at_most_twenty_assets(stack: Stack, admin: User) -> None:
    collector = make_user(stack, admin)  # alone on this day: no other memory mixes in
    day = datetime.now(UTC).date()
    if (day.month, day.day) == (2, 29):
        pytest.skip("29 February: 2015 has no such day")
    ids = [upload_jpeg(collector, noise_jpeg(8500 + i)) for i in range(21)]
    wait_processed(collector, ids, timeout=600)
    when = f"2015-{day.month:02d}-{day.day:02d}T10:00:00.000Z"
    ok(collector.client.put("/api/assets", json={"ids": ids, "dateTimeOriginal": when}), 204)
    ok(admin.client.post("/api/jobs", json={"name": "memory-create"}), 204)
    found = ok(collector.client.get("/api/memories", params={"for": day.isoformat()}))
    assert [m["data"] for m in found] == [{"year": 2015}], found
    shown = [a["id"] for a in found[0]["assets"]]
    assert len(shown) == 20 and set(shown) < set(ids), shown
