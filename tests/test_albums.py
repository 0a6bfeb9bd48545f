"""Albums and album sharing over HTTP against the running embedded stack.

What this proves: the album lifecycle (create, list, get, update, delete) with per-id results for
adding and removing assets, the capture-date range and count following the assets, the
thumbnail following the assets; sharing as viewer then editor with the permissions each role
has; members seeing the album's assets (info, thumbnail, original) and nobody else seeing any of
it; statistics.
"""

from __future__ import annotations

import os
import time
import uuid
from datetime import datetime

import httpx
import pytest
import pyvips
from darkroom_stack.supervisor import Stack

from .conftest import User, make_user, upload_jpeg


@pytest.fixture(scope="module")
def third_user(stack: Stack, admin: User) -> User:
    """A user no album is shared with."""
    return make_user(stack, admin)


def jpeg() -> bytes:
    """A small JPEG of random pixels (so each has its own SHA-1)."""
    image = pyvips.Image.new_from_memory(os.urandom(64 * 48 * 3), 64, 48, 3, "uchar")
    return bytes(image.jpegsave_buffer(Q=90))


def upload_new(user: User, created_at: str = "2020-01-01T00:00:00.000Z") -> str:
    """Upload a fresh generated JPEG taken (fileCreatedAt) at ``created_at``; its asset id."""
    return upload_jpeg(user, jpeg(), created_at)


def when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def ok_json(r: httpx.Response, status: int = 200) -> object:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    return r.json()


def results(r: httpx.Response) -> list[tuple[str, bool, str | None]]:
    body = ok_json(r)
    assert isinstance(body, list)
    return [(x["id"], x["success"], x.get("error")) for x in body]


def wait_for_thumbnail(user: User, asset_id: str, timeout: float = 90) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        r = user.client.get(f"/api/assets/{asset_id}/thumbnail")
        if r.status_code == 200 or time.monotonic() > deadline:
            return r
        time.sleep(0.3)


def test_album_lifecycle(admin: User) -> None:
    c = admin.client
    before = ok_json(c.get("/api/albums/statistics"))
    a1 = upload_new(admin, "2019-05-01T10:00:00.000Z")
    a2 = upload_new(admin, "2021-07-01T12:30:00.000Z")
    a3 = upload_new(admin, "2020-02-02T08:00:00.000Z")

    album = ok_json(
        c.post(
            "/api/albums",
            json={"albumName": "Holidays", "description": "sea", "assetIds": [a1]},
        ),
        201,
    )
    assert isinstance(album, dict)
    album_id = album["id"]
    assert album["albumName"] == "Holidays" and album["description"] == "sea"
    assert album["assetCount"] == 1
    assert album["albumThumbnailAssetId"] == a1
    assert album["shared"] is False and album["hasSharedLink"] is False
    assert album["isActivityEnabled"] is True and album["order"] == "desc"
    assert [(u["role"], u["user"]["id"]) for u in album["albumUsers"]] == [("owner", admin.id)]
    assert album["albumUsers"][0]["user"]["email"] == admin.email
    assert when(album["startDate"]) == when(album["endDate"]) == when("2019-05-01T10:00:00Z")

    unknown = str(uuid.uuid4())
    assert results(
        c.put(f"/api/albums/{album_id}/assets", json={"ids": [a2, a3, a1, unknown]})
    ) == [
        (a2, True, None),
        (a3, True, None),
        (a1, False, "duplicate"),
        (unknown, False, "no_permission"),
    ]
    got = ok_json(c.get(f"/api/albums/{album_id}"))
    assert isinstance(got, dict)
    assert got["assetCount"] == 3
    # GET gives the days of the earliest and latest asset (Immich getMetadataForIds)
    assert when(got["startDate"]) == when("2019-05-01T00:00:00Z")
    assert when(got["endDate"]) == when("2021-07-01T00:00:00Z")
    assert got["albumThumbnailAssetId"] == a1
    assert "contributorCounts" not in got  # only for a shared album (Immich AlbumService.get)
    assert "lastModifiedAssetTimestamp" in got

    updated = ok_json(
        c.patch(
            f"/api/albums/{album_id}",
            json={
                "albumName": "Summer",
                "description": "",
                "order": "asc",
                "albumThumbnailAssetId": a2,
                "isActivityEnabled": False,
            },
        )
    )
    assert isinstance(updated, dict)
    assert (updated["albumName"], updated["description"], updated["order"]) == ("Summer", "", "asc")
    assert updated["albumThumbnailAssetId"] == a2 and updated["isActivityEnabled"] is False
    bad = c.patch(f"/api/albums/{album_id}", json={"albumThumbnailAssetId": unknown})
    assert bad.status_code == 400, bad.text

    # Removing the thumbnail asset falls back to the first asset added.
    assert results(
        c.request("DELETE", f"/api/albums/{album_id}/assets", json={"ids": [a2, unknown]})
    ) == [
        (a2, True, None),
        (unknown, False, "not_found"),
    ]
    got = ok_json(c.get(f"/api/albums/{album_id}"))
    assert isinstance(got, dict)
    assert got["assetCount"] == 2 and got["albumThumbnailAssetId"] == a1
    assert when(got["endDate"]) == when("2020-02-02T00:00:00Z")

    listed = ok_json(c.get("/api/albums"))
    assert isinstance(listed, list) and album_id in [a["id"] for a in listed]
    with_a3 = ok_json(c.get("/api/albums", params={"assetId": a3}))
    assert isinstance(with_a3, list) and [a["id"] for a in with_a3] == [album_id]
    assert ok_json(c.get("/api/albums", params={"assetId": a2})) == []
    not_shared = ok_json(c.get("/api/albums", params={"isShared": "false"}))
    assert isinstance(not_shared, list) and album_id in [a["id"] for a in not_shared]
    assert album_id not in [
        a["id"] for a in ok_json(c.get("/api/albums", params={"isShared": "true"}))
    ]  # type: ignore[union-attr]

    after = ok_json(c.get("/api/albums/statistics"))
    assert isinstance(after, dict) and isinstance(before, dict)
    assert after["owned"] == before["owned"] + 1
    assert after["notShared"] == before["notShared"] + 1
    assert after["shared"] == before["shared"]

    # Many assets into many albums.
    second = ok_json(c.post("/api/albums", json={"albumName": "Second"}), 201)
    assert isinstance(second, dict) and second["assetCount"] == 0
    assert second["albumThumbnailAssetId"] is None and "startDate" not in second
    r = ok_json(
        c.put(
            "/api/albums/assets", json={"albumIds": [album_id, second["id"]], "assetIds": [a2, a3]}
        )
    )
    assert r == {"success": True}
    assert ok_json(c.get(f"/api/albums/{second['id']}"))["assetCount"] == 2  # type: ignore[index]
    assert ok_json(c.get(f"/api/albums/{album_id}"))["assetCount"] == 3  # type: ignore[index]

    assert c.delete(f"/api/albums/{album_id}").status_code == 204
    assert c.get(f"/api/albums/{album_id}").status_code == 400
    assert c.delete(f"/api/albums/{album_id}").status_code == 400
    # The assets outlive the album.
    assert c.get(f"/api/assets/{a1}").status_code == 200


def test_sharing(admin: User, other_user: User, third_user: User) -> None:
    owner, member, stranger = admin.client, other_user.client, third_user.client
    shared_asset = upload_new(admin)
    private_asset = upload_new(admin)
    member_stats = ok_json(member.get("/api/albums/statistics"))
    assert isinstance(member_stats, dict)

    album = ok_json(
        owner.post(
            "/api/albums",
            json={
                "albumName": "Family",
                "assetIds": [shared_asset],
                "albumUsers": [{"userId": other_user.id, "role": "viewer"}],
            },
        ),
        201,
    )
    assert isinstance(album, dict)
    album_id = album["id"]
    assert album["shared"] is True
    assert [(u["role"], u["user"]["id"]) for u in album["albumUsers"]] == [
        ("owner", admin.id),
        ("viewer", other_user.id),
    ]

    # The viewer sees the album and its asset, but cannot change anything.
    seen = ok_json(member.get("/api/albums", params={"isOwned": "false"}))
    assert isinstance(seen, list) and album_id in [a["id"] for a in seen]
    as_member = ok_json(member.get(f"/api/albums/{album_id}"))
    assert isinstance(as_member, dict) and as_member["assetCount"] == 1
    assert [u["user"]["id"] for u in as_member["albumUsers"]] == [admin.id, other_user.id]
    info = ok_json(member.get(f"/api/assets/{shared_asset}"))
    assert isinstance(info, dict) and info["ownerId"] == admin.id
    assert wait_for_thumbnail(other_user, shared_asset).status_code == 200
    original = member.get(f"/api/assets/{shared_asset}/original")
    assert original.status_code == 200 and original.content[:2] == b"\xff\xd8"
    assert member.get(f"/api/assets/{private_asset}").status_code == 400
    assert member.put(f"/api/albums/{album_id}/assets", json={"ids": []}).status_code == 400
    assert member.patch(f"/api/albums/{album_id}", json={"albumName": "x"}).status_code == 400
    assert member.delete(f"/api/albums/{album_id}").status_code == 400
    assert (
        member.put(
            f"/api/albums/{album_id}/users", json={"albumUsers": [{"userId": third_user.id}]}
        ).status_code
        == 400
    )

    # A third user sees none of it.
    assert stranger.get(f"/api/albums/{album_id}").status_code == 400
    assert album_id not in [a["id"] for a in ok_json(stranger.get("/api/albums"))]  # type: ignore[union-attr]
    for path in ("", "/thumbnail", "/original"):
        assert stranger.get(f"/api/assets/{shared_asset}{path}").status_code == 400
    assert stranger.put(f"/api/albums/{album_id}/assets", json={"ids": []}).status_code == 400
    assert stranger.delete(f"/api/albums/{album_id}").status_code == 400
    assert stranger.delete(f"/api/albums/{album_id}/user/me").status_code == 400
    assert stranger.get(f"/api/albums/{album_id}/map-markers").status_code == 400

    # Sharing with the owner or an existing member again is skipped (Immich's addUsers).
    for again in (admin.id, other_user.id):
        r = owner.put(f"/api/albums/{album_id}/users", json={"albumUsers": [{"userId": again}]})
        assert r.status_code == 200, r.text
        assert [(u["role"], u["user"]["id"]) for u in r.json()["albumUsers"]] == [
            ("owner", admin.id),
            ("viewer", other_user.id),
        ]

    # Promoted to editor: may add own assets (not others' private ones), remove only own.
    r = owner.put(f"/api/albums/{album_id}/user/{other_user.id}", json={"role": "editor"})
    assert r.status_code == 204, r.text
    mine = upload_new(other_user)
    assert results(
        member.put(f"/api/albums/{album_id}/assets", json={"ids": [mine, private_asset]})
    ) == [(mine, True, None), (private_asset, False, "no_permission")]
    assert results(
        member.request("DELETE", f"/api/albums/{album_id}/assets", json={"ids": [shared_asset]})
    ) == [(shared_asset, False, "no_permission")]
    got = ok_json(owner.get(f"/api/albums/{album_id}"))
    assert isinstance(got, dict) and got["assetCount"] == 2
    assert sorted((c["userId"], c["assetCount"]) for c in got["contributorCounts"]) == sorted(
        [(admin.id, 1), (other_user.id, 1)]
    )
    # The owner sees the member's asset through the album; the stranger still does not.
    assert ok_json(owner.get(f"/api/assets/{mine}"))["ownerId"] == other_user.id  # type: ignore[index]
    assert stranger.get(f"/api/assets/{mine}").status_code == 400

    stats = ok_json(member.get("/api/albums/statistics"))
    assert isinstance(stats, dict)
    assert stats["shared"] == member_stats["shared"] + 1
    assert stats["owned"] == member_stats["owned"]

    # Members leave (or are removed); the owner cannot be removed.
    assert member.delete(f"/api/albums/{album_id}/user/{admin.id}").status_code == 400
    assert owner.delete(f"/api/albums/{album_id}/user/{admin.id}").status_code == 400
    assert owner.delete(f"/api/albums/{album_id}/user/me").status_code == 400
    assert member.delete(f"/api/albums/{album_id}/user/me").status_code == 204
    assert member.get(f"/api/albums/{album_id}").status_code == 400
    assert member.get(f"/api/assets/{shared_asset}").status_code == 400
    after_leave = ok_json(owner.get(f"/api/albums/{album_id}"))
    assert isinstance(after_leave, dict) and after_leave["shared"] is False
    assert [u["role"] for u in after_leave["albumUsers"]] == ["owner"]
    assert owner.delete(f"/api/albums/{album_id}/user/{other_user.id}").status_code == 400
