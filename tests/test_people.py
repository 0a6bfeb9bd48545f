"""Faces and people end to end: real photos of real people through the whole stack.

What issue 5 must show: faces detected with boxes in the right place (in original-image
pixels), the same person across photos clustered into one person and different people apart
(pairwise precision/recall measured), merge/rename/hide/reassign through the API, another user
never sees these people, and two concurrent recognitions give the same people as one.

The labelled set (../shared/samples/faces, 12 photos of 5 people) is uploaded three times: as is,
mirrored and scaled to 80% (distinct files, so distinct assets) so every person has >= 6 faces,
enough for Immich's default minFaces = 3.
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
import uuid
from pathlib import Path

import httpx
import msgspec
import numpy as np
import pytest
from darkroom_db import create_pool, people
from darkroom_events import AssetFacesRecognized, PersonCreated
from darkroom_face.cluster import cluster_new_faces, pairwise_scores, recognize_face
from darkroom_face.models import DlibFaceModel
from darkroom_face.settings import DetectionSettings, RecognitionSettings
from darkroom_stack.supervisor import Stack
from darkroom_stack.testing import samples_dir
from PIL import Image, ImageOps

from .conftest import User, stream_events, upload
from .faces import cluster_faces, wait_faces_assigned, wait_faces_detected

SAMPLES = samples_dir()
FACES = SAMPLES / "faces" if SAMPLES is not None else None
pytestmark = pytest.mark.skipif(
    FACES is None or not (FACES / "labels.csv").is_file(),
    reason="face samples not found: set DARKROOM_SAMPLES or place ../shared/samples/faces",
)


def _variants(path: Path) -> list[tuple[str, bytes]]:
    """The photo as is, mirrored, and scaled to 80% (JPEG)."""
    original = path.read_bytes()
    with Image.open(path) as im:
        image = ImageOps.exif_transpose(im).convert("RGB")
    out = [(path.name, original)]
    for tag, variant in (
        ("mirror", ImageOps.mirror(image)),
        ("small", image.resize((int(image.width * 0.8), int(image.height * 0.8)))),
    ):
        buf = io.BytesIO()
        variant.save(buf, "JPEG", quality=90)
        out.append((f"{tag}-{path.name.rsplit('.', 1)[0]}.jpg", buf.getvalue()))
    return out


@pytest.fixture(scope="module")
def uploaded(stack: Stack, admin: User) -> tuple[dict[str, str], int]:
    """Upload the labelled faces (3 variants each), wait for the face step, give the service's
    retry loop 30 s; (asset id -> true identity, faces still without a person)."""
    assert FACES is not None
    truth: dict[str, str] = {}
    for row in csv.DictReader((FACES / "labels.csv").open()):
        for name, data in _variants(FACES / row["file"]):
            r = upload(admin, FACES / row["file"], name=name, data=data)
            assert r.status_code in (200, 201), r.text
            truth[r.json()["id"]] = row["person"]
    db = stack.env()["DARKROOM_DATABASE_URL"]
    done = wait_faces_detected(db, list(truth), wait_s=300)
    assert done == len(truth), f"face step finished for {done}/{len(truth)} assets"
    return truth, wait_faces_assigned(db, list(truth), wait_s=30)


@pytest.fixture(scope="module")
def labelled(stack: Stack, admin: User, uploaded: tuple[dict[str, str], int]) -> dict[str, str]:
    """The uploaded labelled faces after the nightly "cluster new faces" pass; asset id -> true
    identity."""
    cluster_faces(stack.env()["DARKROOM_DATABASE_URL"], admin.id)
    return uploaded[0]


def test_people_form_without_the_nightly_pass(uploaded: tuple[dict[str, str], int]) -> None:
    """A person's first faces end "unmatched" (no core face yet); once enough similar faces
    arrived they are requeued and join within seconds: 30 s after the last photo's face step,
    with no nightly pass, every face of the labelled photos has a person."""
    assert uploaded[1] == 0


def test_face_service_publishes_people_events(
    stack: Stack, uploaded: tuple[dict[str, str], int]
) -> None:
    """PersonCreated once per person the service started (5 labelled identities), and an
    AssetFacesRecognized per asset, the last one of each with all its faces on people."""
    truth = uploaded[0]
    url = stack.env()["DARKROOM_NATS_URL"]
    created = [
        msgspec.json.decode(d, type=PersonCreated)
        for d in asyncio.run(stream_events(url, PersonCreated.subject))
    ]
    mine = {e.person_id: e for e in created if e.asset_id in truth}
    assert len(mine) == 5, [truth[e.asset_id] for e in mine.values() if e.asset_id]
    assert {truth[e.asset_id] for e in mine.values() if e.asset_id} == set(truth.values())
    recognized: dict[str, list[AssetFacesRecognized]] = {}
    for d in asyncio.run(stream_events(url, AssetFacesRecognized.subject)):
        e = msgspec.json.decode(d, type=AssetFacesRecognized)
        recognized.setdefault(e.asset_id, []).append(e)
    assert set(truth) <= set(recognized)
    for asset_id in truth:
        assert any(
            e.unassigned == 0 and set(e.person_ids) <= set(mine) and e.person_ids
            for e in recognized[asset_id]
        ), recognized[asset_id]


def _faces(user: User, asset_id: str) -> list[dict]:
    r = user.client.get("/api/faces", params={"id": asset_id})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    return r.json()


def _person_of_asset(user: User, truth: dict[str, str]) -> dict[str, str | None]:
    """asset id -> person id of its largest face (each labelled photo shows one main face)."""
    out: dict[str, str | None] = {}
    for asset_id in truth:
        faces = _faces(user, asset_id)
        assert faces, f"no face found in {asset_id}"
        big = max(
            faces,
            key=lambda f: (
                (f["boundingBoxX2"] - f["boundingBoxX1"])
                * (f["boundingBoxY2"] - f["boundingBoxY1"])
            ),
        )
        out[asset_id] = big["person"]["id"] if big["person"] else None
    return out


def test_boxes_cover_the_face(admin: User, labelled: dict[str, str]) -> None:
    """Every labelled photo has a face; cropping the original at the box (original pixels)
    gives an image in which dlib finds a face again, covering most of the crop."""
    assert FACES is not None
    model = DlibFaceModel(DetectionSettings(min_score=0.0, min_size=20))
    rows = list(csv.DictReader((FACES / "labels.csv").open()))
    checked = 0
    for asset_id in list(labelled)[::3]:  # the unmodified originals
        info = admin.client.get(f"/api/assets/{asset_id}").json()
        path = next(
            FACES / r["file"]
            for r in rows
            if Path(r["file"]).name == info["originalFileName"]
            and r["person"] == labelled[asset_id]
        )
        face = max(
            _faces(admin, asset_id),
            key=lambda f: f["boundingBoxX2"] - f["boundingBoxX1"],
        )
        with Image.open(path) as im:
            image = ImageOps.exif_transpose(im).convert("RGB")
        assert (face["imageWidth"], face["imageHeight"]) == image.size
        x1, y1, x2, y2 = (face[f"boundingBox{k}"] for k in ("X1", "Y1", "X2", "Y2"))
        w, h = x2 - x1, y2 - y1
        assert 0 <= x1 < x2 <= image.width and 0 <= y1 < y2 <= image.height
        crop = image.crop((max(0, x1 - w // 2), max(0, y1 - h // 2), x2 + w // 2, y2 + h // 2))
        found = model.predict(np.asarray(crop))
        assert found, f"no face in the box of {path.name}"
        fx1, fy1, fx2, fy2 = found[0].box
        # the re-detected face sits in the middle of the crop (where the box was)
        assert abs((fx1 + fx2) / 2 - crop.width / 2) < w * 0.35, path.name
        assert abs((fy1 + fy2) / 2 - crop.height / 2) < h * 0.35, path.name
        checked += 1
    assert checked == 12


def test_same_person_together_different_people_apart(admin: User, labelled: dict[str, str]) -> None:
    """Pairwise precision/recall of the people against the labels."""
    predicted = _person_of_asset(admin, labelled)
    scores = pairwise_scores(labelled, predicted)
    faces = sum(len(_faces(admin, a)) for a in labelled)
    assert faces <= 1.5 * len(labelled), f"{faces} faces in {len(labelled)} photos"
    assert scores.precision >= 0.95
    assert scores.recall >= 0.9
    body = admin.client.get("/api/people").json()
    assert body["total"] == len({p for p in predicted.values() if p}) == 5


def test_two_workers_give_the_same_people(
    stack: Stack, admin: User, labelled: dict[str, str]
) -> None:
    """Forget the people, recognise every face again with two concurrent workers (opposite
    orders) then the nightly pass: the same grouping of faces as one worker's."""
    db = stack.env()["DARKROOM_DATABASE_URL"]
    owner = uuid.UUID(admin.id)

    async def run() -> tuple[set[frozenset], set[frozenset]]:
        pool = await create_pool(db, max_size=6)
        try:
            before = await people.partition_for_owner(pool, owner)
            await pool.execute("DELETE FROM people WHERE owner_id = $1", owner)
            await pool.execute(
                "UPDATE asset_faces SET recognition = 'pending' WHERE owner_id = $1", owner
            )
            faces = [f for f, _ in await people.unassigned_faces(pool, owner_id=owner)]
            settings = RecognitionSettings()

            async def worker(order: list[uuid.UUID]) -> None:
                for face_id in order:
                    await recognize_face(pool, face_id, settings)

            await asyncio.gather(worker(faces), worker(faces[::-1]))
            await cluster_new_faces(pool, settings, owner_id=owner)
            after = await people.partition_for_owner(pool, owner)
        finally:
            await pool.close()

        def groups(mapping: dict[uuid.UUID, uuid.UUID]) -> set[frozenset]:
            by: dict[uuid.UUID, set[uuid.UUID]] = {}
            for face, person in mapping.items():
                by.setdefault(person, set()).add(face)
            return {frozenset(v) for v in by.values()}

        return groups(before), groups(after)

    before, after = asyncio.run(run())
    assert len(before) == 5
    assert after == before


def test_people_api_rename_hide_merge_reassign(
    admin: User, other_user: User, labelled: dict[str, str]
) -> None:
    """Rename, hide, merge, reassign, statistics, thumbnail; other users see none of it."""
    predicted = _person_of_asset(admin, labelled)
    by_label: dict[str, str] = {}
    for asset_id, label in labelled.items():
        if predicted[asset_id]:
            by_label.setdefault(label, predicted[asset_id])
    obama, biden = by_label["fr_obama"], by_label["fr_biden"]
    c = admin.client

    r = c.put(f"/api/people/{obama}", json={"name": "Barack", "birthDate": "1961-08-04"})
    assert r.status_code == 200 and r.json()["name"] == "Barack", r.text
    assert r.json()["birthDate"] == "1961-08-04"
    assert c.get(f"/api/people/{obama}").json()["name"] == "Barack"
    n_obama = c.get(f"/api/people/{obama}/statistics").json()["assets"]
    n_biden = c.get(f"/api/people/{biden}/statistics").json()["assets"]
    assert n_obama == 9 and n_biden == 6

    # the face service renders the feature face thumbnail (background loop, <= 5 s)
    deadline = time.monotonic() + 30
    while (r := c.get(f"/api/people/{obama}/thumbnail")).status_code != 200:
        assert time.monotonic() < deadline, r.text
        time.sleep(0.5)
    assert r.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(r.content)) as thumb:
        assert thumb.size == (250, 250)

    # hide: not listed unless withHidden
    r = c.put("/api/people", json={"people": [{"id": biden, "isHidden": True}]})
    assert r.status_code == 200 and r.json() == [{"id": biden, "success": True}]
    listed = c.get("/api/people").json()
    assert biden not in [p["id"] for p in listed["people"]] and listed["hidden"] == 1
    assert biden in [p["id"] for p in c.get("/api/people?withHidden=true").json()["people"]]

    # other users: 400 "Not found or no ... access" on everything, nothing listed, no faces
    o = other_user.client
    assert o.get(f"/api/people/{obama}").status_code == 400
    assert o.get(f"/api/people/{obama}/thumbnail").status_code == 400
    assert o.get(f"/api/people/{obama}/statistics").status_code == 400
    assert o.put(f"/api/people/{obama}", json={"name": "x"}).status_code == 400
    assert o.post(f"/api/people/{obama}/merge", json={"ids": [biden]}).status_code == 400
    assert o.get("/api/people").json()["total"] == 0
    any_asset = next(iter(labelled))
    assert o.get("/api/faces", params={"id": any_asset}).status_code == 400
    face_id = _faces(admin, any_asset)[0]["id"]
    mine = o.post("/api/people", json={"name": "mine"}).json()["id"]
    assert o.put(f"/api/faces/{mine}", json={"id": face_id}).status_code == 400
    assert o.request("DELETE", f"/api/faces/{face_id}", json={"force": True}).status_code == 400
    assert c.put(f"/api/faces/{mine}", json={"id": face_id}).status_code == 400

    # merge biden into obama, then reassign biden's assets to a new person
    r = c.post(f"/api/people/{obama}/merge", json={"ids": [biden]})
    assert r.status_code == 200 and r.json() == [{"id": biden, "success": True}], r.text
    assert c.get(f"/api/people/{biden}").status_code == 400
    assert c.get(f"/api/people/{obama}/statistics").json()["assets"] == n_obama + n_biden
    joe = c.post("/api/people", json={"name": "Joe"}).json()["id"]
    biden_assets = [a for a, label in labelled.items() if label == "fr_biden"]
    r = c.put(
        f"/api/people/{joe}/reassign",
        json={"data": [{"assetId": a, "personId": obama} for a in biden_assets]},
    )
    assert r.status_code == 200 and r.json()[0]["id"] == joe, r.text
    assert c.get(f"/api/people/{joe}/statistics").json()["assets"] == n_biden
    assert c.get(f"/api/people/{obama}/statistics").json()["assets"] == n_obama

    # PUT /api/faces/{personId} {id: faceId}: one face back to Barack; DELETE removes it
    face = max(
        _faces(admin, biden_assets[0]), key=lambda f: f["boundingBoxX2"] - f["boundingBoxX1"]
    )
    r = c.put(f"/api/faces/{obama}", json={"id": face["id"]})
    assert r.status_code == 200 and r.json()["id"] == obama
    assert c.get(f"/api/people/{joe}/statistics").json()["assets"] == n_biden - 1
    assert c.request("DELETE", f"/api/faces/{face['id']}", json={"force": True}).status_code == 204
    assert face["id"] not in [f["id"] for f in _faces(admin, biden_assets[0])]

    # POST /api/faces: draw a face by hand
    r = c.post(
        "/api/faces",
        json={
            "assetId": biden_assets[0],
            "personId": joe,
            "imageWidth": face["imageWidth"],
            "imageHeight": face["imageHeight"],
            "x": face["boundingBoxX1"],
            "y": face["boundingBoxY1"],
            "width": face["boundingBoxX2"] - face["boundingBoxX1"],
            "height": face["boundingBoxY2"] - face["boundingBoxY1"],
        },
    )
    assert r.status_code == 201, r.text
    manual = [f for f in _faces(admin, biden_assets[0]) if f["sourceType"] == "manual"]
    assert len(manual) == 1 and manual[0]["person"]["id"] == joe


def test_features_report_facial_recognition(stack: Stack, labelled: dict[str, str]) -> None:
    """Once the face service has loaded its model, the server says facial recognition is on."""
    features = httpx.get(f"{stack.url}/api/server/features", timeout=10).json()
    assert features["facialRecognition"] is True


async def test_a_new_feature_face_is_sent_as_on_person_thumbnail(
    stack: Stack, admin: User, labelled: dict[str, str]
) -> None:
    """Changing a person's feature face makes the face service render its thumbnail again and
    announce it (``darkroom.person.thumbnail.updated``): the owner's socket gets
    ``on_person_thumbnail`` with the person's id."""
    from tests.test_socketio import Listener

    predicted = await asyncio.to_thread(_person_of_asset, admin, labelled)
    assets_of: dict[str, list[str]] = {}
    for asset_id, person in predicted.items():
        if person:
            assets_of.setdefault(person, []).append(asset_id)
    person, shown = next((p, a) for p, a in assets_of.items() if len(a) >= 2)
    watcher = Listener()
    watcher.sio.on("on_person_thumbnail", watcher._recorder("on_person_thumbnail"))
    await watcher.connect(stack.url, {"x-api-key": admin.api_key})
    try:
        await watcher.wait_for("on_server_version", lambda _: True)
        # two different faces: at least one is not the one rendered before
        for asset_id in shown[:2]:
            r = await asyncio.to_thread(
                admin.client.put, f"/api/people/{person}", json={"featureFaceAssetId": asset_id}
            )
            assert r.status_code == 200, r.text
        await watcher.wait_for("on_person_thumbnail", lambda d: d == person)
    finally:
        await watcher.sio.disconnect()
