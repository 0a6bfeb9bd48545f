"""Replays Immich's server/test/medium/specs/services/tag.service.spec.ts against the running
embedded stack.

Checked here: the manual ``tag-cleanup`` job (``POST /api/jobs``, Immich's ``handleTagCleanup``)
deletes every tag that neither it nor any of its descendants is on an asset, and keeps a tag on
an asset, a parent whose child is on an asset, and a parent on an asset (deleting its unused
child). Darkroom refused the job before (400 "not supported by this server yet"). The spec's
``remove`` of a tag is covered by tests/test_e2e_tag.py.
"""

from __future__ import annotations

import httpx
import pytest
from darkroom_stack.supervisor import Stack

from .conftest import User, make_user, noise_jpeg, upload_jpeg


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> User:
    """A fresh user whose tags are only this module's."""
    return make_user(stack, admin)


def upsert(owner: User, *values: str) -> dict[str, str]:
    """PUT /api/tags: value -> id of each tag (parents included)."""
    r = owner.client.put("/api/tags", json={"tags": list(values)})
    assert r.status_code == 200, r.text
    tags = {t["value"]: t["id"] for t in owner.client.get("/api/tags").json()}
    return tags


def tag_asset(owner: User, tag_id: str, asset_id: str) -> None:
    r = owner.client.put(f"/api/tags/{tag_id}/assets", json={"ids": [asset_id]})
    assert r.status_code == 200, r.text


def test_tag_cleanup_deletes_tags_on_no_asset(admin: User, owner: User) -> None:
    photo, other = (upload_jpeg(owner, noise_jpeg(7100 + i)) for i in range(2))
    tags = upsert(owner, "lonely", "used", "p1/child", "p2/child", "p3/child", "p4/child")
    tag_asset(owner, tags["used"], photo)
    tag_asset(owner, tags["p1"], photo)  # parent used, child not: the child goes
    tag_asset(owner, tags["p2/child"], other)  # only the child used: both stay

    # an admin's job: the owner, a visitor of the owner's link and an anonymous client are
    # refused, and nothing is cleaned up by them
    link = owner.client.post("/api/shared-links", json={"type": "INDIVIDUAL", "assetIds": [photo]})
    assert link.status_code == 201, link.text
    anon = httpx.Client(base_url=owner.client.base_url, timeout=60)
    for client, params, status in (
        (owner.client, {}, 403),
        (anon, {"key": link.json()["key"]}, 403),
        (anon, {}, 401),
    ):
        r = client.post("/api/jobs", params=params, json={"name": "tag-cleanup"})
        assert r.status_code == status, r.text
    assert {t["value"] for t in owner.client.get("/api/tags").json()} >= {"lonely"}

    r = admin.client.post("/api/jobs", json={"name": "tag-cleanup"})
    assert r.status_code == 204, r.text

    left = {t["value"] for t in owner.client.get("/api/tags").json()}
    assert left == {"used", "p1", "p2", "p2/child"}
