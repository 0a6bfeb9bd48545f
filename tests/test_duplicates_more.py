"""Duplicates: what resolving and listing do to the assets, as Immich 3.1 does it.

* ``POST /api/duplicates/resolve`` with the trash off (``trash.enabled: false``) deletes the
  assets to trash for good instead of trashing them (Immich: duplicate.service
  ``resolveGroup``: ``isForce = !trash.enabled``, status ``deleted``, ``AssetDeleteAll``).
* ``GET /api/duplicates`` first dissolves the groups left with one asset (the others trashed
  since), so that asset answers ``duplicateId: null`` again (Immich: duplicate.service
  ``getDuplicates`` -> duplicate.repository ``cleanupSingletonGroups``); another user's
  listing leaves the owner's groups alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from darkroom_stack.supervisor import Stack

from .conftest import User, make_user, noise_jpeg, upload_jpeg, wait_processed


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> User:
    """A fresh user, so assets from other test files do not mix in."""
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def stranger(stack: Stack, admin: User) -> User:
    return make_user(stack, admin)


_seed = iter(range(9600, 9700))


def _photos(user: User, n: int) -> list[str]:
    ids = [upload_jpeg(user, noise_jpeg(next(_seed))) for _ in range(n)]
    wait_processed(user, ids)
    return ids


def _group(user: User, ids: list[str]) -> str:
    """Put ``ids`` in one new duplicate group; its id."""
    group = str(uuid.uuid4())
    r = user.client.put("/api/assets", json={"ids": ids, "duplicateId": group})
    assert r.status_code == 204, r.text
    return group


def _asset(user: User, asset_id: str) -> Any:
    return user.client.get(f"/api/assets/{asset_id}")


@pytest.fixture
def trash_off(admin: User) -> Iterator[None]:
    """The trash disabled for the test (the config saved before is put back after)."""
    before = admin.client.get("/api/system-config").json()
    off = before | {"trash": {**before["trash"], "enabled": False}}
    r = admin.client.put("/api/system-config", json=off)
    assert r.status_code == 200, r.text
    try:
        yield
    finally:
        r = admin.client.put("/api/system-config", json=before)
        assert r.status_code == 200, r.text


def test_resolve_with_the_trash_off_deletes_for_good(owner: User, trash_off: None) -> None:
    keep, drop = _photos(owner, 2)
    group = _group(owner, [keep, drop])

    body = {"groups": [{"duplicateId": group, "keepAssetIds": [keep], "trashAssetIds": [drop]}]}
    r = owner.client.post("/api/duplicates/resolve", json=body)
    assert r.status_code == 200, r.text
    assert r.json() == [{"id": group, "success": True}]

    gone = _asset(owner, drop)
    assert gone.status_code == 400, gone.text  # deleted, not in the trash
    kept = _asset(owner, keep)
    assert kept.status_code == 200, kept.text
    assert kept.json()["isTrashed"] is False
    assert kept.json()["duplicateId"] is None
    since = {"trashedAfter": "2000-01-01T00:00:00.000Z"}
    trashed = owner.client.post("/api/search/metadata", json=since)
    assert trashed.status_code == 200, trashed.text
    assert drop not in {a["id"] for a in trashed.json()["assets"]["items"]}


def test_resolve_with_the_trash_on_still_trashes(owner: User) -> None:
    keep, drop = _photos(owner, 2)
    group = _group(owner, [keep, drop])
    body = {"groups": [{"duplicateId": group, "keepAssetIds": [keep], "trashAssetIds": [drop]}]}
    r = owner.client.post("/api/duplicates/resolve", json=body)
    assert r.status_code == 200, r.text
    trashed = _asset(owner, drop)
    assert trashed.status_code == 200, trashed.text
    assert trashed.json()["isTrashed"] is True


def test_a_group_left_with_one_asset_is_dissolved_when_listed(owner: User, stranger: User) -> None:
    lone, other = _photos(owner, 2)
    group = _group(owner, [lone, other])
    r = owner.client.request("DELETE", "/api/assets", json={"ids": [other]})
    assert r.status_code == 204, r.text
    assert _asset(owner, lone).json()["duplicateId"] == group

    # another user's listing touches only their own groups
    r = stranger.client.get("/api/duplicates")
    assert r.status_code == 200, r.text
    assert _asset(owner, lone).json()["duplicateId"] == group

    r = owner.client.get("/api/duplicates")
    assert r.status_code == 200, r.text
    assert group not in {g["duplicateId"] for g in r.json()}
    assert _asset(owner, lone).json()["duplicateId"] is None
    # the trashed one left the group too (Immich clears every asset of the group)
    assert _asset(owner, other).json()["duplicateId"] is None


def test_a_group_of_two_is_kept_when_listed(owner: User) -> None:
    a, b = _photos(owner, 2)
    group = _group(owner, [a, b])
    r = owner.client.get("/api/duplicates")
    assert r.status_code == 200, r.text
    assert group in {g["duplicateId"] for g in r.json()}
    assert _asset(owner, a).json()["duplicateId"] == group
