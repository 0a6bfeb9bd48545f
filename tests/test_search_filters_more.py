"""Search request fields on their success path, which the other search tests do not send:
albumIds with several albums (every album, as personIds and tagIds), withPeople (metadata and
random), isNotInAlbum, rating, createdAfter/updatedAfter, trashedAfter/trashedBefore, isMotion,
isEncoded, lensModel/state null, withHidden, the large-assets query filters. Expected behaviour
is Immich 3.1's (its search query builder)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from darkroom_stack.supervisor import Stack

from .conftest import User, db_rows, make_user, noise_jpeg, upload_jpeg, wait_processed


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> User:
    return make_user(stack, admin)


def _ok(r):  # type: ignore[no-untyped-def]
    assert r.status_code in (200, 201), r.text
    return r.json()


def _album(user: User, name: str, ids: list[str]) -> str:
    return str(
        _ok(user.client.post("/api/albums", json={"albumName": name, "assetIds": ids}))["id"]
    )


@pytest.fixture(scope="module")
def lib(stack: Stack, owner: User) -> dict:
    """Four photos: a in album 1, b in albums 1 and 2, c in album 2, d in no album."""
    before = datetime.now(UTC) - timedelta(seconds=1)
    ids = {k: upload_jpeg(owner, noise_jpeg(7000 + i)) for i, k in enumerate("abcd")}
    wait_processed(owner, list(ids.values()))
    al1 = _album(owner, "audit-1", [ids["a"], ids["b"]])
    al2 = _album(owner, "audit-2", [ids["b"], ids["c"]])
    return {"ids": ids, "al1": al1, "al2": al2, "before": before}


def _meta(user: User, body: dict) -> set[str]:
    r = user.client.post("/api/search/metadata", json=body)
    assert r.status_code == 200, f"{body}: {r.status_code} {r.text}"
    return {a["id"] for a in r.json()["assets"]["items"]}


def _names(lib: dict, found: set[str]) -> set[str]:
    back = {v: k for k, v in lib["ids"].items()}
    return {back.get(i, i) for i in found}


def test_album_ids_mean_every_album(owner: User, lib: dict) -> None:
    """Immich's ``inAlbums``: ``having count(distinct albumId) = len(albumIds)``: an asset must
    be in EVERY listed album (as personIds / tagIds)."""
    got = _meta(owner, {"albumIds": [lib["al1"], lib["al2"]]})
    assert _names(lib, got) == {"b"}


def test_with_people_lists_the_people(stack: Stack, owner: User, lib: dict) -> None:
    """``withPeople: true`` (metadata and random search): each asset carries ``people``."""
    a = lib["ids"]["a"]
    person = uuid.uuid4()
    db_rows(
        stack,
        "INSERT INTO people (id, owner_id, name) VALUES ($1, $2, 'Audit Person')",
        person,
        uuid.UUID(owner.id),
    )
    db_rows(
        stack,
        "INSERT INTO asset_faces (id, asset_id, owner_id, person_id, image_width, image_height, "
        "bounding_box_x1, bounding_box_y1, bounding_box_x2, bounding_box_y2, recognition) "
        "VALUES ($1, $2, $3, $4, 64, 48, 1, 1, 20, 20, 'done')",
        uuid.uuid4(),
        uuid.UUID(a),
        uuid.UUID(owner.id),
        person,
    )
    info = _ok(owner.client.get(f"/api/assets/{a}"))
    assert [p["name"] for p in info["people"]] == ["Audit Person"]  # the asset API sees it
    meta = _ok(owner.client.post("/api/search/metadata", json={"id": a, "withPeople": True}))
    items = meta["assets"]["items"]
    assert len(items) == 1
    random = _ok(
        owner.client.post(
            "/api/search/random", json={"personIds": [str(person)], "withPeople": True}
        )
    )
    assert [x["id"] for x in random] == [a]
    assert [p["name"] for p in items[0]["people"]] == ["Audit Person"], "metadata withPeople"
    assert [p["name"] for p in random[0]["people"]] == ["Audit Person"], "random withPeople"


def test_more_filters_narrow(owner: User, lib: dict) -> None:
    """Filters no other test sends: each narrows as Immich's does."""
    ids = lib["ids"]
    c = owner.client
    assert _names(lib, _meta(owner, {"isNotInAlbum": True})) == {"d"}
    _ok(c.put(f"/api/assets/{ids['a']}", json={"rating": 3}))
    assert _names(lib, _meta(owner, {"rating": 3})) == {"a"}
    assert "a" not in _names(lib, _meta(owner, {"rating": None}))
    assert _names(lib, _meta(owner, {"createdAfter": lib["before"].isoformat()})) == set("abcd")
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert _meta(owner, {"createdAfter": future}) == set()
    assert _names(lib, _meta(owner, {"createdBefore": future})) == set("abcd")
    assert _meta(owner, {"updatedAfter": future}) == set()
    assert _names(lib, _meta(owner, {"isMotion": False})) == set("abcd")
    assert _meta(owner, {"isMotion": True}) == set()
    assert _names(lib, _meta(owner, {"isEncoded": False})) == set("abcd")
    assert _meta(owner, {"lensModel": "No Such Lens"}) == set()
    assert _names(lib, _meta(owner, {"state": None})) == set("abcd")  # no GPS: unknown state
    stats = _ok(c.post("/api/search/statistics", json={"isNotInAlbum": True}))
    assert stats == {"total": 1}
    large = _ok(
        c.post("/api/search/large-assets", params={"albumIds": [lib["al1"]], "minFileSize": 1})
    )
    assert _names(lib, {x["id"] for x in large}) == {"a", "b"}


def test_trashed_window(owner: User, lib: dict) -> None:
    """``trashedAfter`` / ``trashedBefore`` find trashed assets (Immich implies withDeleted)."""
    extra = upload_jpeg(owner, noise_jpeg(7100))
    t0 = datetime.now(UTC) - timedelta(seconds=1)
    r = owner.client.request("DELETE", "/api/assets", json={"ids": [extra]})
    assert r.status_code == 204, r.text
    time.sleep(0.2)
    t1 = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    assert _meta(owner, {"trashedAfter": t0.isoformat()}) == {extra}
    assert extra in _meta(owner, {"trashedBefore": t1, "withDeleted": True})
    stats = _ok(owner.client.post("/api/search/statistics", json={"trashedAfter": t0.isoformat()}))
    assert stats == {"total": 1}


def test_person_search_with_hidden(stack: Stack, owner: User) -> None:
    hidden = uuid.uuid4()
    db_rows(
        stack,
        "INSERT INTO people (id, owner_id, name, is_hidden) VALUES ($1, $2, 'Hidden Hal', true)",
        hidden,
        uuid.UUID(owner.id),
    )
    c = owner.client
    assert _ok(c.get("/api/search/person", params={"name": "Hid"})) == []
    got = _ok(c.get("/api/search/person", params={"name": "Hid", "withHidden": "true"}))
    assert [p["id"] for p in got] == [str(hidden)]
