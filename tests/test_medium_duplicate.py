"""Replays Immich's server/test/medium/specs/services/duplicate.service.spec.ts over HTTP.

Checked here (what tests/test_duplicates_more.py and tests/test_trash_download_map_fields_more.py
do not cover already):

* ``GET /api/duplicates`` suggests the largest file to keep.
* ``POST /api/duplicates/resolve`` of a group that also holds another user's asset (the group
  id is not per user in Immich: ``DuplicateRepository.get``): trashing that asset fails the
  group with ``no_permission`` / ``No permission to delete assets`` and changes nothing.
* Several groups in one request, each with its own result: a bad group fails alone.
* No keeper: every asset is trashed. Two keepers: nothing is merged (favourite), both leave
  the group. A location the members disagree on is not merged.
"""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import pytest
import pyvips
from darkroom_stack.supervisor import Stack

from .conftest import User, make_user, noise_jpeg, upload_jpeg, wait_processed

_seed = iter(range(33_000, 33_200))


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> User:
    """A fresh user, so assets from other test files do not mix in."""
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def stranger(stack: Stack, admin: User) -> User:
    return make_user(stack, admin)


def _photos(user: User, n: int, data: list[bytes] | None = None) -> list[str]:
    ids = [upload_jpeg(user, d) for d in (data or [noise_jpeg(next(_seed)) for _ in range(n)])]
    wait_processed(user, ids)
    return ids


def _group(user: User, ids: list[str], group: str | None = None) -> str:
    """Put ``ids`` in the duplicate group ``group`` (a new one by default); its id."""
    group = group or str(uuid.uuid4())
    r = user.client.put("/api/assets", json={"ids": ids, "duplicateId": group})
    assert r.status_code == 204, r.text
    return group


def _asset(user: User, asset_id: str) -> dict[str, Any]:
    r = user.client.get(f"/api/assets/{asset_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def _resolve(user: User, *groups: tuple[str, list[str], list[str]]) -> Any:
    body = {
        "groups": [
            {"duplicateId": g, "keepAssetIds": keep, "trashAssetIds": trash}
            for g, keep, trash in groups
        ]
    }
    r = user.client.post("/api/duplicates/resolve", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def test_the_largest_file_is_suggested(owner: User) -> None:
    big = pyvips.Image.new_from_array(
        np.random.default_rng(next(_seed)).integers(0, 255, (480, 640, 3), dtype=np.uint8),
        interpretation="srgb",
    )
    small, large = _photos(owner, 2, [noise_jpeg(next(_seed)), bytes(big.jpegsave_buffer(Q=95))])
    group = _group(owner, [small, large])
    (listed,) = [g for g in owner.client.get("/api/duplicates").json() if g["duplicateId"] == group]
    assert sorted(a["id"] for a in listed["assets"]) == sorted([small, large])
    assert listed["suggestedKeepAssetIds"] == [large]


def test_another_users_member_cannot_be_trashed(owner: User, stranger: User) -> None:
    mine, also_mine = _photos(owner, 2)
    (theirs,) = _photos(stranger, 1)
    group = _group(owner, [mine, also_mine])
    _group(stranger, [theirs], group)
    assert _resolve(owner, (group, [mine, also_mine], [theirs])) == [
        {
            "id": group,
            "success": False,
            "error": "no_permission",
            "errorMessage": "No permission to delete assets",
        }
    ]
    assert _asset(stranger, theirs)["isTrashed"] is False
    assert _asset(owner, mine)["duplicateId"] == group


def test_groups_resolve_one_by_one(owner: User) -> None:
    keep1, trash1, keep2, trash2, bad1, bad2 = _photos(owner, 6)
    one, two = _group(owner, [keep1, trash1]), _group(owner, [keep2, trash2])
    bad = _group(owner, [bad1, bad2])
    assert _resolve(
        owner, (one, [keep1], [trash1]), (bad, [bad1], []), (two, [keep2], [trash2])
    ) == [
        {"id": one, "success": True},
        {
            "id": bad,
            "success": False,
            "error": "validation",
            "errorMessage": "Every asset must be in either keepAssetIds or trashAssetIds",
        },
        {"id": two, "success": True},
    ]
    assert [_asset(owner, i)["isTrashed"] for i in (trash1, trash2, bad1, bad2)] == [
        True,
        True,
        False,
        False,
    ]


def test_no_keeper_trashes_all_and_two_keepers_merge_nothing(owner: User) -> None:
    a, b, c, d = _photos(owner, 4)
    r = owner.client.put(f"/api/assets/{d}", json={"isFavorite": True})
    assert r.status_code == 200, r.text
    gone, kept = _group(owner, [a, b]), _group(owner, [c, d])
    assert _resolve(owner, (gone, [], [a, b]), (kept, [c, d], [])) == [
        {"id": gone, "success": True},
        {"id": kept, "success": True},
    ]
    assert [_asset(owner, i)["isTrashed"] for i in (a, b)] == [True, True]
    got = [_asset(owner, i) for i in (c, d)]
    assert [(x["isFavorite"], x["duplicateId"]) for x in got] == [(False, None), (True, None)]


def test_a_location_the_members_disagree_on_is_not_merged(owner: User) -> None:
    keeper, copy = _photos(owner, 2)
    for asset_id, place in ((keeper, 1.0), (copy, 2.0)):
        r = owner.client.put(
            f"/api/assets/{asset_id}", json={"latitude": place, "longitude": place}
        )
        assert r.status_code == 200, r.text
    group = _group(owner, [keeper, copy])
    assert _resolve(owner, (group, [keeper], [copy])) == [{"id": group, "success": True}]
    exif = _asset(owner, keeper)["exifInfo"]
    assert (exif["latitude"], exif["longitude"]) == (1.0, 1.0)
