"""Replays Immich's e2e/src/api/specs/tag.e2e-spec.ts against the running embedded stack.

Checked here (each not covered by tests/test_tags.py): an API key without ``tag.create`` or
``tag.update`` gets 403 ``Missing required permission: tag.*``; a tag's exact body (``parentId``
only when nested); two users may hold the same tag value; parallel upserts of one path end on the
same tags; PUT /tags/assets counts only the pairs of the caller's own tags and assets. All of
these already held; nothing was changed for them.

Left out, as Immich 3.1 differs from the spec file's (later) version: a slash in a new tag's
name (3.1's TagCreateDto has no pattern: ``TagA/TagB`` is the tag ``TagB`` of value
``TagA/TagB``) and renaming through PUT /tags/{id} (3.1's TagUpdateDto has ``color`` only).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from darkroom_stack.supervisor import Stack

from .conftest import User, make_user, noise_jpeg, upload_jpeg


@pytest.fixture(scope="module")
def user(stack: Stack, admin: User) -> User:
    """A fresh user whose tags are only this module's."""
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def other(stack: Stack, admin: User) -> User:
    """A second fresh user (the spec's admin, whose tags and assets ``user`` must not use)."""
    return make_user(stack, admin)


def key_with(stack: Stack, user: User, permissions: list[str]) -> httpx.Client:
    """A client authenticated by a new API key of ``user`` holding only ``permissions``."""
    r = user.client.post("/api/api-keys", json={"name": "narrow", "permissions": permissions})
    assert r.status_code == 201, r.text
    return httpx.Client(base_url=stack.url, headers={"x-api-key": r.json()["secret"]}, timeout=60)


def create(user: User, name: str, **extra: object) -> dict[str, object]:
    r = user.client.post("/api/tags", json={"name": name, **extra})
    assert r.status_code == 201, r.text
    body: dict[str, object] = r.json()
    return body


def test_api_key_permissions_and_slash(stack: Stack, user: User) -> None:
    r = key_with(stack, user, ["asset.read"]).post("/api/tags", json={"name": "TagA"})
    assert r.status_code == 403, r.text
    assert r.json()["message"] == "Missing required permission: tag.create"
    creator = key_with(stack, user, ["tag.create"])
    r = creator.post("/api/tags", json={"name": "KeyTag"})
    assert r.status_code == 201, r.text
    assert sorted(r.json()) == ["createdAt", "id", "name", "updatedAt", "value"]
    r = key_with(stack, user, ["asset.read"]).put(
        f"/api/tags/{r.json()['id']}", json={"color": "#000000"}
    )
    assert r.status_code == 403, r.text
    assert r.json()["message"] == "Missing required permission: tag.update"


def test_same_value_for_two_users_and_nested_body(user: User, other: User) -> None:
    create(other, "Shared")
    mine = create(user, "Shared")
    child = create(user, "Child", parentId=mine["id"])
    assert sorted(child) == ["createdAt", "id", "name", "parentId", "updatedAt", "value"]
    assert (child["parentId"], child["value"]) == (mine["id"], "Shared/Child")


def test_parallel_upserts_agree(user: User) -> None:
    def upsert(_: int) -> dict[str, object]:
        r = user.client.put("/api/tags", json={"tags": ["P/Q/R/S"]})
        assert r.status_code == 200, r.text
        body: list[dict[str, object]] = r.json()
        return body[0]

    with ThreadPoolExecutor(4) as pool:
        tags = list(pool.map(upsert, range(4)))
    assert {(t["id"], t["parentId"], t["createdAt"], t["value"]) for t in tags} == {
        (tags[0]["id"], tags[0]["parentId"], tags[0]["createdAt"], "P/Q/R/S")
    }


def test_bulk_tagging_counts_only_own_tags_and_assets(user: User, other: User) -> None:
    a, b, c = (upload_jpeg(user, noise_jpeg(7100 + k)) for k in range(3))
    theirs = upload_jpeg(other, noise_jpeg(7103))
    t1, t2, t3, t4, t5 = (create(user, f"Bulk{k}")["id"] for k in range(5))
    foreign = create(other, "BulkForeign")["id"]
    r = user.client.put("/api/tags/assets", json={"tagIds": [t1, t2, t3], "assetIds": [a, theirs]})
    assert (r.status_code, r.json()) == (200, {"count": 3})
    r = user.client.put("/api/tags/assets", json={"tagIds": [t4, t5, foreign], "assetIds": [b, c]})
    assert (r.status_code, r.json()) == (200, {"count": 4})
