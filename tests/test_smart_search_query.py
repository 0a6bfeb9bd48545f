"""POST /api/search/smart end to end with a generated tiny CLIP model (random weights).

Random weights rank nothing meaningfully, so the test checks consistency instead: the ranking
the API returns for a text query must equal the ranking computed here, with darkroom_ml's own
encoders, by cosine similarity between the query's text embedding and the stored image
embeddings; and each stored embedding must equal the visual encoder run here on the asset's
preview. That covers the whole path: preview -> preprocessing -> batching -> normalisation ->
storage -> tokenisation -> query -> HNSW search -> page. Filters (city, make, isFavorite,
takenAfter, personIds) narrow the ranking; another user's assets never appear.
"""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import asyncpg
import numpy as np
import pytest
from darkroom_stack.supervisor import Stack
from pgvector.asyncpg import register_vector
from PIL import Image

from tests.conftest import User, first_admin, make_user, running_clip_stack, upload

pytest.importorskip("onnx")

MODEL = "Tiny-CLIP__query"
#: The tiny text encoder averages all 77 token embeddings, padding included, so short queries
#: embed almost alike; repeated words move the mean enough for the rankings to differ.
QUERIES = (" ".join(["dog"] * 20), " ".join(["the"] * 15), "red blue " * 4 + "cat cat cat cat")

#: (name, make, taken, (lat, lon) or None, favourite, tint)
PHOTOS = [
    ("paris-canon-1", "Canon", "2019:06:01 10:00:00", (48.8566, 2.3522), True, (150, 0, 0)),
    ("paris-canon-2", "Canon", "2020:02:01 10:00:00", (48.8600, 2.3400), False, (0, 150, 0)),
    ("paris-nikon", "NIKON", "2021:03:15 12:00:00", (48.8530, 2.3499), True, (0, 0, 150)),
    ("tokyo-canon", "Canon", "2022:11:20 08:30:00", (35.6762, 139.6503), False, (150, 150, 0)),
    ("tokyo-nikon", "NIKON", "2023:01:05 09:00:00", (35.6800, 139.7000), True, (0, 150, 150)),
    ("nowhere-apple", "Apple", "2023:07:05 09:00:00", None, False, (150, 0, 150)),
    ("nowhere-canon", "Canon", "2018:07:05 09:00:00", None, True, (90, 90, 90)),
]


def _dms(value: float) -> tuple[float, float, float]:
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    return (float(degrees), float(minutes), round(((value - degrees) * 60 - minutes) * 60, 4))


def _jpeg(
    seed: int, tint: tuple[int, int, int], make: str, taken: str, gps: tuple[float, float] | None
) -> bytes:
    """A noisy tinted 320x240 JPEG with EXIF Make, DateTimeOriginal and GPS."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 100, (240, 320, 3), dtype=np.uint8)
    pixels = np.clip(base.astype(np.int16) + np.array(tint), 0, 255).astype(np.uint8)
    exif = Image.Exif()
    exif[0x010F] = make
    exif[0x0110] = f"{make} model"
    exif.get_ifd(0x8769)[0x9003] = taken
    if gps is not None:
        gps_ifd = exif.get_ifd(0x8825)
        gps_ifd[1], gps_ifd[2] = "N", _dms(gps[0])
        gps_ifd[3], gps_ifd[4] = "E", _dms(gps[1])
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="JPEG", quality=92, exif=exif)
    return out.getvalue()


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the stack's tiny CLIP model is built (the test also loads it directly)."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def ml_stack(tmp_path_factory: pytest.TempPathFactory, models: Path) -> Iterator[Stack]:
    with running_clip_stack(tmp_path_factory.mktemp("smart-query-stack"), models, MODEL) as s:
        yield s


@pytest.fixture(scope="module")
def owner(ml_stack: Stack) -> User:
    return first_admin(ml_stack)


@pytest.fixture(scope="module")
def stranger(ml_stack: Stack, owner: User) -> User:
    return make_user(ml_stack, owner)


async def _stored(stack: Stack, ids: list[str]) -> dict[str, np.ndarray]:
    conn = await asyncpg.connect(stack.env()["DARKROOM_DATABASE_URL"])
    try:
        await register_vector(conn)
        rows = await conn.fetch(
            "SELECT asset_id, embedding FROM smart_search WHERE asset_id = ANY($1::uuid[])",
            [uuid.UUID(i) for i in ids],
        )
        return {str(r["asset_id"]): r["embedding"].to_numpy() for r in rows}
    finally:
        await conn.close()


def _wait_pipeline(stack: Stack, user: User, ids: list[str]) -> dict[str, np.ndarray]:
    """Wait until every asset has its EXIF extracted and its embedding stored."""
    import asyncio

    deadline = time.monotonic() + 150
    while True:
        stored = asyncio.run(_stored(stack, ids))
        extracted = all(
            (user.client.get(f"/api/assets/{i}").json().get("exifInfo") or {}).get("make")
            for i in ids
        )
        if (len(stored) == len(ids) and extracted) or time.monotonic() > deadline:
            assert len(stored) == len(ids) and extracted, "pipeline did not finish"
            return stored
        time.sleep(0.5)


@pytest.fixture(scope="module")
def library(
    ml_stack: Stack, owner: User, stranger: User, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, str], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Upload PHOTOS for ``owner`` and look-alikes for ``stranger``.

    Returns:
        (name -> asset id, asset id -> stored embedding, stranger's asset id -> embedding).
    """
    tmp = tmp_path_factory.mktemp("smart-query")
    ids: dict[str, str] = {}
    for seed, (name, make, taken, gps, fav, tint) in enumerate(PHOTOS):
        r = upload(owner, tmp / f"{name}.jpg", data=_jpeg(seed, tint, make, taken, gps))
        assert r.status_code == 201, r.text
        ids[name] = r.json()["id"]
        if fav:
            assert (
                owner.client.put(f"/api/assets/{ids[name]}", json={"isFavorite": True}).status_code
                == 200
            )
    theirs: list[str] = []
    for seed, (name, make, taken, gps, _, tint) in enumerate(PHOTOS[:3]):
        # nearly the same pixels as the owner's: they would rank at the top if they leaked
        r = upload(stranger, tmp / f"s-{name}.jpg", data=_jpeg(seed, tint, make, taken, gps))
        assert r.status_code == 201, r.text
        theirs.append(r.json()["id"])
    stored = _wait_pipeline(ml_stack, owner, list(ids.values()))
    stored_theirs = _wait_pipeline(ml_stack, stranger, theirs)
    return ids, stored, stored_theirs


def _smart(user: User, query: str, **filters: object) -> list[str]:
    r = user.client.post("/api/search/smart", json={"query": query, "size": 100, **filters})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()["assets"]
    assert body["count"] == len(body["items"])
    return [a["id"] for a in body["items"]]


def _expected(
    model: object, query: str, stored: dict[str, np.ndarray], keep: set[str]
) -> list[str]:
    """Ids of ``keep`` by decreasing cosine similarity to the query (ties by nothing: the
    caller compares with a tolerance)."""
    q = model.encode_text([query])[0]  # type: ignore[attr-defined]
    assert abs(float(np.linalg.norm(q)) - 1.0) < 1e-4
    scores = {i: float(stored[i] @ q) for i in keep}
    return sorted(keep, key=lambda i: -scores[i])


def _same_ranking(got: list[str], want: list[str], scores: dict[str, float]) -> None:
    """``got`` equals ``want`` except for swaps of (nearly) equal scores."""
    assert sorted(got) == sorted(want)
    for a, b in zip(got, want, strict=True):
        assert a == b or abs(scores[a] - scores[b]) < 1e-5, (got, want, scores)


@pytest.fixture(scope="module")
def clip(models: Path):  # type: ignore[no-untyped-def]
    from darkroom_ml.models import ClipModel

    return ClipModel.load(models / MODEL, providers=["CPUExecutionProvider"])


def test_features_report_smart_search(owner: User, library: object) -> None:
    features = owner.client.get("/api/server/features").json()
    assert features["smartSearch"] is True


def test_stored_embeddings_are_the_model_run_on_the_preview(owner: User, library, clip) -> None:  # type: ignore[no-untyped-def]
    """Preprocessing/batching/normalisation in the service equal the library run here."""
    ids, stored, _ = library
    previews = []
    for asset_id in ids.values():
        r = owner.client.get(f"/api/assets/{asset_id}/thumbnail", params={"size": "preview"})
        assert r.status_code == 200, r.text
        previews.append(r.content)
    local = clip.encode_images(previews)
    for row, asset_id in zip(local, ids.values(), strict=True):
        assert abs(float(np.linalg.norm(stored[asset_id])) - 1.0) < 1e-4
        assert float(row @ stored[asset_id]) > 0.9999, asset_id


def test_text_query_ranking_matches_the_model(owner: User, library, clip) -> None:  # type: ignore[no-untyped-def]
    ids, stored, _ = library
    everything = set(ids.values())
    rankings = set()
    for query in QUERIES:
        got = _smart(owner, query)
        want = _expected(clip, query, stored, everything)
        q = clip.encode_text([query])[0]
        _same_ranking(got, want, {i: float(stored[i] @ q) for i in everything})
        rankings.add(tuple(got))
    assert len(rankings) > 1, "different queries rank differently"
    # paging: page 2 of size 3 continues page 1
    first = _smart(owner, QUERIES[0])
    r = owner.client.post("/api/search/smart", json={"query": QUERIES[0], "size": 3, "page": 2})
    assert r.status_code == 200, r.text
    assert [a["id"] for a in r.json()["assets"]["items"]] == first[3:6]


def test_filters_narrow_the_ranking(owner: User, library, clip) -> None:  # type: ignore[no-untyped-def]
    ids, stored, _ = library
    info = {i: owner.client.get(f"/api/assets/{i}").json() for i in ids.values()}
    by_city = {
        i
        for i, a in info.items()
        if (a["exifInfo"] or {}).get("city") == info[ids["paris-canon-1"]]["exifInfo"]["city"]
    }
    assert info[ids["paris-canon-1"]]["exifInfo"]["city"], "reverse geocoding gives a city"
    assert by_city == {ids["paris-canon-1"], ids["paris-canon-2"], ids["paris-nikon"]}
    city = info[ids["paris-canon-1"]]["exifInfo"]["city"]
    after = datetime(2021, 1, 1)
    cases: list[tuple[dict[str, object], set[str]]] = [
        ({"city": city}, by_city),
        ({"make": "Canon"}, {i for n, i in ids.items() if "canon" in n}),
        ({"isFavorite": True}, {ids[p[0]] for p in PHOTOS if p[4]}),
        (
            {"takenAfter": "2021-01-01T00:00:00.000Z"},
            {ids[p[0]] for p in PHOTOS if datetime.strptime(p[2], "%Y:%m:%d %H:%M:%S") >= after},
        ),
        ({"make": "Canon", "isFavorite": True}, {ids["paris-canon-1"], ids["nowhere-canon"]}),
        ({"city": city, "make": "NIKON"}, {ids["paris-nikon"]}),
        ({"personIds": [str(uuid.uuid4())]}, set()),
        ({"libraryId": str(uuid.uuid4())}, set()),  # none of these is in that library
    ]
    for query in QUERIES[:2]:
        q = clip.encode_text([query])[0]
        scores = {i: float(stored[i] @ q) for i in stored}
        for filters, keep in cases:
            got = _smart(owner, query, **filters)
            _same_ranking(got, _expected(clip, query, stored, keep), scores)


def test_other_users_assets_never_appear(owner: User, stranger: User, library, clip) -> None:  # type: ignore[no-untyped-def]
    ids, stored, theirs = library
    mine = set(ids.values())
    for query in QUERIES:
        assert set(_smart(owner, query)) == mine
        got = _smart(stranger, query)
        assert set(got) == set(theirs)
        q = clip.encode_text([query])[0]
        _same_ranking(
            got,
            _expected(clip, query, theirs, set(theirs)),
            {i: float(theirs[i] @ q) for i in theirs},
        )
    # searching by one of the owner's assets as a stranger: not found, nothing leaks
    r = stranger.client.post("/api/search/smart", json={"queryAssetId": ids["paris-nikon"]})
    assert r.status_code in (400, 404), r.text


def test_search_by_an_asset_ranks_by_its_embedding(owner: User, library) -> None:  # type: ignore[no-untyped-def]
    """``queryAssetId`` (SmartSearchDto): the owner's assets ranked by the asset's own stored
    embedding, the asset itself first; no model is needed for it."""
    ids, stored, _ = library
    me = ids["paris-nikon"]
    r = owner.client.post("/api/search/smart", json={"queryAssetId": me, "size": 100})
    assert r.status_code == 200, r.text
    got = [a["id"] for a in r.json()["assets"]["items"]]
    scores = {i: float(stored[i] @ stored[me]) for i in stored}
    assert got[0] == me or abs(scores[got[0]] - scores[me]) < 1e-5
    _same_ranking(got, sorted(stored, key=lambda i: -scores[i]), scores)


def test_asset_info_carries_the_duplicate_id(ml_stack: Stack, owner: User) -> None:
    """Two uploads of the same pixels (different bytes) share ``duplicateId`` in asset info,
    equal to the group's id in /api/duplicates; another asset keeps null."""
    user = make_user(ml_stack, owner)
    rng = np.random.default_rng(42)
    pixels = rng.integers(0, 255, (200, 300, 3), dtype=np.uint8)
    ids = []
    for level in (1, 9):
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, "PNG", compress_level=level)
        r = upload(user, Path(f"dup-{level}.png"), data=buf.getvalue())
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    deadline = time.monotonic() + 120
    while not (groups := user.client.get("/api/duplicates").json()):
        assert time.monotonic() < deadline, "no duplicate group"
        time.sleep(0.5)
    assert {a["id"] for a in groups[0]["assets"]} == set(ids)
    for asset_id in ids:
        info = user.client.get(f"/api/assets/{asset_id}").json()
        assert info["duplicateId"] == groups[0]["duplicateId"]
    others = owner.client.get(f"/api/assets/{_smart(owner, QUERIES[0])[0]}").json()
    assert others["duplicateId"] is None
