"""Multilingual smart search end to end, with tiny generated models (random weights).

The stack starts on an NLLB-CLIP model (``nllb-clip-base-siglip__v1``, built by
``darkroom_ml.testing.build_tiny_text_model``): ``POST /api/search/smart`` with a ``language``
must rank the assets exactly as the NLLB text encoder run here with that language's FLORES-200
token does (the data is chosen so German and French rank differently). Then an admin selects
an M-CLIP model of another dimension in the system config (``machineLearning.clip.modelName``):
the embedding service swaps its model, the smart_search column follows the new dimension, the
"missing" smart search job re-embeds every asset, and the search service answers with the new
model's ranking. This stack is the test's own: the shared stack's column is never changed.
"""

from __future__ import annotations

import asyncio
import io
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import numpy as np
import pytest
from darkroom_stack.supervisor import Stack
from pgvector.asyncpg import register_vector
from PIL import Image

from tests.conftest import User, first_admin, running_stack, upload_jpeg

pytest.importorskip("onnx")

NLLB = "nllb-clip-base-siglip__v1"
MCLIP = "XLM-Roberta-Large-Vit-B-16Plus"
QUERIES = ("hund am strand", "chien sur la plage", "ein roter hund")
TINTS = [(150, 0, 0), (0, 150, 0), (0, 0, 150), (150, 150, 0), (0, 150, 150), (150, 0, 150)]
SERVICES = ("ingest", "metadata", "thumbnail", "embedding", "search", "gateway")


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from darkroom_ml.testing import build_tiny_text_model

    root = tmp_path_factory.mktemp("ml-models")
    build_tiny_text_model(root, "nllb", dim=32, seed=5)
    build_tiny_text_model(root, "m-clip", dim=48, seed=6)
    return root


@pytest.fixture(scope="module")
def ml_stack(tmp_path_factory: pytest.TempPathFactory, models: Path) -> Iterator[Stack]:
    with running_stack(
        tmp_path_factory.mktemp("multilingual-stack"),
        services=SERVICES,
        env={
            "DARKROOM_ML_MODEL_DIR": str(models),
            "DARKROOM_CLIP_MODEL": NLLB,
            "DARKROOM_ML_DOWNLOAD": "false",
        },
    ) as running:
        yield running


@pytest.fixture(scope="module")
def owner(ml_stack: Stack) -> User:
    return first_admin(ml_stack)


def _jpeg(seed: int, tint: tuple[int, int, int]) -> bytes:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 100, (96, 128, 3), dtype=np.int16)
    pixels = np.clip(base + np.array(tint), 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="JPEG", quality=92)
    return out.getvalue()


async def _fetch(stack: Stack, query: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(stack.env()["DARKROOM_DATABASE_URL"])
    try:
        await register_vector(conn)
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


def _until(what: str, probe, timeout: float = 180.0):  # type: ignore[no-untyped-def]
    """Poll ``probe`` until it returns something truthy (a ceiling, not a speed target)."""
    deadline = time.monotonic() + timeout
    while True:
        got = probe()
        if got:
            return got
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def _embeddings(stack: Stack, ids: list[str], model: str) -> dict[str, np.ndarray] | None:
    rows = asyncio.run(
        _fetch(
            stack,
            "SELECT asset_id, embedding FROM smart_search "
            "WHERE asset_id = ANY($1::uuid[]) AND model = $2",
            [uuid.UUID(i) for i in ids],
            model,
        )
    )
    if len(rows) != len(ids):
        return None
    return {str(r["asset_id"]): r["embedding"].to_numpy() for r in rows}


def _search(user: User, query: str, language: str | None) -> list[str] | None:
    body: dict[str, object] = {"query": query, "size": 100}
    if language is not None:
        body["language"] = language
    r = user.client.post("/api/search/smart", json=body)
    if r.status_code == 400 and "not available" in r.text:
        return None  # the search service is (re)loading its model, or the column is changing
    assert r.status_code == 200, r.text
    return [a["id"] for a in r.json()["assets"]["items"]]


def _ranking(model, query: str, language: str | None, stored: dict[str, np.ndarray]):  # type: ignore[no-untyped-def]
    q = model.encode_text([query], language)[0]
    scores = {i: float(v @ q) for i, v in stored.items()}
    return sorted(scores, key=lambda i: -scores[i]), scores


def _same(got: list[str], want: list[str], scores: dict[str, float]) -> bool:
    return sorted(got) == sorted(want) and all(
        a == b or abs(scores[a] - scores[b]) < 1e-5 for a, b in zip(got, want, strict=True)
    )


def test_language_and_model_selection(ml_stack: Stack, owner: User, models: Path) -> None:
    from darkroom_ml import ClipModel, ModelType

    ids = [upload_jpeg(owner, _jpeg(seed, tint)) for seed, tint in enumerate(TINTS)]
    stored = _until("NLLB embeddings", lambda: _embeddings(ml_stack, ids, NLLB))
    assert all(v.shape == (32,) for v in stored.values())

    nllb = ClipModel.load(models / NLLB, ["CPUExecutionProvider"], types=(ModelType.TEXTUAL,))
    differs = False
    for query in QUERIES:
        wanted = {}
        for language in ("de", "fr", None):
            want, scores = _ranking(nllb, query, language, stored)
            got = _until("the search service", lambda q=query, la=language: _search(owner, q, la))
            assert _same(got, want, scores), (query, language, got, want, scores)
            wanted[language] = want
        differs |= wanted["de"] != wanted["fr"]
    assert differs, "the data cannot tell the languages apart"
    with httpx.Client(base_url=ml_stack.url, timeout=60) as anonymous:
        r = anonymous.post("/api/search/smart", json={"query": "x", "language": "de"})
    assert r.status_code == 401, r.text

    # the admin selects M-CLIP (48-d): both services follow, every asset is embedded again
    config = owner.client.get("/api/system-config").json()
    config["machineLearning"]["clip"]["modelName"] = MCLIP
    r = owner.client.put("/api/system-config", json=config)
    assert r.status_code == 200, r.text

    def swapped() -> bool:
        rows = asyncio.run(
            _fetch(ml_stack, "SELECT model, dim, ready FROM ml_model_status WHERE task = 'clip'")
        )
        return bool(rows) and (rows[0]["model"], rows[0]["dim"], rows[0]["ready"]) == (
            MCLIP,
            48,
            True,
        )

    _until("the embedding service to load M-CLIP", swapped)
    assert asyncio.run(_fetch(ml_stack, "SELECT 1 FROM smart_search WHERE model = $1", NLLB)) == []
    r = owner.client.put("/api/jobs/smartSearch", json={"command": "start", "force": False})
    assert r.status_code == 200, r.text
    stored = _until("M-CLIP embeddings", lambda: _embeddings(ml_stack, ids, MCLIP))
    assert all(v.shape == (48,) for v in stored.values())

    mclip = ClipModel.load(models / MCLIP, ["CPUExecutionProvider"], types=(ModelType.TEXTUAL,))
    for query in QUERIES:
        want, scores = _ranking(mclip, query, "de", stored)

        def answered(q: str = query, w: list[str] = want, s: dict[str, float] = scores) -> bool:
            got = _search(owner, q, "de")
            return got is not None and _same(got, w, s)

        _until(f"the search service to rank {query!r} with M-CLIP", answered)
