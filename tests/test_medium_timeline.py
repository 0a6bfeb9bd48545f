"""Replays Immich's server/test/medium/specs/services/timeline.service.spec.ts over HTTP.

Checked: a shared link asking for a timeline without its album is refused with ``Not found or
no timeline.read access`` (Immich checks TimelineRead on the link owner, which no link grants);
``withPartners`` with archive, favourite (true or false) or trash filters is refused with
Immich's message; an empty bucket is every column as an empty array.
(Month counts, trashed buckets, five-digit years and partners' favourites are covered by
test_assets_timeline, test_timeline_values_more and test_partners; the NSFW and
suppressed-content cases belong to a fork and are skipped.)
"""

from __future__ import annotations

import httpx
import pytest
from darkroom_stack.supervisor import Stack

from tests.conftest import User, make_user, noise_jpeg, upload_jpeg

PARTNER_ERROR = (
    "withPartners is only supported for non-archived, non-trashed, non-favorited, non-locked assets"
)


@pytest.fixture
def user(stack: Stack, admin: User) -> User:
    return make_user(stack, admin)


def test_shared_link_without_album_may_not_read_a_timeline(stack: Stack, user: User) -> None:
    asset = upload_jpeg(user, noise_jpeg(7110))
    link = user.client.post("/api/shared-links", json={"type": "INDIVIDUAL", "assetIds": [asset]})
    assert link.status_code == 201, link.text
    anon = httpx.Client(base_url=stack.url, timeout=60)
    for params in ({}, {"userId": user.id}):
        r = anon.get("/api/timeline/buckets", params={"key": link.json()["key"], **params})
        assert r.status_code == 400, r.text
        assert r.json()["message"] == "Not found or no timeline.read access"


def test_with_partners_refuses_other_filters(user: User) -> None:
    for params in (
        {"visibility": "archive"},
        {},
        {"isFavorite": "false"},
        {"isFavorite": "true"},
        {"isTrashed": "true"},
    ):
        r = user.client.get("/api/timeline/buckets", params={"withPartners": "true", **params})
        assert r.status_code == 400, r.text
        assert r.json()["message"] == PARTNER_ERROR, params


def test_empty_bucket_has_every_column_empty(user: User) -> None:
    r = user.client.get("/api/timeline/bucket", params={"timeBucket": "1970-02-01"})
    assert r.status_code == 200, r.text
    assert {"id", "ownerId", "isFavorite", "isTrashed", "visibility"} <= set(r.json())
    assert all(v == [] for v in r.json().values()), r.json()
