"""People search by name and face deletion, as Immich 3.1 does them.

People and faces are made directly in the database (faces on noise photos), so that the checks
do not depend on the face model.

* ``GET /api/search/person?name=&withHidden=`` (Immich ``SearchService.searchPerson`` ->
  ``PersonRepository.getByName``): a person matches when the pg_trgm word similarity of the
  unaccented query to a continuous extent of the unaccented name reaches 0.5
  (``f_unaccent(name) %> f_unaccent(query)`` under ``pg_trgm.word_similarity_threshold =
  0.5``), so accents are ignored ("Zoe" finds "Zoë") and a typo or a part of a word still
  matches; results come nearest first by strict word distance (``<->>>``), at most 100; hidden
  people only with ``withHidden``; only the caller's people.
* ``DELETE /api/faces/{id}`` with ``{"force": false}`` (Immich ``PersonService.deleteFace`` ->
  ``PersonRepository.softDeleteAssetFaces``) sets the face's ``deletedAt`` and keeps the row;
  ``{"force": true}`` (``deleteAssetFace``) deletes it. A soft-deleted face is left out where
  Immich filters ``asset_face.deletedAt IS NULL``: the faces of an asset (``getFaces``), the
  people list and its counts (``getAllForUser``, ``getNumberOfPeople``), a person's statistics
  (``getStatistics``), the people of an asset response (``withFaces``), the person filter of
  searches (``hasPeople``). The sync stream still sends it (``SyncRepository.assetFace
  .getUpserts`` selects every face with its ``deletedAt``): ``AssetFaceV2`` with ``deletedAt``
  set, ``AssetFaceV1`` without the field (``syncAssetFaceV2ToV1``); only a forced delete is an
  ``AssetFaceDeleteV1``. Another user's face is refused with 400 (``requireAccess``
  ``face.delete``).
* Re-detection (Immich ``PersonService.handleDetectFaces``: the asset's faces are read with the
  soft-deleted ones, ``getForDetectFacesJob`` -> ``withFaces(eb, true, true)``): a detected box
  overlapping a soft-deleted face (IoU > 0.5) is not stored again and the soft-deleted face stays
  as it is; a soft-deleted machine-learning face that no detection overlaps any more is removed
  with the other stale ones (``faceIdsToRemove``). A machine-learning face found again is kept
  as it is (its id and person: a re-run does not undo recognition); a detection on a manual face
  gives it the embedding and adds no face (``match && !mlFaceIds.delete(match.id)``).
"""

from __future__ import annotations

import asyncio
import copy
import uuid
from typing import Any

import asyncpg
import pytest
from darkroom_db import people as people_db
from darkroom_gateway import apidoc
from darkroom_stack.supervisor import Stack
from pgvector.asyncpg import register_vector

from tests.conftest import User, db_rows, make_user, noise_jpeg, upload_jpeg, wait_processed
from tests.faces import wait_faces_detected
from tests.test_sync import Device
from tests.test_sync_types import SPEC_PATH, _json_schema, validate


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> User:
    """A fresh user, so people from other test files do not mix in."""
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def stranger(stack: Stack, admin: User) -> User:
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def photos(stack: Stack, owner: User) -> list[str]:
    """Five processed photos of ``owner`` whose face step has run (it finds nothing on noise),
    so that no detection run replaces the faces the tests put on them."""
    ids = [upload_jpeg(owner, noise_jpeg(8300 + i)) for i in range(5)]
    wait_processed(owner, ids)
    db = stack.env()["DARKROOM_DATABASE_URL"]
    assert wait_faces_detected(db, ids, wait_s=120) == len(ids)
    return ids


@pytest.fixture(scope="module")
def components() -> dict[str, Any]:
    """The spec's schemas as JSON Schema (for :func:`tests.test_sync_types.validate`)."""
    spec = apidoc.load_spec(SPEC_PATH)
    return {"components": _json_schema(copy.deepcopy(spec["components"]))}


def _person(stack: Stack, user: User, name: str, *, hidden: bool = False) -> str:
    pid = uuid.uuid4()
    db_rows(
        stack,
        "INSERT INTO people (id, owner_id, name, is_hidden, thumbnail_path) "
        "VALUES ($1, $2, $3, $4, $5)",
        pid,
        uuid.UUID(user.id),
        name,
        hidden,
        f"fake/{pid}.jpg",
    )
    return str(pid)


def _face(
    stack: Stack,
    user: User,
    asset_id: str,
    person_id: str | None,
    box: tuple[int, int, int, int] = (1, 1, 30, 30),
    source: str = "manual",
) -> str:
    """A face of ``person_id`` in ``asset_id`` (box in a 64 x 48 image)."""
    fid = uuid.uuid4()
    db_rows(
        stack,
        "INSERT INTO asset_faces (id, asset_id, owner_id, person_id, image_width, image_height, "
        "bounding_box_x1, bounding_box_y1, bounding_box_x2, bounding_box_y2, score, "
        "source_type, recognition) VALUES ($1, $2, $3, $4, 64, 48, $5, $6, $7, $8, 0.9, $9, "
        "'done')",
        fid,
        uuid.UUID(asset_id),
        uuid.UUID(user.id),
        None if person_id is None else uuid.UUID(person_id),
        *box,
        source,
    )
    return str(fid)


def _ok(r: Any) -> Any:
    assert r.status_code == 200, r.text
    return r.json()


def _names(r: Any) -> list[str]:
    return [p["name"] for p in _ok(r)]


# --- 1. search by name ------------------------------------------------------------------------


def test_search_person_by_word_similarity(stack: Stack, owner: User, stranger: User) -> None:
    for name in ("Zoë Saldaña", "Jonathan Smith", "Annabelle Ames", "Zed Anna", "Bob"):
        _person(stack, owner, name)
    _person(stack, owner, "Heidi Hidden", hidden=True)
    _person(stack, owner, "")
    _person(stack, stranger, "Zoe Stranger")
    c = owner.client

    def search(name: str, **params: Any) -> list[str]:
        return _names(c.get("/api/search/person", params={"name": name, **params}))

    # accents ignored both ways (Immich f_unaccent on the name and on the query)
    assert search("Zoe") == ["Zoë Saldaña"]
    assert search("saldana") == ["Zoë Saldaña"]
    assert search("Zoë") == ["Zoë Saldaña"]
    # a typo, and a part of a word (pg_trgm word similarity >= 0.5)
    assert search("Jonatan") == ["Jonathan Smith"]
    assert search("nathan") == ["Jonathan Smith"]
    assert search("xyz") == []
    # nearest first by strict word distance: the whole word "Anna" before the prefix of
    # "Annabelle" (which a name or prefix order would put first)
    assert search("anna") == ["Zed Anna", "Annabelle Ames"]
    # hidden people only with withHidden
    assert search("Heidi") == []
    assert search("Heidi", withHidden="true") == ["Heidi Hidden"]
    # another user's people never come
    assert _names(stranger.client.get("/api/search/person", params={"name": "Zoe"})) == [
        "Zoe Stranger"
    ]
    # the response is PersonResponseDto
    [zoe] = _ok(c.get("/api/search/person", params={"name": "zoe"}))
    assert {"id", "name", "birthDate", "thumbnailPath", "isHidden", "updatedAt"} <= set(zoe)


def test_search_person_limit(stack: Stack, stranger: User) -> None:
    """At most 100 people (Immich ``.limit(100)``)."""
    db_rows(
        stack,
        "INSERT INTO people (id, owner_id, name) SELECT gen_random_uuid(), $1, 'Clone ' || i "
        "FROM generate_series(1, 105) i",
        uuid.UUID(stranger.id),
    )
    got = _ok(stranger.client.get("/api/search/person", params={"name": "Clone"}))
    assert len(got) == 100


# --- 2. soft and forced face deletion ---------------------------------------------------------


def _faces(user: User, asset_id: str) -> list[str]:
    return [f["id"] for f in _ok(user.client.get("/api/faces", params={"id": asset_id}))]


def _deleted_at(stack: Stack, face_id: str) -> list[Any]:
    """[deleted_at] of the face row, or [] when the row is gone."""
    rows = db_rows(stack, "SELECT deleted_at FROM asset_faces WHERE id = $1", uuid.UUID(face_id))
    return [r["deleted_at"] for r in rows]


def _delete(user: User, face_id: str, force: bool) -> int:
    r = user.client.request("DELETE", f"/api/faces/{face_id}", json={"force": force})
    return r.status_code


def test_face_soft_delete_and_force(
    stack: Stack, owner: User, stranger: User, photos: list[str], components: dict[str, Any]
) -> None:
    a, b, c_, *_ = photos
    device = Device(stack, owner)
    device.sync_and_ack(["PeopleV1", "AssetFacesV1", "AssetFacesV2"])

    sam = _person(stack, owner, "Soft Sam")
    solo = _person(stack, owner, "Solo Sue")
    on_a = _face(stack, owner, a, sam)
    on_b = _face(stack, owner, b, sam)
    only = _face(stack, owner, c_, solo)
    c = owner.client
    listed = _ok(c.get("/api/people"))
    assert {sam, solo} <= {p["id"] for p in listed["people"]}
    total = listed["total"]
    assert _ok(c.get(f"/api/people/{sam}/statistics")) == {"assets": 2}

    # another user's face: 400, soft or forced, and nothing changes
    assert _delete(stranger, on_a, False) == 400
    assert _delete(stranger, on_a, True) == 400
    assert _deleted_at(stack, on_a) == [None]

    # soft delete: the row stays with deletedAt set
    assert _delete(owner, on_a, False) == 204
    [when] = _deleted_at(stack, on_a)
    assert when is not None
    # ... and the face is gone from the asset's faces, the person's statistics, the asset's
    # people and the person filter of searches
    assert on_a not in _faces(owner, a) and on_b in _faces(owner, b)
    assert _ok(c.get(f"/api/people/{sam}/statistics")) == {"assets": 1}
    assert sam not in [p["id"] for p in _ok(c.get(f"/api/assets/{a}"))["people"]]
    assert sam in [p["id"] for p in _ok(c.get(f"/api/assets/{b}"))["people"]]
    found = c.post("/api/search/metadata", json={"personIds": [sam]})
    assert found.status_code == 200, found.text
    assert [x["id"] for x in found.json()["assets"]["items"]] == [b]
    # a person whose only face is soft-deleted leaves the people list and its total
    assert _delete(owner, only, False) == 204
    listed = _ok(c.get("/api/people"))
    assert solo not in {p["id"] for p in listed["people"]} and listed["total"] == total - 1

    # sync: the soft-deleted faces come as upserts, V2 with deletedAt, V1 without it
    lines = device.sync(["PeopleV1", "AssetFacesV1", "AssetFacesV2"])
    validate(components, lines)  # the spec's SyncAssetFaceV1/V2, exactly their fields
    v2 = {d["id"]: d for d in (x["data"] for x in lines if x["type"] == "AssetFaceV2")}
    v1 = {d["id"]: d for d in (x["data"] for x in lines if x["type"] == "AssetFaceV1")}
    assert v2[on_a]["deletedAt"] is not None and v2[on_b]["deletedAt"] is None
    assert v2[only]["deletedAt"] is not None
    assert on_a in v1 and "deletedAt" not in v1[on_a]
    assert not [x for x in lines if x["type"] == "AssetFaceDeleteV1"]
    device.ack(lines)

    # force: the row is deleted, and the app is told with AssetFaceDeleteV1
    assert _delete(owner, on_b, True) == 204
    assert _deleted_at(stack, on_b) == []
    assert on_b not in _faces(owner, b)
    lines = device.sync(["PeopleV1", "AssetFacesV1", "AssetFacesV2"])
    gone = [x["data"] for x in lines if x["type"] == "AssetFaceDeleteV1"]
    assert gone and all(d == {"assetFaceId": on_b} for d in gone), lines  # once per type asked
    # a soft-deleted face can still be deleted for good
    assert _delete(owner, on_a, True) == 204
    assert _deleted_at(stack, on_a) == []


# --- 3. re-detection keeps what the user deleted ----------------------------------------------


async def _redetect(db_url: str, asset_id: str, owner_id: str, boxes: list[tuple]) -> None:
    conn = await asyncpg.connect(db_url)
    try:
        async with conn.transaction():
            await people_db.replace_faces(
                conn,
                asset_id=uuid.UUID(asset_id),
                owner_id=uuid.UUID(owner_id),
                faces=[
                    people_db.NewFace(
                        image_width=64, image_height=48, x1=x1, y1=y1, x2=x2, y2=y2, score=0.9
                    )
                    for x1, y1, x2, y2 in boxes
                ],
            )
    finally:
        await conn.close()


def test_redetection_keeps_soft_deleted_faces(stack: Stack, owner: User, photos: list[str]) -> None:
    asset = photos[3]
    kept = _face(stack, owner, asset, None, (2, 2, 22, 22), "machine-learning")
    stale = _face(stack, owner, asset, None, (40, 20, 60, 44), "machine-learning")
    assert _delete(owner, kept, False) == 204
    assert _delete(owner, stale, False) == 204

    # the detector finds the soft-deleted face again (IoU > 0.5) and a new one elsewhere
    db = stack.env()["DARKROOM_DATABASE_URL"]
    asyncio.run(_redetect(db, asset, owner.id, [(3, 3, 23, 22), (30, 2, 45, 17)]))
    rows = db_rows(
        stack,
        "SELECT id, deleted_at, bounding_box_x1 FROM asset_faces WHERE asset_id = $1 "
        "ORDER BY bounding_box_x1",
        uuid.UUID(asset),
    )
    # the soft-deleted face stays (still deleted), no new face on its place; the stale one
    # went; the new box is a new face
    assert [(str(r["id"]), r["deleted_at"] is not None) for r in rows][0] == (kept, True)
    assert [r["bounding_box_x1"] for r in rows] == [2, 30], rows
    assert rows[1]["deleted_at"] is None
    assert _faces(owner, asset) == [str(rows[1]["id"])]


def test_redetection_keeps_the_faces_it_finds_again(
    stack: Stack, owner: User, photos: list[str]
) -> None:
    asset = photos[4]
    kim = _person(stack, owner, "Kept Kim")
    recognised = _face(stack, owner, asset, kim, (2, 2, 22, 22), "machine-learning")
    manual = _face(stack, owner, asset, None, (30, 2, 50, 22), "manual")
    stale = _face(stack, owner, asset, None, (40, 26, 60, 46), "machine-learning")

    unit = [1.0 / 128**0.5] * 128
    boxes = [(3, 3, 23, 22), (31, 3, 50, 22), (5, 28, 20, 46)]  # Kim, the manual one, new

    async def redetect() -> list[uuid.UUID]:
        conn = await asyncpg.connect(stack.env()["DARKROOM_DATABASE_URL"])
        await register_vector(conn)  # as the face service's pool
        try:
            async with conn.transaction():
                return await people_db.replace_faces(
                    conn,
                    asset_id=uuid.UUID(asset),
                    owner_id=uuid.UUID(owner.id),
                    faces=[
                        people_db.NewFace(
                            image_width=64,
                            image_height=48,
                            x1=x1,
                            y1=y1,
                            x2=x2,
                            y2=y2,
                            score=0.9,
                            embedding=unit,
                        )
                        for x1, y1, x2, y2 in boxes
                    ],
                )
        finally:
            await conn.close()

    new = asyncio.run(redetect())
    rows = db_rows(
        stack,
        "SELECT f.id, f.person_id, f.source_type, s.face_id IS NOT NULL AS embedded "
        "FROM asset_faces f LEFT JOIN face_search s ON s.face_id = f.id "
        "WHERE f.asset_id = $1 ORDER BY f.bounding_box_x1",
        uuid.UUID(asset),
    )
    by_id = {str(r["id"]): r for r in rows}
    assert recognised in by_id and str(by_id[recognised]["person_id"]) == kim  # kept, still Kim
    assert manual in by_id and by_id[manual]["embedded"]  # the manual face took the embedding
    assert stale not in by_id  # no detection on it any more
    assert [str(i) for i in new] == [
        str(r["id"]) for r in rows if str(r["id"]) not in (recognised, manual)
    ]
    assert len(rows) == 3, rows
    assert asyncio.run(redetect()) == []  # a second run finds the same faces: nothing new


def test_face_delete_needs_force(stack: Stack, owner: User, photos: list[str]) -> None:
    """``force`` is required (the spec's AssetFaceDeleteDto; Immich's validation answers 400):
    a request without it deletes nothing."""
    face = _face(stack, owner, photos[4], None, (44, 30, 60, 46), "machine-learning")
    for body in (None, {}):
        r = owner.client.request("DELETE", f"/api/faces/{face}", json=body)
        assert r.status_code == 400, r.text
        assert r.json()["message"] == "Validation failed", r.text
    assert _deleted_at(stack, face) == [None]
