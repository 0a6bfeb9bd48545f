"""Replays Immich's server/src/services/album.service.spec.ts over HTTP on the running stack.

The spec calls ``AlbumService`` with mocked repositories; here each case a client can observe
is checked through its route (``AlbumController``). Checked here:

- create: an unknown user among ``albumUsers`` is 400 ``Invalid user`` and creates nothing;
  only the assets the caller may share go in, the first of them as thumbnail;
- update: a thumbnail asset that is not in the album is 400 ``Invalid album thumbnail`` and
  changes nothing;
- addUsers: an unknown user is 400 ``Invalid user``, the ``owner`` role 400
  ``Cannot add another owner``; neither changes the album's users;
- removeUser: the owner (by id or ``me``) is 400 ``Cannot remove the last album owner``, a
  user not in the album 400 ``Album not shared with user``; a member may leave with ``me``;
- addAssets: a partner's asset may be added; an album that has a thumbnail keeps it; an
  asset the caller sees only through an album shared with them is ``no_permission``
  (``AssetShare`` access: owner or partner).

The spec's other cases (statistics, list filters, access refusals, per-id add/remove results,
the thumbnail reset on removal, editors sharing) are covered by tests/test_albums.py,
tests/test_e2e_album.py and tests/test_album_link_fields_more.py.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from darkroom_stack.supervisor import Stack

from .conftest import User, make_user, noise_jpeg, upload_jpeg


@pytest.fixture(scope="module")
def users(stack: Stack, admin: User) -> dict[str, User]:
    """Fresh users of this module's: ``owner`` and ``friend``."""
    return {name: make_user(stack, admin) for name in ("owner", "friend")}


def album(user: User, name: str, **extra: object) -> dict[str, Any]:
    r = user.client.post("/api/albums", json={"albumName": name, **extra})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def message(r: httpx.Response) -> str:
    assert r.status_code == 400, r.text
    return str(r.json()["message"])


def album_user_ids(user: User, album_id: str) -> list[str]:
    r = user.client.get(f"/api/albums/{album_id}")
    assert r.status_code == 200, r.text
    return sorted(u["user"]["id"] for u in r.json()["albumUsers"])


def test_create_with_unknown_user_is_invalid_user(users: dict[str, User]) -> None:
    owner = users["owner"]
    before = len(owner.client.get("/api/albums").json())
    ghost = {"userId": str(uuid.uuid4()), "role": "editor"}
    r = owner.client.post("/api/albums", json={"albumName": "ghost", "albumUsers": [ghost]})
    assert message(r) == "Invalid user"
    assert len(owner.client.get("/api/albums").json()) == before


def test_create_keeps_only_assets_the_caller_may_share(users: dict[str, User]) -> None:
    owner, friend = users["owner"], users["friend"]
    mine, theirs = upload_jpeg(owner, noise_jpeg(4101)), upload_jpeg(friend, noise_jpeg(4102))
    made = album(owner, "some", assetIds=[theirs, mine])
    assert made["assetCount"] == 1 and made["albumThumbnailAssetId"] == mine


def test_thumbnail_must_be_in_the_album(users: dict[str, User]) -> None:
    owner = users["owner"]
    inside, outside = upload_jpeg(owner, noise_jpeg(4103)), upload_jpeg(owner, noise_jpeg(4104))
    made = album(owner, "thumb", assetIds=[inside])
    r = owner.client.patch(f"/api/albums/{made['id']}", json={"albumThumbnailAssetId": outside})
    assert message(r) == "Invalid album thumbnail"
    got = owner.client.get(f"/api/albums/{made['id']}").json()
    assert got["albumThumbnailAssetId"] == inside


def test_add_users_refuses_unknown_users_and_owners(users: dict[str, User]) -> None:
    owner, friend = users["owner"], users["friend"]
    made = album(owner, "share")
    url = f"/api/albums/{made['id']}/users"
    ghost = {"userId": str(uuid.uuid4()), "role": "editor"}
    assert message(owner.client.put(url, json={"albumUsers": [ghost]})) == "Invalid user"
    second_owner = {"userId": friend.id, "role": "owner"}
    r = owner.client.put(url, json={"albumUsers": [second_owner]})
    assert message(r) == "Cannot add another owner"
    assert album_user_ids(owner, made["id"]) == [owner.id]


def test_remove_user_refuses_the_owner_and_non_members(users: dict[str, User]) -> None:
    owner, friend = users["owner"], users["friend"]
    made = album(owner, "leave", albumUsers=[{"userId": friend.id, "role": "viewer"}])
    base = f"/api/albums/{made['id']}/user"
    for who in (owner.id, "me"):
        r = owner.client.delete(f"{base}/{who}")
        assert message(r) == "Cannot remove the last album owner"
    assert message(owner.client.delete(f"{base}/{uuid.uuid4()}")) == "Album not shared with user"
    assert friend.client.delete(f"{base}/me").status_code == 204
    assert album_user_ids(owner, made["id"]) == [owner.id]


def test_partner_assets_can_be_added_and_the_thumbnail_stays(users: dict[str, User]) -> None:
    owner, friend = users["owner"], users["friend"]
    r = friend.client.post("/api/partners", json={"sharedWithId": owner.id})
    assert r.status_code in (200, 201), r.text
    first, partners = upload_jpeg(owner, noise_jpeg(4105)), upload_jpeg(friend, noise_jpeg(4106))
    made = album(owner, "partner", assetIds=[first])
    r = owner.client.put(f"/api/albums/{made['id']}/assets", json={"ids": [partners]})
    assert r.status_code == 200, r.text
    assert r.json() == [{"id": partners, "success": True}]
    got = owner.client.get(f"/api/albums/{made['id']}").json()
    assert got["assetCount"] == 2 and got["albumThumbnailAssetId"] == first


def test_an_asset_seen_through_a_shared_album_is_not_addable(
    stack: Stack, admin: User, users: dict[str, User]
) -> None:
    owner, sharer = users["owner"], make_user(stack, admin)  # no partner of the owner's
    theirs = upload_jpeg(sharer, noise_jpeg(4107))
    album(sharer, "theirs", assetIds=[theirs], albumUsers=[{"userId": owner.id, "role": "editor"}])
    assert owner.client.get(f"/api/assets/{theirs}").status_code == 200
    made = album(owner, "mine")
    r = owner.client.put(f"/api/albums/{made['id']}/assets", json={"ids": [theirs]})
    assert r.status_code == 200, r.text
    assert r.json() == [{"id": theirs, "success": False, "error": "no_permission"}]
