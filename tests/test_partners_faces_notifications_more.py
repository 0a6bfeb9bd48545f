"""Faces and notifications: behaviour Immich's clients rely on that no other test pins down.

Faces are made directly in the database (as in ``test_people_fields_more``), so that the
checks do not depend on the face model:

* ``PUT /api/faces/{id}`` takes the PERSON in the path and the FACE in the body (``FaceDto``),
  as Immich's face controller passes ``id`` to ``PersonService.reassignFacesById(auth,
  personId, dto)`` and the web app calls ``reassignFacesById({ id: person.id, faceDto: { id:
  face.id } })``; the answer is that person, the face is theirs afterwards and the person it
  left loses it. Another user's person or face is refused (400 ``Not found or no ... access``).
* ``GET /api/faces?id=`` needs ``asset.read`` on the asset (``PersonService.getFacesById``,
  ``requireAccess(AssetRead)``): a partner of the owner gets the faces, each ``person`` null
  since the person is not theirs (``mapFaces``: ``face.person?.ownerId === auth.user.id``); a
  stranger gets 400 ``Not found or no asset.read access`` (not an empty list).
* ``POST /api/faces`` stores a box that reaches past the image edge (``PersonService.createFace``
  checks access only; the web face editor sends the rectangle as drawn, unclamped): 201, the
  box kept inside the image.
* ``GET /api/notifications?unread=false`` filters nothing (``NotificationRepository.search``:
  ``readAt: dto.unread ? null : undefined``), only ``unread=true`` keeps the unread ones; ``id``
  and ``level`` filter.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from darkroom_stack.supervisor import Stack

from .conftest import User, db_rows, make_user, noise_jpeg, upload_jpeg, wait_processed


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> User:
    """A fresh user, so people from other test files do not mix in."""
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def stranger(stack: Stack, admin: User) -> User:
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def photos(owner: User) -> list[str]:
    ids = [upload_jpeg(owner, noise_jpeg(7300 + i)) for i in range(3)]
    wait_processed(owner, ids)
    return ids


def _ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json() if r.content else None


def _refused(r: httpx.Response, permission: str) -> None:
    assert r.status_code == 400, r.text
    assert r.json() == {"message": f"Not found or no {permission} access"}, r.text


def _person(stack: Stack, user: User, name: str) -> str:
    pid = uuid.uuid4()
    db_rows(
        stack,
        "INSERT INTO people (id, owner_id, name, thumbnail_path) VALUES ($1, $2, $3, $4)",
        pid,
        uuid.UUID(user.id),
        name,
        f"fake/{pid}.jpg",
    )
    return str(pid)


def _face(stack: Stack, user: User, asset_id: str, person_id: str | None) -> str:
    """A hand-made face of ``person_id`` in ``asset_id``, the person's feature face when it
    has none yet."""
    fid = uuid.uuid4()
    db_rows(
        stack,
        "INSERT INTO asset_faces (id, asset_id, owner_id, person_id, image_width, image_height, "
        "bounding_box_x1, bounding_box_y1, bounding_box_x2, bounding_box_y2, score, "
        "source_type, recognition) VALUES ($1, $2, $3, $4, 64, 48, 1, 1, 30, 30, 0.9, "
        "'manual', 'done')",
        fid,
        uuid.UUID(asset_id),
        uuid.UUID(user.id),
        None if person_id is None else uuid.UUID(person_id),
    )
    if person_id is not None:
        db_rows(
            stack,
            "UPDATE people SET face_asset_id = $2 WHERE id = $1 AND face_asset_id IS NULL",
            uuid.UUID(person_id),
            fid,
        )
    return str(fid)


def _faces(user: User, asset_id: str) -> list[dict[str, Any]]:
    return list(_ok(user.client.get("/api/faces", params={"id": asset_id})))


def test_reassign_face_takes_the_person_in_the_path_and_the_face_in_the_body(
    stack: Stack, owner: User, stranger: User, photos: list[str]
) -> None:
    """Immich PersonService.reassignFacesById(auth, personId = path id, dto.id = face id)."""
    ann = _person(stack, owner, "Ann")
    face = _face(stack, owner, photos[0], ann)
    bob = _ok(owner.client.post("/api/people", json={"name": "Bob"}), 201)["id"]
    c = owner.client

    moved = _ok(c.put(f"/api/faces/{bob}", json={"id": face}))
    assert moved["id"] == bob and moved["name"] == "Bob", moved
    assert [f["person"]["id"] for f in _faces(owner, photos[0])] == [bob]
    assert _ok(c.get(f"/api/people/{bob}/statistics")) == {"assets": 1}
    assert _ok(c.get(f"/api/people/{ann}/statistics")) == {"assets": 0}

    # another user's person, another user's face: refused either way round
    theirs = _ok(stranger.client.post("/api/people", json={"name": "Theirs"}), 201)["id"]
    _refused(c.put(f"/api/faces/{theirs}", json={"id": face}), "person.update")
    _refused(stranger.client.put(f"/api/faces/{theirs}", json={"id": face}), "person.create")
    _refused(stranger.client.put(f"/api/faces/{bob}", json={"id": face}), "person.update")
    assert [f["person"]["id"] for f in _faces(owner, photos[0])] == [bob]


def test_faces_need_asset_read_and_show_only_ones_own_people(
    stack: Stack, owner: User, stranger: User, admin: User, photos: list[str]
) -> None:
    """Immich getFacesById: requireAccess(AssetRead) on the asset, then mapFaces gives the
    person only to its owner."""
    cleo = _person(stack, owner, "Cleo")
    face = _face(stack, owner, photos[1], cleo)
    assert [(f["id"], f["person"]["id"]) for f in _faces(owner, photos[1])] == [(face, cleo)]

    partner = make_user(stack, admin)
    _ok(owner.client.post("/api/partners", json={"sharedWithId": partner.id}), 201)
    seen = _faces(partner, photos[1])
    assert [(f["id"], f["person"]) for f in seen] == [(face, None)], seen
    assert seen[0]["boundingBoxX2"] == 30 and seen[0]["imageWidth"] == 64

    _refused(stranger.client.get("/api/faces", params={"id": photos[1]}), "asset.read")
    _refused(owner.client.get("/api/faces", params={"id": str(uuid.uuid4())}), "asset.read")


def test_manual_face_reaching_past_the_edge_is_stored(
    stack: Stack, owner: User, photos: list[str]
) -> None:
    """Immich createFace stores the box the web face editor sends, which is not clamped to the
    image (a rectangle dragged over the letterbox): 201, not a refusal."""
    dana = _ok(owner.client.post("/api/people", json={"name": "Dana"}), 201)["id"]
    body = {
        "assetId": photos[2],
        "personId": dana,
        "imageWidth": 64,
        "imageHeight": 48,
        "x": -5,
        "y": 10,
        "width": 30,
        "height": 45,
    }
    _ok(owner.client.post("/api/faces", json=body), 201)
    (made,) = [f for f in _faces(owner, photos[2]) if f["person"] and f["person"]["id"] == dana]
    box = [made[k] for k in ("boundingBoxX1", "boundingBoxY1", "boundingBoxX2", "boundingBoxY2")]
    assert box == [0, 10, 25, 48], made
    assert made["sourceType"] == "manual"


def test_unread_false_lists_every_notification(stack: Stack, admin: User) -> None:
    """Immich NotificationRepository.search: ``readAt: dto.unread ? null : undefined``."""
    user = make_user(stack, admin)
    made = [
        _ok(
            admin.client.post(
                "/api/admin/notifications",
                json={"userId": user.id, "title": f"n{i}", "level": level},
            ),
            201,
        )["id"]
        for i, level in enumerate(("info", "error"))
    ]
    _ok(user.client.put(f"/api/notifications/{made[0]}", json={"readAt": "2024-01-01T00:00:00Z"}))
    c = user.client

    def ids(**params: Any) -> set[str]:
        return {n["id"] for n in _ok(c.get("/api/notifications", params=params))}

    assert ids() == set(made)
    assert ids(unread="true") == {made[1]}
    assert ids(unread="false") == set(made)
    assert ids(level="error") == {made[1]}
    assert ids(id=made[0]) == {made[0]}
    assert ids(id=made[0], unread="true") == set()
