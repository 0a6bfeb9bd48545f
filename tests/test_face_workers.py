"""Scale-out: two face-service processes sharing one durable consumer on 60 photos give the same
people as one process does (issue 5: no duplicate person when faces of a new person are
recognised in parallel)."""

from __future__ import annotations

import asyncio
import csv
import io
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from darkroom_db import create_pool
from darkroom_face.cluster import cluster_new_faces
from darkroom_face.settings import RecognitionSettings
from darkroom_stack.supervisor import Stack
from darkroom_stack.testing import samples_dir
from PIL import Image, ImageEnhance, ImageOps

from .conftest import User, make_user, save_config, upload

SAMPLES = samples_dir()
FACES = SAMPLES / "faces" if SAMPLES is not None else None
pytestmark = pytest.mark.skipif(
    FACES is None or not (FACES / "labels.csv").is_file(),
    reason="face samples not found: set DARKROOM_SAMPLES or place ../shared/samples/faces",
)


def variants() -> list[tuple[str, bytes]]:
    """60 photos: each labelled face photo as is, mirrored, at 80 %, in grey and brighter."""
    assert FACES is not None
    out = []
    for row in csv.DictReader((FACES / "labels.csv").open()):
        path = FACES / row["file"]
        with Image.open(path) as im:
            image = ImageOps.exif_transpose(im).convert("RGB")
        out.append((path.name, path.read_bytes()))
        stem = path.name.rsplit(".", 1)[0]
        for tag, variant in (
            ("mirror", ImageOps.mirror(image)),
            ("small", image.resize((int(image.width * 0.8), int(image.height * 0.8)))),
            ("grey", ImageOps.grayscale(image).convert("RGB")),
            ("bright", ImageEnhance.Brightness(image).enhance(1.25)),
        ):
            buf = io.BytesIO()
            variant.save(buf, "JPEG", quality=90)
            out.append((f"{tag}-{stem}.jpg", buf.getvalue()))
    return out


def upload_all(user: User, photos: list[tuple[str, bytes]]) -> dict[str, str]:
    """asset id -> file name."""
    ids = {}
    for name, data in photos:
        r = upload(user, Path(name), data=data)
        assert r.status_code == 201, r.text
        ids[r.json()["id"]] = name
    return ids


async def wait_for(db: str, sql: str, ids: list[str], want: int, wait_s: float) -> int:
    conn = await asyncpg.connect(db)
    try:
        deadline = time.monotonic() + wait_s
        while True:
            n = int(await conn.fetchval(sql, [uuid.UUID(i) for i in ids]))
            if n == want or time.monotonic() > deadline:
                return n
            await asyncio.sleep(0.5)
    finally:
        await conn.close()


async def grouping(db: str, owner: str, names: dict[str, str]) -> set[frozenset[str]]:
    """After the nightly pass: the photos grouped by the people in them, as sets of names."""
    pool = await create_pool(db, max_size=2)
    try:
        await cluster_new_faces(pool, RecognitionSettings(), owner_id=uuid.UUID(owner))
        rows = await pool.fetch(
            "SELECT asset_id, person_id FROM asset_faces WHERE owner_id = $1::uuid", owner
        )
    finally:
        await pool.close()
    people: dict[object, set[str]] = {}
    for r in rows:
        people.setdefault(r["person_id"], set()).add(names[str(r["asset_id"])])
    return {frozenset(v) for v in people.values()}


def faces_processed(port: int) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return sum(
        float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith("jobs_done_total{") and "detect" in line
    )


@pytest.fixture
def faces_only(stack: Stack, admin: User) -> Iterator[None]:
    """Smart search (CLIP) and OCR off in the system config while the test runs, restored after
    (the stack is shared with other modules): the 120 photo uploads need faces only, and their
    OCR and CLIP jobs cost a quarter of the module's CPU time (85.6 -> 62.8 core-s alone)."""
    before = admin.client.get("/api/system-config").json()
    ml = before["machineLearning"]
    off = {
        **before,
        "machineLearning": {
            **ml,
            "clip": {**ml["clip"], "enabled": False},
            "ocr": {**ml["ocr"], "enabled": False},
        },
    }
    save_config(stack, admin, off, "embedding")
    try:
        yield
    finally:
        save_config(stack, admin, before, "embedding")


def test_two_face_workers_give_the_same_people_as_one(
    stack: Stack, admin: User, faces_only: None
) -> None:
    photos = variants()
    assert len(photos) >= 50
    db = stack.env()["DARKROOM_DATABASE_URL"]
    faces_done = (
        "SELECT count(*) FROM asset_job_status WHERE asset_id = ANY($1::uuid[]) "
        "AND faces_at IS NOT NULL"
    )
    thumbs_done = (
        "SELECT count(*) FROM asset_job_status WHERE asset_id = ANY($1::uuid[]) "
        "AND thumbnail_at IS NOT NULL"
    )

    one = make_user(stack, admin)  # one face worker
    ids_one = upload_all(one, photos)
    assert asyncio.run(wait_for(db, faces_done, list(ids_one), len(ids_one), 300)) == len(ids_one)
    single = asyncio.run(grouping(db, one.id, ids_one))

    two = make_user(stack, admin)  # the same photos, queued, then two workers at once
    stack.hold("face")
    try:
        ids_two = upload_all(two, photos)
        assert asyncio.run(wait_for(db, thumbs_done, list(ids_two), len(ids_two), 300)) == len(
            ids_two
        )
    finally:
        stack.spawn("face")
    _, replica_port = stack.spawn_replica("face")
    assert asyncio.run(wait_for(db, faces_done, list(ids_two), len(ids_two), 300)) == len(ids_two)
    both = (faces_processed(stack.metrics_ports["face"]), faces_processed(replica_port))
    assert min(both) >= 1, f"one worker did all the work: {both}"
    double = asyncio.run(grouping(db, two.id, ids_two))

    assert double == single
    assert len(double) == 5  # the five labelled people, no duplicate person
