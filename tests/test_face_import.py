"""Faces named in a file's metadata (XMP face regions) imported as people: Immich's system
config ``metadata.faces.import`` ("Import faces"), off by default.

Immich's e2e asset spec ("should get the asset faces") turns it on, uploads its test asset
``metadata/faces/portrait.jpg`` and expects the asset to show Marie and Pierre Curie, each with
one face of ``sourceType: exif`` (Marie's at x 261-356, y 146-284 of an 840x700 image). Immich
2.x listed the faces inside the asset's ``people``; the 3.1 spec's ``AssetResponseDto.people``
are ``PersonResponseDto`` (no faces), so the faces are read with ``GET /api/faces?id=``.

Here also: the same file turned by its EXIF orientation gives the same faces and people; names
match the owner's people without regard to case, and never another user's; a re-run of the
extraction keeps what is there and puts back a face deleted since; with the setting off nothing
is imported.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest
from darkroom_stack.supervisor import Stack
from darkroom_stack.testing import samples_dir

from .conftest import User, make_user, upload, wait_processed

FACES = "photos/immich_test-assets/metadata/faces"
T = TypeVar("T")


def _portrait(name: str = "portrait.jpg"):
    samples = samples_dir()
    path = None if samples is None else samples / FACES / name
    if path is None or not path.is_file():
        pytest.skip(f"Immich's test asset {FACES}/{name} not found (set DARKROOM_SAMPLES)")
    return path


def _set_import(admin: User, on: bool) -> None:
    config = admin.client.get("/api/system-config").json()
    config["metadata"]["faces"]["import"] = on
    r = admin.client.put("/api/system-config", json=config)
    assert r.status_code == 200, r.text


@pytest.fixture
def importing(admin: User) -> Iterator[None]:
    """ "Import faces" on for the test, off again after (the session stack's default)."""
    _set_import(admin, True)
    yield
    _set_import(admin, False)


def _until(what: str, check: Callable[[], T | None], ceiling_s: float = 120) -> T:
    """Poll ``check`` until it returns a truthy value; the ceiling is for a loaded machine."""
    deadline = time.monotonic() + ceiling_s
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


def _uploaded(user: User, name: str = "portrait.jpg") -> str:
    r = upload(user, _portrait(name))
    assert r.status_code == 201, r.text
    asset_id = r.json()["id"]
    wait_processed(user, [asset_id])
    return asset_id


def _people(user: User, asset_id: str) -> list[dict]:
    r = user.client.get(f"/api/assets/{asset_id}")
    assert r.status_code == 200, r.text
    return sorted(r.json()["people"], key=lambda p: p["name"])


def _tagged(user: User, asset_id: str, person: dict) -> list[dict]:
    """The asset's faces of ``sourceType: exif`` that are ``person``'s."""
    r = user.client.get("/api/faces", params={"id": asset_id})
    assert r.status_code == 200, r.text
    return [
        f
        for f in r.json()
        if f["sourceType"] == "exif" and (f["person"] or {}).get("id") == person["id"]
    ]


def test_the_curies_become_people_as_in_immichs_e2e(
    stack: Stack, admin: User, importing: None
) -> None:
    owner = make_user(stack, admin)
    asset_id = _uploaded(owner)
    people = _people(owner, asset_id)
    assert [p["name"] for p in people] == ["Marie Curie", "Pierre Curie"]
    for person in people:
        assert (person["birthDate"], person["isHidden"]) == (None, False)
    marie, pierre = (_tagged(owner, asset_id, p) for p in people)
    assert [
        {k: f[k] for k in ("imageWidth", "imageHeight", "boundingBoxX1", "boundingBoxX2")}
        | {k: f[k] for k in ("boundingBoxY1", "boundingBoxY2")}
        for f in marie
    ] == [
        {
            "imageWidth": 840,
            "imageHeight": 700,
            "boundingBoxX1": 261,
            "boundingBoxX2": 356,
            "boundingBoxY1": 146,
            "boundingBoxY2": 284,
        }
    ]
    assert [(f["boundingBoxX1"], f["boundingBoxY1"], f["boundingBoxX2"], f["boundingBoxY2"])
            for f in pierre] == [(536, 83, 618, 252)]  # fmt: skip

    # each gets its thumbnail from its face; then the owner's people list has them, named
    named = {p["name"]: p["id"] for p in people}
    for person_id in named.values():
        _until(
            "the imported person's thumbnail",
            lambda pid=person_id: (
                owner.client.get(f"/api/people/{pid}/thumbnail").status_code == 200
            ),
        )
    listed = owner.client.get("/api/people", params={"withHidden": "true"}).json()["people"]
    assert {p["name"]: p["id"] for p in listed if p["name"]} == named

    # the same photo stored on its side (orientation 6): the same boxes, the same two people
    turned = _uploaded(owner, "portrait-orientation-6.jpg")
    again = _people(owner, turned)
    assert [p["id"] for p in again] == [p["id"] for p in people]
    assert [
        (f["imageWidth"], f["imageHeight"], f["boundingBoxX1"], f["boundingBoxY1"])
        for p in again
        for f in _tagged(owner, turned, p)
    ] == [(840, 700, 261, 146), (840, 700, 536, 83)]

    # another user's upload makes that user's own people; neither sees the other's
    other = make_user(stack, admin)
    theirs = _people(other, _uploaded(other))
    assert [p["name"] for p in theirs] == ["Marie Curie", "Pierre Curie"]
    assert not {p["id"] for p in theirs} & set(named.values())
    refused = other.client.get(f"/api/people/{named['Marie Curie']}")
    assert refused.status_code == 400, refused.text
    assert other.client.get(f"/api/assets/{asset_id}").status_code == 400


def test_names_match_the_owners_people_without_regard_to_case(
    stack: Stack, admin: User, importing: None
) -> None:
    owner = make_user(stack, admin)
    made = owner.client.post("/api/people", json={"name": "marie curie", "isHidden": True})
    assert made.status_code == 201, made.text
    people = _people(owner, _uploaded(owner))
    assert {p["name"]: p["id"] for p in people}["marie curie"] == made.json()["id"]
    assert [p["name"] for p in people] == ["Pierre Curie", "marie curie"]


def test_a_rerun_keeps_the_faces_and_restores_a_deleted_one(
    stack: Stack, admin: User, importing: None
) -> None:
    owner = make_user(stack, admin)
    asset_id = _uploaded(owner)
    marie, pierre = _people(owner, asset_id)
    (marie_face,), (pierre_face,) = (
        _tagged(owner, asset_id, marie),
        _tagged(owner, asset_id, pierre),
    )
    gone = owner.client.request("DELETE", f"/api/faces/{marie_face['id']}", json={"force": True})
    assert gone.status_code == 204, gone.text
    assert [p["name"] for p in _people(owner, asset_id)] == ["Pierre Curie"]

    r = owner.client.post(
        "/api/assets/jobs", json={"assetIds": [asset_id], "name": "refresh-metadata"}
    )
    assert r.status_code == 204, r.text
    people = _until(
        "Marie Curie's face back after the re-run",
        lambda: (found := _people(owner, asset_id)) and len(found) == 2 and found,
    )
    assert [p["id"] for p in people] == [marie["id"], pierre["id"]]
    kept = _tagged(owner, asset_id, people[1])
    assert [f["id"] for f in kept] == [pierre_face["id"]]

    # Marie's thumbnail is rendered again from her new face; then the list shows both again
    # (GET /api/people leaves out people without a thumbnail, as Immich)
    def listed() -> list[str]:
        r = owner.client.get("/api/people", params={"withHidden": "true"})
        return sorted(p["name"] for p in r.json()["people"] if p["name"])

    _until("both people listed", lambda: listed() == ["Marie Curie", "Pierre Curie"])


def test_nothing_is_imported_with_the_setting_off(stack: Stack, admin: User) -> None:
    owner = make_user(stack, admin)
    asset_id = _uploaded(owner)
    assert [p for p in _people(owner, asset_id) if p["name"]] == []
    listed = owner.client.get("/api/people", params={"withHidden": "true"}).json()["people"]
    assert [p for p in listed if p["name"]] == []
