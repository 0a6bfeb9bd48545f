"""People endpoints: request fields that no other test exercises on a success path.

People and faces are made directly in the database (a face per noise photo, a descriptor of
our choosing), so that the checks do not depend on the face model:

* ``GET /api/people?closestPersonId=`` / ``closestAssetId=`` order people by how close their
  feature face is to that person's feature face / to that face (Immich: person.service getAll,
  person.repository getAllForUser orders by ``face_search.embedding <=> ...``); a
  ``closestPersonId`` without a feature face is 404 "Person not found".
* ``page``/``size`` page the list (``hasNextPage``).
* ``POST /api/people/{id}/merge`` gives an unnamed primary the merged person's name and birth
  date (Immich mergePerson).
* ``PUT /api/people/{id}/reassign`` answers one PersonResponseDto per ``data`` item (Immich
  reassignFaces pushes the person once per item).
* ``GET /api/people/{id}/statistics`` counts only timeline assets (Immich getStatistics joins
  ``asset.visibility = 'timeline'``): archiving a photo takes it out.
* ``color`` on create and update round-trips.
"""

from __future__ import annotations

import uuid

import pytest
from darkroom_stack.supervisor import Stack

from .conftest import User, db_rows, make_user, noise_jpeg, upload_jpeg, wait_processed


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> User:
    """A fresh user, so people from other test files do not mix in."""
    return make_user(stack, admin)


def _dim(stack: Stack) -> int:
    typmod = db_rows(
        stack,
        "SELECT atttypmod FROM pg_attribute WHERE attrelid = 'face_search'::regclass "
        "AND attname = 'embedding'",
    )[0][0]
    return int(typmod) if typmod and typmod > 0 else 128


def _vec(dim: int, x: float, y: float) -> str:
    """A descriptor with (x, y) in its first two components, zero elsewhere (pgvector text)."""
    values = [x, y] + [0.0] * (dim - 2)
    return "[" + ",".join(str(v) for v in values) + "]"


def _person(stack: Stack, owner: User, name: str = "") -> str:
    pid = uuid.uuid4()
    db_rows(
        stack,
        "INSERT INTO people (id, owner_id, name, thumbnail_path) VALUES ($1, $2, $3, $4)",
        pid,
        uuid.UUID(owner.id),
        name,
        f"fake/{pid}.jpg",
    )
    return str(pid)


def _face(
    stack: Stack, owner: User, asset_id: str, person_id: str, vec: str | None, feature: bool
) -> str:
    """A hand-made ('manual', kept on re-detection) face of ``person_id`` in ``asset_id``."""
    fid = uuid.uuid4()
    db_rows(
        stack,
        "INSERT INTO asset_faces (id, asset_id, owner_id, person_id, image_width, image_height, "
        "bounding_box_x1, bounding_box_y1, bounding_box_x2, bounding_box_y2, score, "
        "source_type, recognition) VALUES ($1, $2, $3, $4, 64, 48, 1, 1, 30, 30, 0.9, "
        "'manual', 'done')",
        fid,
        uuid.UUID(asset_id),
        uuid.UUID(owner.id),
        uuid.UUID(person_id),
    )
    if vec is not None:
        db_rows(
            stack,
            "INSERT INTO face_search (face_id, owner_id, embedding) "
            "VALUES ($1, $2, $3::text::vector)",
            fid,
            uuid.UUID(owner.id),
            vec,
        )
    if feature:
        db_rows(
            stack,
            "UPDATE people SET face_asset_id = $2 WHERE id = $1",
            uuid.UUID(person_id),
            fid,
        )
    return str(fid)


@pytest.fixture(scope="module")
def photos(owner: User) -> list[str]:
    ids = [upload_jpeg(owner, noise_jpeg(7100 + i)) for i in range(4)]
    wait_processed(owner, ids)
    return ids


def _ids(r) -> list[str]:  # type: ignore[no-untyped-def]
    assert r.status_code == 200, r.text
    return [p["id"] for p in r.json()["people"]]


def test_closest_person_and_asset_order_the_list(
    stack: Stack, owner: User, photos: list[str]
) -> None:
    """Four people whose feature faces lie at angles 0, 30, 60 and 90 degrees (unit vectors:
    cosine and L2 agree). Default order is by name (all have one face); closest orders by
    distance to the reference instead."""
    dim = _dim(stack)
    # names in the reverse of the geometric order, so the default order is the opposite
    angles = {"d": (1.0, 0.0), "c": (0.866, 0.5), "b": (0.5, 0.866), "a": (0.0, 1.0)}
    people: dict[str, str] = {}
    faces: dict[str, str] = {}
    for i, (name, (x, y)) in enumerate(angles.items()):
        people[name] = _person(stack, owner, name)
        faces[name] = _face(stack, owner, photos[i], people[name], _vec(dim, x, y), True)
    c = owner.client
    assert _ids(c.get("/api/people")) == [people[n] for n in "abcd"]

    r = c.get("/api/people", params={"closestPersonId": people["d"]})
    assert _ids(r) == [people[n] for n in "dcba"], r.text
    # closestAssetId is a face id (Immich: closestFaceAssetId)
    r = c.get("/api/people", params={"closestAssetId": faces["b"]})
    got = _ids(r)
    assert got[0] == people["b"] and set(got[1:3]) == {people["a"], people["c"]}, r.text
    assert got[3] == people["d"], r.text
    # paging keeps the closest order
    r = c.get("/api/people", params={"closestPersonId": people["d"], "size": 2, "page": 2})
    assert _ids(r) == [people["b"], people["a"]] and r.json()["hasNextPage"] is False, r.text
    # a person without a feature face: 404 Person not found (Immich NotFoundException)
    bare = c.post("/api/people", json={"name": "bare"}).json()["id"]
    r = c.get("/api/people", params={"closestPersonId": bare})
    assert r.status_code == 404, r.text


def test_page_and_size(stack: Stack, owner: User, photos: list[str]) -> None:
    """``size`` limits a page, ``page`` moves along it, ``hasNextPage`` tells if more follow."""
    c = owner.client
    everyone = _ids(c.get("/api/people", params={"size": 1000}))
    assert len(everyone) >= 3
    first = c.get("/api/people", params={"size": 2, "page": 1})
    assert _ids(first) == everyone[:2] and first.json()["hasNextPage"] is True
    second = c.get("/api/people", params={"size": 2, "page": 2})
    assert _ids(second) == everyone[2:4]
    assert second.json()["hasNextPage"] is (len(everyone) > 4)
    assert first.json()["total"] == len(everyone)


def test_merge_gives_an_unnamed_person_the_merged_name_and_birth_date(owner: User) -> None:
    """Immich mergePerson: primary without a name/birth date takes the merged person's."""
    c = owner.client
    primary = c.post("/api/people", json={}).json()["id"]
    other = c.post("/api/people", json={"name": "Ann", "birthDate": "1990-02-03"}).json()["id"]
    r = c.post(f"/api/people/{primary}/merge", json={"ids": [other]})
    assert r.status_code == 200 and r.json() == [{"id": other, "success": True}], r.text
    got = c.get(f"/api/people/{primary}").json()
    assert (got["name"], got["birthDate"]) == ("Ann", "1990-02-03"), got
    # a named primary keeps its own name
    named = c.post("/api/people", json={"name": "Bob"}).json()["id"]
    third = c.post("/api/people", json={"name": "Carl"}).json()["id"]
    assert c.post(f"/api/people/{named}/merge", json={"ids": [third]}).status_code == 200
    assert c.get(f"/api/people/{named}").json()["name"] == "Bob"


def test_reassign_answers_one_person_per_item(stack: Stack, owner: User, photos: list[str]) -> None:
    """Immich reassignFaces: the target person, once for each (assetId, personId) item."""
    dim = _dim(stack)
    source = _person(stack, owner, "source")
    _face(stack, owner, photos[0], source, _vec(dim, 0.7, 0.7), True)
    _face(stack, owner, photos[1], source, _vec(dim, 0.7, 0.71), False)
    target = owner.client.post("/api/people", json={"name": "target"}).json()["id"]
    r = owner.client.put(
        f"/api/people/{target}/reassign",
        json={"data": [{"assetId": a, "personId": source} for a in photos[:2]]},
    )
    assert r.status_code == 200, r.text
    assert [p["id"] for p in r.json()] == [target, target], r.text
    assert owner.client.get(f"/api/people/{target}/statistics").json() == {"assets": 2}


def test_statistics_leave_out_archived_assets(stack: Stack, owner: User, photos: list[str]) -> None:
    """Immich getStatistics counts assets with visibility 'timeline' only."""
    person = _person(stack, owner, "stats")
    _face(stack, owner, photos[2], person, None, True)
    _face(stack, owner, photos[3], person, None, False)
    c = owner.client
    assert c.get(f"/api/people/{person}/statistics").json() == {"assets": 2}
    r = c.put("/api/assets", json={"ids": [photos[3]], "visibility": "archive"})
    assert r.status_code == 204, r.text
    try:
        assert c.get(f"/api/people/{person}/statistics").json() == {"assets": 1}
    finally:
        c.put("/api/assets", json={"ids": [photos[3]], "visibility": "timeline"})


def test_color_on_create_and_update(owner: User) -> None:
    """``color`` is stored on create, changed by PUT /people/{id} and PUT /people."""
    c = owner.client
    r = c.post("/api/people", json={"name": "Col", "color": "#ff0000"})
    assert r.status_code == 201 and r.json()["color"] == "#ff0000", r.text
    pid = r.json()["id"]
    r = c.put(f"/api/people/{pid}", json={"color": "#00ff00", "isFavorite": True})
    assert r.status_code == 200 and r.json()["color"] == "#00ff00", r.text
    got = c.get(f"/api/people/{pid}").json()
    assert got["color"] == "#00ff00" and got["isFavorite"] is True
