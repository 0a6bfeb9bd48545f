"""Replays Immich's server/test/medium/specs/services/asset.service.spec.ts over HTTP.

Checked here (what no other test module covers):

* ``PUT /api/assets/{id}`` and ``PUT /api/assets`` with a ``dateTimeOriginal`` without an
  offset keep it as UTC with no time zone; with ``-07:00`` the instant is stored in UTC and the
  zone answers ``UTC-7`` (Immich: asset.service ``update``/``updateAll``).
* ``PUT /api/assets`` ``dateTimeRelative`` shifts the original date by minutes.
* ``PUT /api/assets/copy`` of a stacked source onto a stacked target merges the source's stack
  into the target's: the source's stack is gone, the target's holds all four, its primary kept
  (Immich: asset.service ``copy`` -> stack ``merge``).
"""

from __future__ import annotations

from typing import Any

import pytest
from darkroom_stack.supervisor import Stack

from .conftest import User, make_user, noise_jpeg, upload_jpeg, wait_processed

_seed = iter(range(31_000, 31_100))


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> User:
    """A fresh user, so assets from other test files do not mix in."""
    return make_user(stack, admin)


def _photos(user: User, n: int) -> list[str]:
    ids = [upload_jpeg(user, noise_jpeg(next(_seed))) for _ in range(n)]
    wait_processed(user, ids)
    return ids


def _exif(user: User, asset_id: str) -> dict[str, Any]:
    r = user.client.get(f"/api/assets/{asset_id}")
    assert r.status_code == 200, r.text
    return r.json()["exifInfo"]


@pytest.mark.parametrize("bulk", [False, True], ids=["one", "bulk"])
def test_date_time_original_with_and_without_offset(owner: User, bulk: bool) -> None:
    (asset_id,) = _photos(owner, 1)

    def put(value: str) -> None:
        body = {"dateTimeOriginal": value}
        if bulk:
            r = owner.client.put("/api/assets", json={"ids": [asset_id], **body})
            assert r.status_code == 204, r.text
        else:
            r = owner.client.put(f"/api/assets/{asset_id}", json=body)
            assert r.status_code == 200, r.text

    put("2023-11-19T18:11:00")
    got = _exif(owner, asset_id)
    assert (got["dateTimeOriginal"], got["timeZone"]) == ("2023-11-19T18:11:00.000Z", None)
    put("2023-11-19T18:11:00.000-07:00")
    got = _exif(owner, asset_id)
    assert (got["dateTimeOriginal"], got["timeZone"]) == ("2023-11-20T01:11:00.000Z", "UTC-7")


def test_date_time_relative_shifts_by_minutes(owner: User) -> None:
    (asset_id,) = _photos(owner, 1)
    r = owner.client.put(
        f"/api/assets/{asset_id}", json={"dateTimeOriginal": "2023-11-19T18:11:00.000Z"}
    )
    assert r.status_code == 200, r.text
    r = owner.client.put("/api/assets", json={"ids": [asset_id], "dateTimeRelative": -11})
    assert r.status_code == 204, r.text
    assert _exif(owner, asset_id)["dateTimeOriginal"] == "2023-11-19T18:00:00.000Z"


def test_copy_merges_the_source_stack_into_the_target_stack(owner: User) -> None:
    old, one, new, two = _photos(owner, 4)
    first = owner.client.post("/api/stacks", json={"assetIds": [old, one]})
    second = owner.client.post("/api/stacks", json={"assetIds": [new, two]})
    assert first.status_code == second.status_code == 201, (first.text, second.text)
    r = owner.client.put("/api/assets/copy", json={"sourceId": old, "targetId": new})
    assert r.status_code == 204, r.text
    assert owner.client.get(f"/api/stacks/{first.json()['id']}").status_code == 400
    merged = owner.client.get(f"/api/stacks/{second.json()['id']}").json()
    assert merged["primaryAssetId"] == new
    assert sorted(a["id"] for a in merged["assets"]) == sorted([old, one, new, two])
