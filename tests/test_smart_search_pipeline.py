"""Upload -> thumbnail -> CLIP embedding -> smart_search and near-duplicates, end to end.

The stack runs with a tiny random-weight CLIP model in Immich's layout, generated at test time
(no CLIP weights can be downloaded here), found through DARKROOM_ML_MODEL_DIR.
"""

from __future__ import annotations

import asyncio
import io
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import numpy as np
import pytest
from darkroom_db import create_pool, smart_search
from darkroom_stack.supervisor import Stack
from pgvector.asyncpg import register_vector
from PIL import Image

from tests.conftest import User, first_admin, make_user, running_clip_stack, upload
from tests.test_server_metadata import conforms

pytest.importorskip("onnx")

MODEL = "Tiny-CLIP__test"


@pytest.fixture(scope="module")
def ml_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_clip_stack(
        tmp_path_factory.mktemp("ml-stack"),
        tmp_path_factory.mktemp("models"),
        MODEL,
        services=("ingest", "metadata", "thumbnail", "embedding", "gateway"),
        seed=0,
    ) as running:
        yield running


@pytest.fixture(scope="module")
def owner(ml_stack: Stack) -> User:
    return first_admin(ml_stack)


@pytest.fixture(scope="module")
def stranger(ml_stack: Stack, owner: User) -> User:
    return make_user(ml_stack, owner)


def _image(seed: int, tint: tuple[int, int, int]) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 96, (300, 400, 3), dtype=np.uint8)
    return np.clip(base + np.array(tint, dtype=np.uint8), 0, 255).astype(np.uint8)


def _encode(rgb: np.ndarray, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, fmt, **kw)
    return buf.getvalue()


def _wait(predicate, timeout: float = 90.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.5)


async def _embeddings(stack: Stack, ids: list[str]) -> dict[str, np.ndarray]:
    conn = await asyncpg.connect(stack.env()["DARKROOM_DATABASE_URL"])
    try:
        await register_vector(conn)
        rows = await conn.fetch(
            "SELECT asset_id, embedding, model FROM smart_search WHERE asset_id = ANY($1::uuid[])",
            [uuid.UUID(i) for i in ids],
        )
        return {str(r["asset_id"]): r["embedding"].to_numpy() for r in rows}
    finally:
        await conn.close()


async def test_upload_embeds_finds_itself_and_groups_duplicates(
    ml_stack: Stack, owner: User, stranger: User, tmp_path: Path
) -> None:
    features = owner.client.get("/api/server/features").json()
    assert features["smartSearch"] is True and features["duplicateDetection"] is True

    red, blue = _image(1, (150, 0, 0)), _image(2, (0, 0, 150))
    uploads = {
        "red": _encode(red, "PNG"),
        "blue": _encode(blue, "PNG"),
        # the same pixels as "red", different bytes (compression level + a text chunk)
        "red-copy": _encode(red, "PNG", compress_level=1),
    }
    ids: dict[str, str] = {}
    for name, data in uploads.items():
        r = upload(owner, tmp_path / f"{name}.png", data=data)
        assert r.status_code == 201, r.text
        ids[name] = r.json()["id"]
    assert len(set(ids.values())) == 3

    async def all_embedded() -> dict[str, np.ndarray]:
        return await _embeddings(ml_stack, list(ids.values()))

    deadline = time.monotonic() + 90
    stored: dict[str, np.ndarray] = {}
    while time.monotonic() < deadline and len(stored) < 3:
        stored = await all_embedded()
        await asyncio.sleep(0.5)
    assert len(stored) == 3, "every upload gets an embedding"
    for vec in stored.values():
        assert vec.shape == (64,) and abs(float(np.linalg.norm(vec)) - 1.0) < 1e-4

    # an asset's own embedding finds it first (through the HNSW index, owner-filtered)
    pool = await create_pool(ml_stack.env()["DARKROOM_DATABASE_URL"], max_size=2)
    try:
        for name in ("red", "blue"):
            hits = await smart_search.nearest(pool, uuid.UUID(owner.id), stored[ids[name]], limit=3)
            assert str(hits[0][0]) in (
                {ids["red"], ids["red-copy"]} if name == "red" else {ids[name]}
            )
            assert hits[0][1] < 1e-3
        assert await smart_search.nearest(pool, uuid.UUID(stranger.id), stored[ids["red"]]) == []
        status = await smart_search.get_model_status(pool, "clip")
        assert status is not None and status.ready and status.dim == 64 and status.model == MODEL
    finally:
        await pool.close()

    groups = _wait(lambda: owner.client.get("/api/duplicates").json())
    assert len(groups) == 1, groups
    conforms(groups, "DuplicateResponseDto", array=True)  # the 3.1.0 spec's shape
    group = groups[0]
    assert {a["id"] for a in group["assets"]} == {ids["red"], ids["red-copy"]}
    assert all(a["duplicateId"] == group["duplicateId"] for a in group["assets"])
    assert group["suggestedKeepAssetIds"] and group["suggestedKeepAssetIds"][0] in {
        ids["red"],
        ids["red-copy"],
    }
    r = owner.client.get(f"/api/assets/{ids['blue']}")
    assert r.status_code == 200

    # another user sees no groups and cannot touch this one
    assert stranger.client.get("/api/duplicates").json() == []
    assert stranger.client.delete(f"/api/duplicates/{group['duplicateId']}").status_code == 400
    r = stranger.client.post(
        "/api/duplicates/resolve",
        json={
            "groups": [
                {
                    "duplicateId": group["duplicateId"],
                    "keepAssetIds": [ids["red"]],
                    "trashAssetIds": [ids["red-copy"]],
                }
            ]
        },
    )
    assert r.status_code == 400, r.text  # Immich's duplicate.checkOwnerAccess refuses it whole
    assert r.json() == {"message": "Not found or no duplicate.delete access"}
    assert len(owner.client.get("/api/duplicates").json()) == 1

    # the owner resolves it: the copy goes to the trash and the group is gone
    r = owner.client.post(
        "/api/duplicates/resolve",
        json={
            "groups": [
                {
                    "duplicateId": group["duplicateId"],
                    "keepAssetIds": [ids["red"]],
                    "trashAssetIds": [ids["red-copy"]],
                }
            ]
        },
    )
    assert r.status_code == 200 and r.json() == [{"id": group["duplicateId"], "success": True}]
    conforms(r.json(), "BulkIdResponseDto", array=True)  # the spec: BulkIdResponseDto[]
    assert owner.client.get("/api/duplicates").json() == []
    trashed = owner.client.get(f"/api/assets/{ids['red-copy']}").json()
    assert trashed["isTrashed"] is True
    assert owner.client.delete(f"/api/duplicates/{group['duplicateId']}").status_code == 400
