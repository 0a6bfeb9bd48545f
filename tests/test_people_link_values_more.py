"""Values in people and shared-link answers that no other test pins down.

People and faces are made directly in the database (hand-made faces on noise photos, each
person with a feature face and a stored thumbnail key), so that the checks do not depend on the
face model. What this proves, each against Immich (``PersonService`` / ``PersonRepository`` /
``SharedLinkRepository``):

* ``GET /api/people`` lists an unnamed person only with at least
  ``machineLearning.facialRecognition.minFaces`` faces, a named one with at least one, and counts
  only faces on main-timeline assets (archived ones do not count); ``total``/``hidden`` count
  every person with a face on a timeline asset, whatever ``minFaces`` says (Immich:
  ``PersonService.getAll``, ``PersonRepository.getAllForUser`` with ``minimumFaceCount`` and
  ``asset.visibility = 'timeline'``, ``getNumberOfPeople``).
* ``GET /api/people/{id}/thumbnail`` is served ``Cache-Control: private, no-cache,
  no-transform`` (Immich ``getThumbnail``: ``CacheControl.PrivateWithoutCache``: the feature
  face changes behind the same URL), and 404 without a thumbnail.
* ``PUT /api/people/{id}`` with a ``featureFaceAssetId`` that shows no face of the person is
  400 ``Invalid assetId for feature face``; another user's asset is 400 ``Not found or no
  asset.read access`` (Immich ``update``: ``requireAccess(AssetRead)`` then ``getFacesByIds``).
* ``PUT /api/people`` reports a person it cannot update as ``error: unknown`` (Immich
  ``updateAll`` catches every failure as ``BulkIdErrorReason.Unknown``).
* ``POST /api/people/{id}/merge`` reports an id the caller may not merge (another user's, or
  none) as ``no_permission`` (Immich ``mergePerson``: ``checkAccess(PersonMerge)``).
* An INDIVIDUAL shared link lists its assets oldest first (``fileCreatedAt`` ascending), to its
  owner and to a visitor (Immich ``SharedLinkRepository.get``), and the list of links starts
  each link's assets with the oldest (the one Immich's ``getAll`` carries).
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
    """A user who shares nothing with ``owner``."""
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def photos(owner: User) -> list[str]:
    ids = [upload_jpeg(owner, noise_jpeg(7300 + i)) for i in range(4)]
    wait_processed(owner, ids)
    return ids


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, (r.status_code, r.text)
    return r.json() if r.content else None


def _preview_key(stack: Stack, asset_id: str) -> str:
    """A stored object to stand for a person's face crop (the asset's JPEG preview)."""
    rows = db_rows(
        stack,
        "SELECT path FROM asset_files WHERE asset_id = $1 AND type = 'preview'",
        uuid.UUID(asset_id),
    )
    return str(rows[0][0])


def _person(stack: Stack, owner: User, name: str, thumbnail: str) -> str:
    pid = uuid.uuid4()
    db_rows(
        stack,
        "INSERT INTO people (id, owner_id, name, thumbnail_path) VALUES ($1, $2, $3, $4)",
        pid,
        uuid.UUID(owner.id),
        name,
        thumbnail,
    )
    return str(pid)


def _faces(stack: Stack, owner: User, person_id: str, asset_ids: list[str]) -> list[str]:
    """Hand-made faces ('manual': kept on re-detection) of the person, one per asset id given
    (an id may repeat: several faces on one asset); the first is the feature face."""
    ids: list[str] = []
    for i, asset_id in enumerate(asset_ids):
        fid = uuid.uuid4()
        db_rows(
            stack,
            "INSERT INTO asset_faces (id, asset_id, owner_id, person_id, image_width, "
            "image_height, bounding_box_x1, bounding_box_y1, bounding_box_x2, bounding_box_y2, "
            "score, source_type, recognition) VALUES ($1, $2, $3, $4, 64, 48, $5, 1, $6, 30, "
            "0.9, 'manual', 'done')",
            fid,
            uuid.UUID(asset_id),
            uuid.UUID(owner.id),
            uuid.UUID(person_id),
            i,
            i + 20,
        )
        ids.append(str(fid))
    db_rows(
        stack,
        "UPDATE people SET face_asset_id = $2 WHERE id = $1",
        uuid.UUID(person_id),
        uuid.UUID(ids[0]),
    )
    return ids


def _listed(user: User, **params: Any) -> tuple[list[str], dict[str, Any]]:
    body = ok(user.client.get("/api/people", params={"size": 1000, **params}))
    return [p["id"] for p in body["people"]], body


def test_people_list_follows_min_faces_and_the_timeline(
    stack: Stack, admin: User, owner: User, photos: list[str]
) -> None:
    config = ok(admin.client.get("/api/system-config"))
    min_faces = int(config["machineLearning"]["facialRecognition"]["minFaces"])
    assert min_faces >= 2, "needs minFaces > 1 (Immich's default is 3)"
    thumb = _preview_key(stack, photos[0])
    few = _person(stack, owner, "", thumb)  # unnamed, one face short of minFaces
    _faces(stack, owner, few, [photos[0]] * (min_faces - 1))
    enough = _person(stack, owner, "", thumb)  # unnamed, exactly minFaces faces
    _faces(stack, owner, enough, [photos[1]] * (min_faces - 1) + [photos[2]])
    named = _person(stack, owner, "Named", thumb)  # named: one face is enough
    _faces(stack, owner, named, [photos[0]])
    archived = _person(stack, owner, "Archived", thumb)  # named, only on an archived photo
    _faces(stack, owner, archived, [photos[3]])
    r = owner.client.put("/api/assets", json={"ids": [photos[3]], "visibility": "archive"})
    assert r.status_code == 204, r.text

    ids, body = _listed(owner)
    assert ids == [named, enough], body  # named first, then by face count
    # total: everyone with a face on a timeline asset (Immich getNumberOfPeople)
    assert (body["total"], body["hidden"]) == (3, 0), body

    # archiving the photo that holds one of its faces takes ``enough`` below minFaces
    r = owner.client.put("/api/assets", json={"ids": [photos[2]], "visibility": "archive"})
    assert r.status_code == 204, r.text
    try:
        ids, body = _listed(owner)
        assert ids == [named] and body["total"] == 3, body
        # hidden people count in ``hidden`` and are listed withHidden only
        ok(owner.client.put(f"/api/people/{named}", json={"isHidden": True}))
        ids, body = _listed(owner)
        assert ids == [] and (body["total"], body["hidden"]) == (3, 1), body
        ids, body = _listed(owner, withHidden="true")
        assert ids == [named] and body["hasNextPage"] is False, body
        # merging ``few`` into ``enough`` gives it enough faces on the timeline again
        merged = ok(owner.client.post(f"/api/people/{enough}/merge", json={"ids": [few]}))
        assert merged == [{"id": few, "success": True}], merged
        ids, body = _listed(owner, withHidden="true")
        # visible people first (Immich orders by isHidden, then isFavorite, then name)
        assert ids == [enough, named] and (body["total"], body["hidden"]) == (2, 1), body
    finally:
        owner.client.put("/api/assets", json={"ids": photos[2:], "visibility": "timeline"})
        owner.client.put(f"/api/people/{named}", json={"isHidden": False})


def test_person_thumbnail_is_not_cached(
    stack: Stack, owner: User, stranger: User, photos: list[str]
) -> None:
    person = _person(stack, owner, "Thumb", _preview_key(stack, photos[1]))
    _faces(stack, owner, person, [photos[1]])
    r = owner.client.get(f"/api/people/{person}/thumbnail")
    assert r.status_code == 200 and r.content[:2] == b"\xff\xd8", r.text
    assert r.headers["content-type"] == "image/jpeg"
    assert r.headers["cache-control"] == "private, no-cache, no-transform"
    assert stranger.client.get(f"/api/people/{person}/thumbnail").status_code == 400
    bare = ok(owner.client.post("/api/people", json={"name": "No face"}), 201)["id"]
    assert owner.client.get(f"/api/people/{bare}/thumbnail").status_code == 404


def test_feature_face_asset_must_show_the_person(
    stack: Stack, owner: User, stranger: User, photos: list[str]
) -> None:
    person = _person(stack, owner, "Feature", _preview_key(stack, photos[0]))
    first, second = _faces(stack, owner, person, [photos[0], photos[1]])
    # an own asset without a face of this person
    r = owner.client.put(f"/api/people/{person}", json={"featureFaceAssetId": photos[2]})
    assert r.status_code == 400, r.text
    assert r.json()["message"] == "Invalid assetId for feature face", r.text
    # another user's asset: no asset.read access
    theirs = upload_jpeg(stranger, noise_jpeg(7390))
    r = owner.client.put(f"/api/people/{person}", json={"featureFaceAssetId": theirs})
    assert r.status_code == 400, r.text
    assert r.json()["message"] == "Not found or no asset.read access", r.text
    feature = db_rows(stack, "SELECT face_asset_id FROM people WHERE id = $1", uuid.UUID(person))[
        0
    ][0]
    assert str(feature) == first
    # an asset that shows the person: its face becomes the feature face
    ok(owner.client.put(f"/api/people/{person}", json={"featureFaceAssetId": photos[1]}))
    feature = db_rows(stack, "SELECT face_asset_id FROM people WHERE id = $1", uuid.UUID(person))[
        0
    ][0]
    assert str(feature) == second


def test_bulk_update_and_merge_report_foreign_ids_as_immich(
    stack: Stack, owner: User, stranger: User
) -> None:
    mine = ok(owner.client.post("/api/people", json={"name": "Mine"}), 201)["id"]
    other = ok(owner.client.post("/api/people", json={"name": "Other"}), 201)["id"]
    theirs = ok(stranger.client.post("/api/people", json={"name": "Theirs"}), 201)["id"]
    nobody = str(uuid.uuid4())
    r = owner.client.put(
        "/api/people",
        json={"people": [{"id": mine, "name": "Mine 2"}, {"id": theirs, "name": "x"}]},
    )
    got = [(x["id"], x["success"], x.get("error")) for x in ok(r)]
    assert got == [(mine, True, None), (theirs, False, "unknown")], r.text
    assert ok(stranger.client.get(f"/api/people/{theirs}"))["name"] == "Theirs"

    r = owner.client.post(f"/api/people/{mine}/merge", json={"ids": [theirs, nobody, other]})
    got = [(x["id"], x["success"], x.get("error")) for x in ok(r)]
    assert got == [
        (theirs, False, "no_permission"),
        (nobody, False, "no_permission"),
        (other, True, None),
    ], r.text
    assert stranger.client.get(f"/api/people/{theirs}").status_code == 200


def test_individual_link_lists_assets_oldest_first(stack: Stack, owner: User) -> None:
    taken = {
        "2021-05-01T10:00:00.000Z": upload_jpeg(
            owner, noise_jpeg(7401), "2021-05-01T10:00:00.000Z"
        ),
        "2019-05-01T10:00:00.000Z": upload_jpeg(
            owner, noise_jpeg(7402), "2019-05-01T10:00:00.000Z"
        ),
        "2020-05-01T10:00:00.000Z": upload_jpeg(
            owner, noise_jpeg(7403), "2020-05-01T10:00:00.000Z"
        ),
    }
    oldest_first = [taken[k] for k in sorted(taken)]
    link = ok(
        owner.client.post(
            "/api/shared-links", json={"type": "INDIVIDUAL", "assetIds": list(taken.values())}
        ),
        201,
    )
    assert [a["id"] for a in link["assets"]] == oldest_first, link
    got = ok(owner.client.get(f"/api/shared-links/{link['id']}"))
    assert [a["id"] for a in got["assets"]] == oldest_first
    assert (got["expiresAt"], got["slug"], got["password"]) == (None, None, None)
    assert got["userId"] == owner.id and got["type"] == "INDIVIDUAL" and "album" not in got
    listed = ok(owner.client.get("/api/shared-links", params={"id": link["id"]}))
    assert [a["id"] for a in listed[0]["assets"]][:1] == oldest_first[:1], listed
    with httpx.Client(base_url=stack.url, timeout=60) as anon:
        me = ok(anon.get("/api/shared-links/me", params={"key": link["key"]}))
    assert [a["id"] for a in me["assets"]] == oldest_first
