"""Partner sharing over HTTP against a running stack: the five Partners operations and their
errors (Immich's e2e ``partner.e2e-spec.ts`` answers), what a partner sees (asset routes,
timeline and search and map with ``withPartners``; never archived assets nor favourite flags;
never updates), that removing the partner ends it at once, and the partner sync types, every
line validated against the spec's schema.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from darkroom_stack.supervisor import Stack

from tests.conftest import User, make_user
from tests.test_sync import Device, upload_processed
from tests.test_sync_types import SCHEMA_OF, components, data_lines, only_complete, validate

__all__ = ["components"]  # a fixture, used by name

#: The partner sync types and the spec schema of each line (as SyncStreamResponseDto pairs them).
PARTNER_SCHEMAS = {
    "PartnerV1": "SyncPartnerV1",
    "PartnerDeleteV1": "SyncPartnerDeleteV1",
    "PartnerAssetV2": "SyncAssetV2",
    "PartnerAssetBackfillV2": "SyncAssetV2",
    "PartnerAssetV1": "SyncAssetV1",
    "PartnerAssetBackfillV1": "SyncAssetV1",
    "PartnerAssetDeleteV1": "SyncAssetDeleteV1",
    "PartnerAssetExifV1": "SyncAssetExifV1",
    "PartnerAssetExifBackfillV1": "SyncAssetExifV1",
}
SCHEMA_OF.update(PARTNER_SCHEMAS)
PARTNER_TYPES = ["PartnersV1", "PartnerAssetsV2", "PartnerAssetExifsV1"]


@pytest.fixture
def trio(stack: Stack, admin: User) -> tuple[User, User, User]:
    """A sharer, a partner and an unrelated user, fresh for each test."""
    return make_user(stack, admin), make_user(stack, admin), make_user(stack, admin)


def share(sharer: User, partner: User) -> dict[str, Any]:
    r = sharer.client.post("/api/partners", json={"sharedWithId": partner.id})
    assert r.status_code == 201, r.text
    return dict(r.json())


def bucket_ids(user: User, **params: object) -> set[str]:
    """Every asset id of the caller's timeline (all buckets) with ``params``."""
    r = user.client.get("/api/timeline/buckets", params=params)
    assert r.status_code == 200, r.text
    ids: set[str] = set()
    for bucket in r.json():
        b = user.client.get(
            "/api/timeline/bucket", params={**params, "timeBucket": bucket["timeBucket"]}
        )
        assert b.status_code == 200, b.text
        ids |= set(b.json()["id"])
    return ids


def search_ids(user: User) -> set[str]:
    r = user.client.post("/api/search/metadata", json={"size": 1000})
    assert r.status_code == 200, r.text
    return {a["id"] for a in r.json()["assets"]["items"]}


def marker_ids(user: User) -> set[str]:
    r = user.client.get("/api/map/markers", params={"withPartners": "true"})
    assert r.status_code == 200, r.text
    return {m["id"] for m in r.json()}


def test_partner_operations_and_their_errors(stack: Stack, trio: tuple[User, User, User]) -> None:
    a, b, c = trio
    anonymous = httpx.Client(base_url=stack.url, timeout=60)
    assert anonymous.get("/api/partners", params={"direction": "shared-by"}).status_code == 401
    assert anonymous.post("/api/partners", json={"sharedWithId": b.id}).status_code == 401
    assert anonymous.post(f"/api/partners/{b.id}").status_code == 401
    assert anonymous.put(f"/api/partners/{a.id}", json={"inTimeline": True}).status_code == 401
    assert anonymous.delete(f"/api/partners/{b.id}").status_code == 401

    created = share(a, b)
    assert created["id"] == b.id and created["inTimeline"] is False
    assert {"id", "email", "name", "avatarColor", "profileChangedAt", "profileImagePath"} <= set(
        created
    )
    again = a.client.post("/api/partners", json={"sharedWithId": b.id})
    assert again.status_code == 400 and again.json()["message"] == "Partner already exists"
    again = a.client.post(f"/api/partners/{b.id}")
    assert again.status_code == 400 and again.json()["message"] == "Partner already exists"
    myself = a.client.post("/api/partners", json={"sharedWithId": a.id})
    assert myself.status_code == 400, myself.text
    nobody = a.client.post("/api/partners", json={"sharedWithId": c.id[:-12] + "0" * 12})
    assert nobody.status_code == 400 and nobody.json()["message"] == "Invalid user"
    assert a.client.get("/api/partners").status_code == 400  # direction is required

    by = a.client.get("/api/partners", params={"direction": "shared-by"}).json()
    assert [p["id"] for p in by] == [b.id]
    assert a.client.get("/api/partners", params={"direction": "shared-with"}).json() == []
    with_b = b.client.get("/api/partners", params={"direction": "shared-with"}).json()
    assert [(p["id"], p["inTimeline"]) for p in with_b] == [(a.id, False)]
    assert c.client.get("/api/partners", params={"direction": "shared-with"}).json() == []

    # only the partner turns the timeline on; the sharer and a stranger get Immich's refusal
    for who, target in ((a, b.id), (c, a.id), (a, a.id)):
        r = who.client.put(f"/api/partners/{target}", json={"inTimeline": True})
        assert r.status_code == 400, r.text
        assert r.json()["message"] == "Not found or no partner.update access"
    r = b.client.put(f"/api/partners/{a.id}", json={"inTimeline": True})
    assert r.status_code == 200, r.text
    assert r.json()["id"] == a.id and r.json()["inTimeline"] is True

    # the deprecated form creates too
    r = a.client.post(f"/api/partners/{c.id}")
    assert r.status_code == 201 and r.json()["id"] == c.id, r.text

    assert c.client.delete(f"/api/partners/{b.id}").status_code == 400  # c shares with nobody
    assert a.client.delete(f"/api/partners/{c.id}").status_code == 204
    gone = a.client.delete(f"/api/partners/{c.id}")
    assert gone.status_code == 400 and gone.json()["message"] == "Partner not found"
    assert a.client.delete(f"/api/partners/{b.id}").status_code == 204
    assert b.client.get("/api/partners", params={"direction": "shared-with"}).json() == []


def test_partner_sees_assets_only_while_shared_and_in_timeline(
    trio: tuple[User, User, User],
) -> None:
    a, b, c = trio
    photo = upload_processed(a)
    archived = upload_processed(a)
    r = a.client.put(
        f"/api/assets/{photo}", json={"isFavorite": True, "latitude": 48.85, "longitude": 2.35}
    )
    assert r.status_code == 200, r.text
    assert r.json()["owner"]["id"] == a.id
    r = a.client.put(f"/api/assets/{archived}", json={"visibility": "archive"})
    assert r.status_code == 200, r.text
    timeline = {"visibility": "timeline", "withPartners": "true"}

    def refused(user: User, asset_id: str) -> None:
        assert user.client.get(f"/api/assets/{asset_id}").status_code == 400
        assert user.client.get(f"/api/assets/{asset_id}/metadata").status_code == 400
        assert user.client.get(f"/api/assets/{asset_id}/thumbnail").status_code == 400
        assert user.client.get(f"/api/assets/{asset_id}/original").status_code == 400

    refused(b, photo)
    share(a, b)
    # shared: B reads, views and downloads the photo; the favourite flag is A's alone
    info = b.client.get(f"/api/assets/{photo}")
    assert info.status_code == 200, info.text
    assert info.json()["ownerId"] == a.id and info.json()["isFavorite"] is False
    assert info.json()["people"] == []
    # the owner as Immich loads it with the asset (UserResponseDto), for the partner too
    assert info.json()["owner"]["id"] == a.id and info.json()["owner"]["email"] == a.email
    assert set(info.json()["owner"]) == {
        "id",
        "email",
        "name",
        "avatarColor",
        "profileChangedAt",
        "profileImagePath",
    }
    assert b.client.get(f"/api/assets/{photo}/thumbnail").status_code == 200
    assert b.client.get(f"/api/assets/{photo}/original").status_code == 200
    assert b.client.get(f"/api/assets/{photo}/metadata").status_code == 200
    r = b.client.post("/api/download/info", json={"assetIds": [photo]})
    assert r.status_code == 201 and r.json()["archives"][0]["assetIds"] == [photo], r.text
    refused(b, archived)  # never the archive
    refused(c, photo)  # an unrelated user sees nothing
    # B may not change it
    r = b.client.put(f"/api/assets/{photo}", json={"isFavorite": False})
    assert r.status_code == 400 and r.json()["message"] == "Not found or no asset.update access"
    assert b.client.put("/api/assets", json={"ids": [photo], "isFavorite": True}).status_code == 400
    assert b.client.request("DELETE", "/api/assets", json={"ids": [photo]}).status_code == 400
    assert a.client.get(f"/api/assets/{photo}").json()["isFavorite"] is True

    # the timeline, search and map show A's photos only once B turns inTimeline on
    assert photo not in bucket_ids(b, **timeline)
    assert photo not in search_ids(b) and photo not in marker_ids(b)
    assert b.client.put(f"/api/partners/{a.id}", json={"inTimeline": True}).status_code == 200
    seen = bucket_ids(b, **timeline)
    assert photo in seen and archived not in seen
    assert photo not in bucket_ids(b, visibility="timeline")  # only when asked withPartners
    buckets = b.client.get("/api/timeline/buckets", params=timeline).json()
    bucket = b.client.get(
        "/api/timeline/bucket", params={**timeline, "timeBucket": buckets[0]["timeBucket"]}
    ).json()
    assert bucket["isFavorite"][bucket["id"].index(photo)] is False
    found = search_ids(b)
    assert photo in found and archived not in found
    assert photo in marker_ids(b)
    assert photo not in bucket_ids(c, **timeline) and photo not in search_ids(c)
    # Immich's refusals of withPartners with archive, favourites or trash
    for bad in ({}, {"visibility": "archive"}, {"isFavorite": "true"}, {"isTrashed": "true"}):
        params = {"visibility": "timeline", **bad, "withPartners": "true"}
        if not bad:
            params.pop("visibility")
        r = b.client.get("/api/timeline/buckets", params=params)
        assert r.status_code == 400, (bad, r.text)

    # removal ends it at once, everywhere
    assert a.client.delete(f"/api/partners/{b.id}").status_code == 204
    refused(b, photo)
    assert b.client.post("/api/download/info", json={"assetIds": [photo]}).status_code == 400
    assert photo not in bucket_ids(b, **timeline)
    assert photo not in search_ids(b) and photo not in marker_ids(b)


def test_partner_sync_backfill_upserts_and_deletes(
    stack: Stack, trio: tuple[User, User, User], components: dict[str, Any]
) -> None:
    a, b, c = trio
    before = upload_processed(a)
    device = Device(stack, b)
    first = device.sync(PARTNER_TYPES)
    assert only_complete(first)
    device.ack(first)

    share(a, b)
    lines = device.sync(PARTNER_TYPES)
    validate(components, lines)
    assert data_lines(lines, "PartnerV1") == [
        {"sharedById": a.id, "sharedWithId": b.id, "inTimeline": False}
    ]
    # no partner asset checkpoint yet: the upserts send them all, there is nothing to back-fill
    # (Immich's sync.service backfills only up to an upsert checkpoint)
    assert [d["id"] for d in data_lines(lines, "PartnerAssetV2")] == [before]
    assert [d["assetId"] for d in data_lines(lines, "PartnerAssetExifV1")] == [before]
    assert data_lines(lines, "PartnerAssetBackfillV2") == []
    device.ack(lines)
    assert only_complete(device.sync(PARTNER_TYPES))  # backfill is sent once

    after = upload_processed(a)
    lines = device.sync(PARTNER_TYPES)
    validate(components, lines)
    assert [d["id"] for d in data_lines(lines, "PartnerAssetV2")] == [after]
    assert [d["assetId"] for d in data_lines(lines, "PartnerAssetExifV1")] == [after]
    assert data_lines(lines, "PartnerAssetBackfillV2") == []
    device.ack(lines)

    # the older PartnerAssetsV1 is served too, its lines in the V1 shape
    old = Device(stack, b).sync(["PartnerAssetsV1"])
    validate(components, old)
    assert {d["id"] for d in data_lines(old, "PartnerAssetBackfillV1", "PartnerAssetV1")} == {
        before,
        after,
    }
    # nobody else gets them; the sharer sees the partnership, not their own assets again
    assert only_complete(Device(stack, c).sync(PARTNER_TYPES))
    mine = Device(stack, a).sync(PARTNER_TYPES)
    assert [line["type"] for line in mine] == ["PartnerV1", "SyncCompleteV1"]

    assert a.client.delete(f"/api/partners/{b.id}").status_code == 204
    lines = device.sync(PARTNER_TYPES)
    validate(components, lines)
    assert data_lines(lines, "PartnerDeleteV1") == [{"sharedById": a.id, "sharedWithId": b.id}]
    assert {d["assetId"] for d in data_lines(lines, "PartnerAssetDeleteV1")} == {before, after}
    device.ack(lines)
    assert only_complete(device.sync(PARTNER_TYPES))
