"""Tags over HTTP against the running embedded stack (issue 16, item 2).

What this proves: each of the nine tag operations answers as Immich 3.1 does (shapes, status
codes, hierarchy: a path creates its parents, a child's value is its parent's plus its name,
deleting a tag deletes its children); another user gets 400 ``Not found or no tag.* access``
for every id-taking operation and never sees or uses someone else's tag; an anonymous client
gets 401; the tag filter of metadata search, statistics, random search and the timeline returns
exactly the assets carrying the tag or one of its descendants; and a real photo whose XMP (written
with exiv2 through pyexiv2) holds Lightroom hierarchical keywords gets the tag tree through the
metadata service, listed on the asset.
"""

from __future__ import annotations

import httpx
import numpy as np
import pyexiv2
import pytest
import pyvips
from darkroom_stack.supervisor import Stack

from .conftest import User, make_user, upload_jpeg, wait_processed

#: Generous ceiling for the pipeline on a busy 2-core machine (polled, not slept).
PIPELINE_S = 600


def jpeg(seed: int, xmp: dict[str, object] | None = None) -> bytes:
    """A small JPEG of random pixels unique to ``seed``, with ``xmp`` written by exiv2."""
    pixels = np.random.default_rng(seed).integers(0, 255, size=(40, 56, 3), dtype=np.uint8)
    data = bytes(pyvips.Image.new_from_array(pixels, interpretation="srgb").jpegsave_buffer(Q=80))
    if xmp:
        with pyexiv2.ImageData(data) as image:
            image.modify_xmp(xmp)
            data = image.get_bytes()
    return data


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> User:
    """A fresh user whose tags and photos are only this module's."""
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def stranger(stack: Stack, admin: User) -> User:
    """Another user, who must be refused."""
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def photos(owner: User, stranger: User) -> dict[str, str]:
    """Four processed photos of ``owner`` and one of ``stranger``; name -> asset id."""
    ids = {name: upload_jpeg(owner, jpeg(k)) for k, name in enumerate(("a", "b", "c", "d"))}
    ids["theirs"] = upload_jpeg(stranger, jpeg(50))
    wait_processed(owner, [ids[n] for n in "abcd"], timeout=PIPELINE_S)
    wait_processed(stranger, [ids["theirs"]], timeout=PIPELINE_S)
    return ids


def ok(r: httpx.Response, status: int = 200) -> object:
    assert r.status_code == status, r.text
    return r.json() if r.content else None


def create(user: User, name: str, **extra: object) -> dict[str, object]:
    body = ok(user.client.post("/api/tags", json={"name": name, **extra}), 201)
    assert isinstance(body, dict)
    return body


def tag_values(user: User) -> dict[str, dict[str, object]]:
    body = ok(user.client.get("/api/tags"))
    assert isinstance(body, list)
    return {t["value"]: t for t in body}


def test_create_get_update_and_hierarchy(owner: User) -> None:
    parent = create(owner, "Animals", color="ff0000")
    assert parent["name"] == parent["value"] == "Animals"
    assert parent["color"] == "#ff0000"  # Immich adds the missing '#'
    assert "parentId" not in parent
    assert set(parent) == {"id", "name", "value", "color", "createdAt", "updatedAt"}
    child = create(owner, "Cats", parentId=parent["id"])
    assert child["value"] == "Animals/Cats" and child["name"] == "Cats"
    assert child["parentId"] == parent["id"]
    assert "color" not in child

    dup = owner.client.post("/api/tags", json={"name": "Cats", "parentId": parent["id"]})
    assert dup.status_code == 400 and dup.json()["message"] == "A tag with that name already exists"
    bad = owner.client.post("/api/tags", json={"name": "x", "color": "not a colour"})
    assert bad.status_code == 400
    nameless = owner.client.post("/api/tags", json={"name": " ", "parentId": parent["id"]})
    assert nameless.status_code == 400, nameless.text  # not a tag "Pets/ " under the parent

    assert ok(owner.client.get(f"/api/tags/{child['id']}")) == child
    listed = tag_values(owner)
    assert listed["Animals"]["id"] == parent["id"] and listed["Animals/Cats"] == child

    updated = ok(owner.client.put(f"/api/tags/{child['id']}", json={"color": "#00ff00"}))
    assert isinstance(updated, dict) and updated["color"] == "#00ff00"
    assert updated["value"] == "Animals/Cats"
    cleared = ok(owner.client.put(f"/api/tags/{child['id']}", json={"color": None}))
    assert isinstance(cleared, dict) and "color" not in cleared


def test_upsert_creates_parents_and_is_idempotent(owner: User) -> None:
    first = ok(
        owner.client.put(
            "/api/tags", json={"tags": ["Travel/2024/Japan", "Travel/2024/Japan", "Solo"]}
        )
    )
    assert isinstance(first, list)
    assert [t["value"] for t in first] == ["Travel/2024/Japan", "Solo"]
    tree = tag_values(owner)
    assert tree["Travel"].get("parentId") is None
    assert tree["Travel/2024"]["parentId"] == tree["Travel"]["id"]
    assert tree["Travel/2024/Japan"]["parentId"] == tree["Travel/2024"]["id"]
    assert tree["Travel/2024/Japan"]["name"] == "Japan"
    again = ok(owner.client.put("/api/tags", json={"tags": ["Travel/2024/Japan", "Solo"]}))
    assert isinstance(again, list)
    assert [t["id"] for t in again] == [t["id"] for t in first]
    assert len(tag_values(owner)) == len(tree)


def test_delete_removes_descendants(owner: User) -> None:
    ok(owner.client.put("/api/tags", json={"tags": ["Gone/Child/Grandchild", "Kept"]}))
    tree = tag_values(owner)
    r = owner.client.delete(f"/api/tags/{tree['Gone']['id']}")
    assert r.status_code == 204, r.text
    after = tag_values(owner)
    assert not any(v.startswith("Gone") for v in after)
    assert "Kept" in after
    gone = owner.client.get(f"/api/tags/{tree['Gone/Child']['id']}")
    assert gone.status_code == 400
    assert gone.json()["message"] == "Not found or no tag.read access"


def test_tag_and_untag_assets(owner: User, photos: dict[str, str]) -> None:
    tag = create(owner, "Bulk")
    ids = [photos["a"], photos["b"], photos["theirs"], photos["a"]]
    results = ok(owner.client.put(f"/api/tags/{tag['id']}/assets", json={"ids": ids}))
    assert results == [
        {"id": photos["a"], "success": True},
        {"id": photos["b"], "success": True},
        {"id": photos["theirs"], "success": False, "error": "no_permission"},
        {"id": photos["a"], "success": False, "error": "duplicate"},
    ]
    info = ok(owner.client.get(f"/api/assets/{photos['a']}"))
    assert isinstance(info, dict)
    assert [t["id"] for t in info["tags"]] == [tag["id"]]
    assert info["tags"][0]["value"] == "Bulk"
    edited = ok(owner.client.put(f"/api/assets/{photos['a']}", json={"isFavorite": False}))
    assert isinstance(edited, dict) and [t["id"] for t in edited["tags"]] == [tag["id"]]

    removed = ok(
        owner.client.request(
            "DELETE", f"/api/tags/{tag['id']}/assets", json={"ids": [photos["a"], photos["c"]]}
        )
    )
    assert removed == [
        {"id": photos["a"], "success": True},
        {"id": photos["c"], "success": False, "error": "not_found"},
    ]
    info = ok(owner.client.get(f"/api/assets/{photos['a']}"))
    assert isinstance(info, dict) and info["tags"] == []


def test_bulk_tag_assets(owner: User, stranger: User, photos: dict[str, str]) -> None:
    one, two = create(owner, "BulkOne"), create(owner, "BulkTwo")
    theirs = create(stranger, "TheirTag")
    body = {
        "tagIds": [one["id"], two["id"], theirs["id"]],
        "assetIds": [photos["c"], photos["d"], photos["theirs"]],
    }
    assert ok(owner.client.put("/api/tags/assets", json=body)) == {"count": 4}
    assert ok(owner.client.put("/api/tags/assets", json=body)) == {"count": 0}  # all there
    info = ok(owner.client.get(f"/api/assets/{photos['d']}"))
    assert isinstance(info, dict)
    assert {t["value"] for t in info["tags"]} == {"BulkOne", "BulkTwo"}
    their_info = ok(stranger.client.get(f"/api/assets/{photos['theirs']}"))
    assert isinstance(their_info, dict) and their_info["tags"] == []


def test_another_user_is_refused(owner: User, stranger: User, photos: dict[str, str]) -> None:
    tag = create(owner, "Private")
    ok(owner.client.put(f"/api/tags/{tag['id']}/assets", json={"ids": [photos["a"]]}))
    other = stranger.client
    cases = [
        ("GET", f"/api/tags/{tag['id']}", None, "tag.read"),
        ("PUT", f"/api/tags/{tag['id']}", {"color": "#123456"}, "tag.update"),
        ("DELETE", f"/api/tags/{tag['id']}", None, "tag.delete"),
        ("PUT", f"/api/tags/{tag['id']}/assets", {"ids": [photos["theirs"]]}, "tag.asset"),
        ("DELETE", f"/api/tags/{tag['id']}/assets", {"ids": [photos["a"]]}, "tag.asset"),
        ("POST", "/api/tags", {"name": "Sub", "parentId": tag["id"]}, "tag.read"),
    ]
    for method, path, body, permission in cases:
        r = other.request(method, path, json=body)
        assert r.status_code == 400, (method, path, r.text)
        assert r.json()["message"] == f"Not found or no {permission} access", (method, path)
    assert "Private" not in tag_values(stranger)
    # the stranger's bulk call cannot use the owner's tag nor touch the owner's asset
    body = {"tagIds": [tag["id"]], "assetIds": [photos["theirs"], photos["b"]]}
    assert ok(other.put("/api/tags/assets", json=body)) == {"count": 0}
    # nothing changed for the owner
    assert ok(owner.client.get(f"/api/tags/{tag['id']}")) == tag
    info = ok(owner.client.get(f"/api/assets/{photos['a']}"))
    assert isinstance(info, dict) and [t["id"] for t in info["tags"]] == [tag["id"]]


def test_anonymous_is_refused(stack: Stack, owner: User) -> None:
    tag = create(owner, "Anon")
    anon = httpx.Client(base_url=stack.url, timeout=60)
    for method, path, body in [
        ("GET", "/api/tags", None),
        ("POST", "/api/tags", {"name": "x"}),
        ("PUT", "/api/tags", {"tags": ["x"]}),
        ("PUT", "/api/tags/assets", {"tagIds": [], "assetIds": []}),
        ("GET", f"/api/tags/{tag['id']}", None),
        ("PUT", f"/api/tags/{tag['id']}", {"color": "#fff"}),
        ("DELETE", f"/api/tags/{tag['id']}", None),
        ("PUT", f"/api/tags/{tag['id']}/assets", {"ids": []}),
        ("DELETE", f"/api/tags/{tag['id']}/assets", {"ids": []}),
    ]:
        r = anon.request(method, path, json=body)
        assert r.status_code == 401, (method, path, r.text)
    assert ok(owner.client.get(f"/api/tags/{tag['id']}")) == tag


def _timeline_ids(user: User, **params: object) -> set[str]:
    ids: set[str] = set()
    buckets = ok(user.client.get("/api/timeline/buckets", params=params))
    assert isinstance(buckets, list)
    for b in buckets:
        page = ok(
            user.client.get(
                "/api/timeline/bucket", params={"timeBucket": b["timeBucket"], **params}
            )
        )
        assert isinstance(page, dict)
        ids.update(page["id"])
    return ids


def _search_ids(user: User, **body: object) -> set[str]:
    r = ok(user.client.post("/api/search/metadata", json=body))
    assert isinstance(r, dict)
    return {item["id"] for item in r["assets"]["items"]}


def _asset_tags(user: User, asset_id: str) -> list[object]:
    info = ok(user.client.get(f"/api/assets/{asset_id}"))
    assert isinstance(info, dict)
    return list(info["tags"])


def test_tag_filter_in_search_and_timeline(owner: User, photos: dict[str, str]) -> None:
    leaves = ok(owner.client.put("/api/tags", json={"tags": ["Filter/Child", "Filter/Other"]}))
    assert isinstance(leaves, list)
    child, sibling = leaves
    root = tag_values(owner)["Filter"]
    ok(owner.client.put(f"/api/tags/{child['id']}/assets", json={"ids": [photos["a"]]}))
    ok(owner.client.put(f"/api/tags/{root['id']}/assets", json={"ids": [photos["b"]]}))
    ok(owner.client.put(f"/api/tags/{sibling['id']}/assets", json={"ids": [photos["b"]]}))

    # a parent matches assets tagged with it or a descendant (Immich's tag_closure join)
    assert _search_ids(owner, tagIds=[root["id"]]) == {photos["a"], photos["b"]}
    assert _search_ids(owner, tagIds=[child["id"]]) == {photos["a"]}
    # every listed tag must be on the asset
    assert _search_ids(owner, tagIds=[root["id"], sibling["id"]]) == {photos["b"]}
    assert _search_ids(owner, tagIds=[child["id"], sibling["id"]]) == set()
    # tagIds null: exactly the assets without any tag (Immich 3.1's "Untagged")
    everything = _search_ids(owner)
    untagged = {i for i in everything if not _asset_tags(owner, i)}
    assert photos["a"] not in untagged and photos["b"] not in untagged
    assert _search_ids(owner, tagIds=None) == untagged
    stats = ok(owner.client.post("/api/search/statistics", json={"tagIds": None}))
    assert stats == {"total": len(untagged)}
    stats = ok(owner.client.post("/api/search/statistics", json={"tagIds": [root["id"]]}))
    assert stats == {"total": 2}
    random = ok(owner.client.post("/api/search/random", json={"tagIds": [child["id"]]}))
    assert isinstance(random, list) and [a["id"] for a in random] == [photos["a"]]

    assert _timeline_ids(owner, tagId=root["id"]) == {photos["a"], photos["b"]}
    assert _timeline_ids(owner, tagId=child["id"]) == {photos["a"]}
    assert _timeline_ids(owner, tagId=sibling["id"]) == {photos["b"]}
    assert len(_timeline_ids(owner)) >= 4  # no filter: the whole timeline


def test_xmp_hierarchical_keywords_become_the_tag_tree(owner: User) -> None:
    xmp = {
        "Xmp.lr.hierarchicalSubject": ["Places|Japan|Kyoto", "People|Family"],
        "Xmp.dc.subject": ["Kyoto", "Family"],
    }
    asset_id = upload_jpeg(owner, jpeg(7, xmp))
    # the tags are written in the metadata step's transaction, which commits before the
    # thumbnail step starts: once the thumbnail is there, so are the tags
    wait_processed(owner, [asset_id], timeout=PIPELINE_S)
    info = ok(owner.client.get(f"/api/assets/{asset_id}"))
    assert isinstance(info, dict)
    assert {t["value"] for t in info["tags"]} == {"Places/Japan/Kyoto", "People/Family"}
    tree = tag_values(owner)
    assert tree["Places/Japan/Kyoto"]["parentId"] == tree["Places/Japan"]["id"]
    assert tree["Places/Japan"]["parentId"] == tree["Places"]["id"]
    assert tree["People/Family"]["parentId"] == tree["People"]["id"]
    assert "Kyoto" not in tree  # the hierarchy wins over the flat dc:subject, as Immich
    assert _search_ids(owner, tagIds=[tree["Places"]["id"]]) == {asset_id}
