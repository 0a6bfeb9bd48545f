"""Replays Immich's server/src/services/person.service.spec.ts over HTTP, for what the other
people modules (tests/test_people*.py, tests/test_e2e_person.py, tests/test_medium_person.py,
tests/test_partners_faces_notifications_more.py) leave open.

Checked here: ``POST /api/faces`` (``createFace``) makes a person without a feature face take
the drawn face as its feature face ("should create a manual face and initialize the person
feature photo creation"), and leaves an existing feature face alone ("should not update the
person feature photo if one already exists"); moving a face to another person
(``PUT /api/faces/{personId}``, ``reassignFacesById``, and ``PUT /api/people/{id}/reassign``,
``reassignFaces``) gives the new person the face as feature face when it had none, and the old
person, whose feature face it was, another of its faces ("should trigger new feature photo for
old person when ... was their feature"). The spec's other HTTP-visible cases (getAll
counts, 400 on a foreign or unknown person for get/update/statistics/thumbnail/reassign,
404 without a thumbnail, ``unknown`` in bulk update, merge results ``no_permission`` and
smart merge of name and birth date, merge into oneself, ``featureFaceAssetId`` refusals,
``GET /api/faces`` access) are covered by those modules.
"""

from __future__ import annotations

import uuid

import pytest
from darkroom_stack.supervisor import Stack

from .conftest import User, db_rows, make_user, noise_jpeg, upload_jpeg, wait_processed


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> User:
    """A fresh user whose people are only this module's."""
    return make_user(stack, admin)


def feature_face(stack: Stack, person: str) -> uuid.UUID | None:
    rows = db_rows(stack, "SELECT face_asset_id FROM people WHERE id = $1", uuid.UUID(person))
    return rows[0][0]


def draw(owner: User, asset_id: str, person: str) -> None:
    body = {
        "assetId": asset_id,
        "personId": person,
        "imageWidth": 64,
        "imageHeight": 48,
        "x": 10,
        "y": 8,
        "width": 20,
        "height": 24,
    }
    r = owner.client.post("/api/faces", json=body)
    assert r.status_code == 201, r.text


def test_a_drawn_face_becomes_the_feature_face_only_of_a_person_without_one(
    stack: Stack, owner: User
) -> None:
    first, second = (upload_jpeg(owner, noise_jpeg(9300 + i)) for i in range(2))
    wait_processed(owner, [first, second])
    r = owner.client.post("/api/people", json={"name": "Drawn"})
    assert r.status_code == 201, r.text
    person = r.json()["id"]
    assert feature_face(stack, person) is None

    draw(owner, first, person)
    (face,) = db_rows(stack, "SELECT id FROM asset_faces WHERE person_id = $1", uuid.UUID(person))
    assert feature_face(stack, person) == face[0]

    draw(owner, second, person)
    assert feature_face(stack, person) == face[0]


def test_moving_a_feature_face_gives_both_people_a_feature_face(stack: Stack, owner: User) -> None:
    first, second = (upload_jpeg(owner, noise_jpeg(9310 + i)) for i in range(2))
    wait_processed(owner, [first, second])
    old, new = (owner.client.post("/api/people", json={"name": name}).json()["id"] for name in "AB")
    draw(owner, first, old)
    draw(owner, second, old)
    faces = {
        str(r["asset_id"]): r["id"]
        for r in db_rows(
            stack, "SELECT id, asset_id FROM asset_faces WHERE person_id = $1", uuid.UUID(old)
        )
    }
    assert feature_face(stack, old) == faces[first]

    r = owner.client.put(f"/api/faces/{new}", json={"id": str(faces[first])})
    assert r.status_code == 200 and r.json()["id"] == new, r.text
    assert feature_face(stack, new) == faces[first]
    assert feature_face(stack, old) == faces[second]

    r = owner.client.put(
        f"/api/people/{new}/reassign", json={"data": [{"assetId": second, "personId": old}]}
    )
    assert r.status_code == 200, r.text
    assert feature_face(stack, new) == faces[first]  # it had one: kept
