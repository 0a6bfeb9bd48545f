"""People in asset info, the timeline's ``personId`` and search's ``personIds`` filters.

The labelled faces (../shared/samples/faces, 12 photos of 5 people) are uploaded by a fresh
user; the face service detects them, and the "cluster new faces" pass (with min_faces = 2: the
set has two or three photos per person) groups them. Then rename, hide, merge, reassign and a
hand-drawn face go through the API, and after each step the filters must give exactly the
assets that /api/faces says show the person (ALL people for search, as Immich). Another user
never sees these people: 400 on the timeline, nothing from search, no ``people`` in asset info.
"""

from __future__ import annotations

import csv

import pytest
from darkroom_face.settings import RecognitionSettings
from darkroom_stack.supervisor import Stack
from darkroom_stack.testing import samples_dir

from .conftest import User, make_user, upload
from .faces import cluster_faces, wait_faces_detected

SAMPLES = samples_dir()
FACES = SAMPLES / "faces" if SAMPLES is not None else None
pytestmark = pytest.mark.skipif(
    FACES is None or not (FACES / "labels.csv").is_file(),
    reason="face samples not found: set DARKROOM_SAMPLES or place ../shared/samples/faces",
)


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> User:
    """A fresh user, so people from other test files do not mix in."""
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def labelled(stack: Stack, owner: User) -> dict[str, str]:
    """Upload the labelled photos, wait for the face step, cluster; asset id -> identity."""
    assert FACES is not None
    truth: dict[str, str] = {}
    for row in csv.DictReader((FACES / "labels.csv").open()):
        r = upload(owner, FACES / row["file"])
        assert r.status_code == 201, r.text
        truth[r.json()["id"]] = row["person"]
    db = stack.env()["DARKROOM_DATABASE_URL"]
    done = wait_faces_detected(db, list(truth), wait_s=300)
    assert done == len(truth), f"face step finished for {done}/{len(truth)} assets"
    cluster_faces(db, owner.id, RecognitionSettings(min_faces=2))
    return truth


def _faces(user: User, asset_id: str) -> list[dict]:
    r = user.client.get("/api/faces", params={"id": asset_id})
    assert r.status_code == 200, r.text
    return r.json()


def _shown(user: User, assets: list[str]) -> dict[str, set[str]]:
    """person id -> assets showing them, according to /api/faces (the ground truth)."""
    out: dict[str, set[str]] = {}
    for asset_id in assets:
        for face in _faces(user, asset_id):
            if face["person"]:
                out.setdefault(face["person"]["id"], set()).add(asset_id)
    return out


def _main_person(user: User, asset_id: str) -> str | None:
    face = max(
        _faces(user, asset_id),
        key=lambda f: (
            (f["boundingBoxX2"] - f["boundingBoxX1"]) * (f["boundingBoxY2"] - f["boundingBoxY1"])
        ),
    )
    return face["person"]["id"] if face["person"] else None


def _timeline(user: User, person_id: str) -> set[str]:
    """Asset ids of the timeline filtered by ``personId`` (every bucket); bucket counts must
    agree with the buckets' contents."""
    r = user.client.get("/api/timeline/buckets", params={"personId": person_id})
    assert r.status_code == 200, r.text
    found: set[str] = set()
    for bucket in r.json():
        b = user.client.get(
            "/api/timeline/bucket",
            params={"personId": person_id, "timeBucket": bucket["timeBucket"]},
        )
        assert b.status_code == 200, b.text
        assert len(b.json()["id"]) == bucket["count"]
        found |= set(b.json()["id"])
    return found


def _search(user: User, person_ids: list[str], **extra: object) -> set[str]:
    r = user.client.post(
        "/api/search/metadata", json={"personIds": person_ids, "size": 1000, **extra}
    )
    assert r.status_code == 200, r.text
    return {a["id"] for a in r.json()["assets"]["items"]}


def _check_filters(user: User, labelled: dict[str, str]) -> dict[str, set[str]]:
    """Timeline and search by each person give exactly the assets /api/faces puts them in."""
    shown = _shown(user, list(labelled))
    assert shown
    for person_id, assets in shown.items():
        assert _timeline(user, person_id) == assets, person_id
        assert _search(user, [person_id]) == assets, person_id
    return shown


def test_asset_info_lists_people_and_duplicate_id(
    owner: User, other_user: User, labelled: dict[str, str]
) -> None:
    """GET /api/assets/{id}: ``people`` are the people of its faces (PersonResponseDto);
    ``duplicateId`` is present (null: no near-duplicates here); strangers get 404."""
    for asset_id in labelled:
        info = owner.client.get(f"/api/assets/{asset_id}")
        assert info.status_code == 200, info.text
        body = info.json()
        assert "duplicateId" in body and body["duplicateId"] is None
        expected = {f["person"]["id"] for f in _faces(owner, asset_id) if f["person"]}
        assert {p["id"] for p in body["people"]} == expected
        for p in body["people"]:
            assert set(p) >= {"id", "name", "birthDate", "thumbnailPath", "isHidden", "updatedAt"}
    main = {a: _main_person(owner, a) for a in labelled}
    assert all(main.values()), "every labelled photo's main face belongs to a person"
    # the clustering follows the labels: one person per identity
    by_label: dict[str, set[str | None]] = {}
    for asset_id, label in labelled.items():
        by_label.setdefault(label, set()).add(main[asset_id])
    assert all(len(v) == 1 for v in by_label.values()), by_label
    assert len({next(iter(v)) for v in by_label.values()}) == 5
    assert other_user.client.get(f"/api/assets/{next(iter(labelled))}").status_code == 400


def test_filters_follow_rename_hide_merge_reassign(
    owner: User, other_user: User, labelled: dict[str, str]
) -> None:
    """After each people operation the timeline and search filters agree with /api/faces."""
    c = owner.client
    _check_filters(owner, labelled)
    person_of = {label: _main_person(owner, a) for a, label in labelled.items()}
    obama, biden = person_of["fr_obama"], person_of["fr_biden"]
    assert obama and biden and obama != biden
    obama_assets = {a for a, label in labelled.items() if label == "fr_obama"}
    biden_assets = {a for a, label in labelled.items() if label == "fr_biden"}
    assert _timeline(owner, obama) >= obama_assets and len(obama_assets) == 3
    assert _search(owner, [obama, biden]) == set(), "no photo shows both"

    # rename and hide: same filter results; asset info shows the new name and the flag
    assert c.put(f"/api/people/{obama}", json={"name": "Barack"}).status_code == 200
    assert c.put(f"/api/people/{biden}", json={"isHidden": True}).status_code == 200
    shown = _check_filters(owner, labelled)
    assert shown[obama] >= obama_assets
    some_obama = sorted(obama_assets)[0]
    people = c.get(f"/api/assets/{some_obama}").json()["people"]
    assert [p["name"] for p in people if p["id"] == obama] == ["Barack"]
    some_biden = sorted(biden_assets)[0]
    people = c.get(f"/api/assets/{some_biden}").json()["people"]
    assert [p["isHidden"] for p in people if p["id"] == biden] == [True]

    # a face drawn by hand puts Biden in an Obama photo: ALL-of semantics of personIds
    face = max(_faces(owner, some_obama), key=lambda f: f["boundingBoxX2"] - f["boundingBoxX1"])
    r = c.post(
        "/api/faces",
        json={
            "assetId": some_obama,
            "personId": biden,
            "imageWidth": face["imageWidth"],
            "imageHeight": face["imageHeight"],
            "x": 0,
            "y": 0,
            "width": 10,
            "height": 10,
        },
    )
    assert r.status_code == 201, r.text
    assert _search(owner, [obama, biden]) == {some_obama}
    assert _search(owner, [biden]) == biden_assets | {some_obama}
    assert some_obama in _timeline(owner, biden)
    # other filters combine with it
    assert _search(owner, [obama, biden], isFavorite=True) == set()
    assert c.put(f"/api/assets/{some_obama}", json={"isFavorite": True}).status_code == 200
    assert _search(owner, [obama, biden], isFavorite=True) == {some_obama}

    # merge Biden into Obama: Obama's filter is the union, Biden's id is gone
    before = _shown(owner, list(labelled))
    r = c.post(f"/api/people/{obama}/merge", json={"ids": [biden]})
    assert r.status_code == 200 and r.json() == [{"id": biden, "success": True}], r.text
    assert _timeline(owner, obama) == before[obama] | before[biden]
    assert _search(owner, [obama]) == before[obama] | before[biden]
    assert _search(owner, [biden]) == set()
    assert c.get("/api/timeline/buckets", params={"personId": biden}).status_code == 400
    _check_filters(owner, labelled)

    # reassign Biden's photos to a new person
    joe = c.post("/api/people", json={"name": "Joe"}).json()["id"]
    assert _timeline(owner, joe) == set() and _search(owner, [joe]) == set()
    r = c.put(
        f"/api/people/{joe}/reassign",
        json={"data": [{"assetId": a, "personId": obama} for a in sorted(biden_assets)]},
    )
    assert r.status_code == 200, r.text
    assert _timeline(owner, joe) == biden_assets
    assert _search(owner, [joe]) == biden_assets
    assert _timeline(owner, obama) == before[obama]
    shown = _check_filters(owner, labelled)
    assert shown[joe] == biden_assets

    # trashed assets leave the filters (the library is searched, not the trash)
    r = c.request("DELETE", "/api/assets", json={"ids": [some_obama]})
    assert r.status_code == 204, r.text
    assert some_obama not in _timeline(owner, obama)
    assert some_obama not in _search(owner, [obama])
    trashed = c.get("/api/timeline/buckets", params={"personId": obama, "isTrashed": "true"})
    assert sum(b["count"] for b in trashed.json()) == 1


def test_other_user_never_sees_these_people(
    owner: User, other_user: User, labelled: dict[str, str]
) -> None:
    """Another user's person id: timeline 400 (Immich's access error for query ids), search
    matches nothing (not even their own assets), asset info of a shared asset has no people."""
    asset_id = next(a for a, label in labelled.items() if label == "fr_kit_harington")
    person = _main_person(owner, asset_id)
    assert person
    o = other_user.client
    for path in ("/api/timeline/buckets", "/api/timeline/bucket"):
        r = o.get(path, params={"personId": person, "timeBucket": "2020-01-01"})
        assert r.status_code == 400, r.text
        assert r.json()["message"] == "Not found or no person.read access"
    assert _search(other_user, [person]) == set()

    # shared through an album: the asset is visible, its people are not
    album = owner.client.post(
        "/api/albums",
        json={
            "albumName": "faces",
            "assetIds": [asset_id],
            "albumUsers": [{"userId": other_user.id, "role": "viewer"}],
        },
    )
    assert album.status_code == 201, album.text
    seen = o.get(f"/api/assets/{asset_id}")
    assert seen.status_code == 200, seen.text
    assert seen.json()["people"] == []
    assert [p["id"] for p in owner.client.get(f"/api/assets/{asset_id}").json()["people"]]
