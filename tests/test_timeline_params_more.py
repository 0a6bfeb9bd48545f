"""Timeline query parameters no other test exercises on a success path, checked against what
Immich 3.1 does (``timeline.service.ts`` ``timeBucketChecks`` / ``buildTimeBucketOptions`` and
``asset.repository.ts`` ``getTimeBuckets`` / ``getTimeBucket``):

* ``userId`` of a partner who shares with the caller: allowed (``Permission.TimelineRead`` is
  the user themself *or* a partner), the partner's assets; ``visibility=archive`` for it is not
  (``Permission.ArchiveRead`` is the owner only).
* ``userId`` together with ``albumId``: the album's assets owned by that user only
  (``userIds`` -> ``asset.ownerId = ANY(...)`` on top of the album join).
* ``isTrashed=true`` without ``visibility``: Immich's ``withDefaultVisibility`` (archive and
  timeline), so an archived asset moved to the trash is in the trash timeline (the web's trash
  page asks for exactly ``{isTrashed: true}``).
* ``tagId`` of someone else's tag: 400 (``Permission.TagRead``).
* ``bbox`` and ``orderBy=createdAt``: only assets inside the box; buckets by upload month.
"""

from __future__ import annotations

import pytest
from darkroom_stack.supervisor import Stack

from .conftest import User, make_user, noise_jpeg, upload_jpeg, wait_processed
from .test_assets_timeline import bucket, buckets


def timeline_ids(user: User, **params: object) -> set[str]:
    """Every asset id of every bucket, checking each bucket's count against its ids."""
    ids: set[str] = set()
    for month, count in buckets(user, **params).items():
        got = bucket(user, month, **params)["id"]
        assert len(got) == count, (month, count, got)
        ids |= {str(i) for i in got}
    return ids


def put(user: User, path: str, body: dict[str, object], status: int = 200) -> object:
    r = user.client.put(path, json=body)
    assert r.status_code == status, r.text
    return r.json() if r.content else None


@pytest.fixture(scope="module")
def users(stack: Stack, admin: User) -> tuple[User, User, User]:
    """A sharer, their partner (shared with), and a stranger: fresh for this module."""
    return make_user(stack, admin), make_user(stack, admin), make_user(stack, admin)


@pytest.fixture(scope="module")
def photos(users: tuple[User, User, User]) -> dict[str, str]:
    """The sharer's ``shown`` (timeline), ``archived`` and ``binned`` (archived, then trashed)
    photos taken 2003-2005, and the partner's ``mine`` (2006). Name -> id."""
    sharer, partner, _ = users
    ids = {
        "shown": upload_jpeg(sharer, noise_jpeg(9101), "2003-03-03T10:00:00.000Z"),
        "archived": upload_jpeg(sharer, noise_jpeg(9102), "2004-04-04T10:00:00.000Z"),
        "binned": upload_jpeg(sharer, noise_jpeg(9103), "2005-05-05T10:00:00.000Z"),
    }
    mine = upload_jpeg(partner, noise_jpeg(9104), "2006-06-06T10:00:00.000Z")
    wait_processed(sharer, list(ids.values()))
    wait_processed(partner, [mine])
    put(
        sharer,
        "/api/assets",
        {"ids": [ids["archived"], ids["binned"]], "visibility": "archive"},
        204,
    )
    r = sharer.client.request("DELETE", "/api/assets", json={"ids": [ids["binned"]]})
    assert r.status_code == 204, r.text
    r = sharer.client.post("/api/partners", json={"sharedWithId": partner.id})
    assert r.status_code == 201, r.text
    return {**ids, "mine": mine}


def test_user_id_of_a_partner_is_their_timeline(
    users: tuple[User, User, User], photos: dict[str, str]
) -> None:
    sharer, partner, stranger = users
    # Immich's web partner page: {userId: partner, visibility: timeline, withStacked: true}
    view = {"userId": sharer.id, "visibility": "timeline", "withStacked": "true"}
    assert buckets(partner, **view) == {"2003-03-01": 1}
    got = bucket(partner, "2003-03-01", **view)
    assert got["id"] == [photos["shown"]] and got["ownerId"] == [sharer.id]
    assert got["stack"] == [None]
    # their archive stays theirs (ArchiveRead is the owner only), and a stranger sees nothing
    r = partner.client.get(
        "/api/timeline/buckets", params={"userId": sharer.id, "visibility": "archive"}
    )
    assert r.status_code == 400, r.text
    r = stranger.client.get("/api/timeline/buckets", params={"userId": sharer.id})
    assert r.status_code == 400, r.text
    # the sharer naming themself is their own timeline, as without userId
    own = {"userId": sharer.id, "visibility": "timeline"}
    assert timeline_ids(sharer, **own) == timeline_ids(sharer, visibility="timeline")


def test_user_id_narrows_an_album_to_that_owner(
    users: tuple[User, User, User], photos: dict[str, str]
) -> None:
    sharer, partner, _ = users
    r = sharer.client.post(
        "/api/albums",
        json={
            "albumName": "both of us",
            "assetIds": [photos["shown"]],
            "albumUsers": [{"userId": partner.id, "role": "editor"}],
        },
    )
    assert r.status_code == 201, r.text
    album = r.json()["id"]
    added = put(partner, f"/api/albums/{album}/assets", {"ids": [photos["mine"]]})
    assert isinstance(added, list) and added[0]["success"] is True, added
    both = {photos["shown"], photos["mine"]}
    assert timeline_ids(sharer, albumId=album) == both
    assert timeline_ids(sharer, albumId=album, userId=sharer.id) == {photos["shown"]}
    assert buckets(partner, albumId=album, userId=partner.id) == {"2006-06-01": 1}
    assert timeline_ids(partner, albumId=album, userId=partner.id) == {photos["mine"]}


def test_trash_timeline_holds_archived_assets_too(
    users: tuple[User, User, User], photos: dict[str, str]
) -> None:
    sharer, _, _ = users
    # the asset is in the trash (the trash lists it, restore/empty act on it) ...
    row = sharer.client.get(f"/api/assets/{photos['binned']}").json()
    assert row["isTrashed"] is True and row["visibility"] == "archive"
    # ... so the trash page's timeline ({isTrashed: true}, no visibility) shows it
    assert buckets(sharer, isTrashed="true") == {"2005-05-01": 1}
    got = bucket(sharer, "2005-05-01", isTrashed="true")
    assert got["id"] == [photos["binned"]] and got["isTrashed"] == [True]
    assert got["visibility"] == ["archive"]
    # naming a visibility still narrows: the trashed archived asset is not a timeline one
    assert buckets(sharer, isTrashed="true", visibility="timeline") == {}


def test_tag_id_of_someone_else_is_refused(
    users: tuple[User, User, User], photos: dict[str, str]
) -> None:
    sharer, _, stranger = users
    r = sharer.client.post("/api/tags", json={"name": "private-9101"})
    assert r.status_code == 201, r.text
    tag = r.json()["id"]
    put(sharer, f"/api/tags/{tag}/assets", {"ids": [photos["shown"]]})
    assert timeline_ids(sharer, tagId=tag) == {photos["shown"]}
    for path, extra in (
        ("/api/timeline/buckets", {}),
        ("/api/timeline/bucket", {"timeBucket": "2003-03-01"}),
    ):
        r = stranger.client.get(path, params={"tagId": tag, **extra})
        assert r.status_code == 400, (path, r.status_code, r.text)


def test_bbox_and_order_by_created_at(stack: Stack, admin: User) -> None:
    user = make_user(stack, admin)
    places = {"paris": (48.8566, 2.3522), "sydney": (-33.8688, 151.2093)}
    ids = {
        "paris": upload_jpeg(user, noise_jpeg(9201), "2001-01-10T10:00:00.000Z"),
        "sydney": upload_jpeg(user, noise_jpeg(9202), "2002-02-10T10:00:00.000Z"),
        "nowhere": upload_jpeg(user, noise_jpeg(9203), "2001-01-20T10:00:00.000Z"),
    }
    wait_processed(user, list(ids.values()))
    for name, (lat, lon) in places.items():
        put(user, f"/api/assets/{ids[name]}", {"latitude": lat, "longitude": lon})
    europe = "-10,35,30,60"  # west,south,east,north
    assert buckets(user, bbox=europe) == {"2001-01-01": 1}
    assert bucket(user, "2001-01-01", bbox=europe)["id"] == [ids["paris"]]
    assert bucket(user, "2002-02-01", bbox=europe)["id"] == []
    world = "-180,-90,180,90"
    assert timeline_ids(user, bbox=world) == {ids["paris"], ids["sydney"]}
    assert user.client.get("/api/timeline/buckets", params={"bbox": "1,2,3"}).status_code == 400

    # orderBy=createdAt: buckets by upload month, ordered by upload time
    created = {
        name: str(user.client.get(f"/api/assets/{i}").json()["createdAt"])
        for name, i in ids.items()
    }
    by_upload = sorted(ids, key=lambda name: created[name])
    months: dict[str, int] = {}
    for name in by_upload:
        months[created[name][:7] + "-01"] = months.get(created[name][:7] + "-01", 0) + 1
    assert "2001-01-01" not in months and buckets(user, orderBy="createdAt") == months
    month = created[by_upload[0]][:7] + "-01"
    if months == {month: 3}:  # all uploaded within one month (not across a month end)
        newest_first = bucket(user, month, orderBy="createdAt")["id"]
        assert newest_first == [ids[n] for n in reversed(by_upload)]
        oldest_first = bucket(user, month, orderBy="createdAt", order="asc")["id"]
        assert oldest_first == [ids[n] for n in by_upload]
    # by capture month (the default): two months, newest first, or oldest first with asc
    assert list(buckets(user)) == ["2002-02-01", "2001-01-01"]
    assert list(buckets(user, order="asc")) == ["2001-01-01", "2002-02-01"]
    assert bucket(user, "2001-01-01", order="asc")["id"] == [ids["paris"], ids["nowhere"]]
