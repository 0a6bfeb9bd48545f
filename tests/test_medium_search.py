"""Replays Immich's server/test/medium/specs/services/search.service.spec.ts over HTTP.

Checked: metadata search with ``withStacked: false`` leaves out every asset of a stack (Immich's
``searchAssetBuilder``: ``stackId IS NULL``); search statistics by a person without assets;
camera-make suggestions skip empty makes and end with ``null`` under ``includeNull``.
(Large assets by size are covered by test_large_assets; the NSFW, suppressed-content and
image-enrichment cases belong to a fork and are skipped.)
"""

from __future__ import annotations

import pytest
from darkroom_stack.supervisor import Stack

from tests.conftest import User, db_rows, make_user, noise_jpeg, upload_jpeg, wait_processed


@pytest.fixture
def user(stack: Stack, admin: User) -> User:
    return make_user(stack, admin)


def test_without_stacked_leaves_out_every_stacked_asset(user: User) -> None:
    primary, stacked, alone = (upload_jpeg(user, noise_jpeg(7200 + i)) for i in range(3))
    wait_processed(user, [primary, stacked, alone])
    r = user.client.post("/api/stacks", json={"assetIds": [primary, stacked]})
    assert r.status_code == 201, r.text
    r = user.client.post("/api/search/metadata", json={"withStacked": False})
    assert r.status_code == 200, r.text
    assert [a["id"] for a in r.json()["assets"]["items"]] == [alone]


def test_statistics_by_person(stack: Stack, user: User) -> None:
    person = user.client.post("/api/people", json={"name": "Nobody"})
    assert person.status_code == 201, person.text
    r = user.client.post("/api/search/statistics", json={"personIds": [person.json()["id"]]})
    assert r.status_code == 200, r.text
    assert r.json() == {"total": 0}


def test_suggestions_skip_an_empty_make(stack: Stack, user: User) -> None:
    canon, blank = (upload_jpeg(user, noise_jpeg(7210 + i)) for i in range(2))
    wait_processed(user, [canon, blank])
    # no route writes an empty camera make (generated JPEGs carry none)
    for asset, make in ((canon, "Canon"), (blank, "")):
        db_rows(stack, "UPDATE asset_exif SET make = $2 WHERE asset_id = $1::uuid", asset, make)
    r = user.client.get(
        "/api/search/suggestions", params={"type": "camera-make", "includeNull": "true"}
    )
    assert r.status_code == 200, r.text
    assert r.json() == ["Canon", None]
