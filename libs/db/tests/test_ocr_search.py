"""OCR search against a real PostgreSQL: folded (case, accents, confusable characters) and fuzzy
(pg_trgm strict word similarity) matching, ranking, and owner scoping (``darkroom_db.ocr``)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime

import pytest
from darkroom_db import assets, migrate, ocr, search, users
from darkroom_stack.testing import fresh_database


@pytest.fixture(scope="module")
def db_url(postgres_server) -> str:
    url = fresh_database(postgres_server, "ocrsearch")
    migrate(url)
    return url


async def _asset_with_text(pool, owner: uuid.UUID, *lines: str) -> uuid.UUID:
    """A new active asset of ``owner`` whose OCR read ``lines``."""
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    data = uuid.uuid4().bytes
    new = assets.NewAsset(
        id=uuid.uuid4(),
        owner_id=owner,
        device_asset_id=data.hex(),
        device_id="dev",
        type="IMAGE",
        original_path=f"upload/{data.hex()}.jpg",
        original_file_name="x.jpg",
        original_mime_type="image/jpeg",
        checksum=hashlib.sha1(data).digest(),
        file_size=len(data),
        file_created_at=now,
        file_modified_at=now,
    )
    asset = await assets.insert_asset(pool, new)
    assert asset is not None
    box = [0.1, 0.1, 0.9, 0.1, 0.9, 0.2, 0.1, 0.2]
    await ocr.replace_lines(
        pool, asset.id, owner, [ocr.OcrLine(text=t, box=box, score=0.9) for t in lines]
    )
    return asset.id


async def _user(pool) -> uuid.UUID:
    u = await users.create_user(
        pool, email=f"{uuid.uuid4().hex}@x.test", name="U", password_hash="h"
    )
    return u.id


async def _metadata(pool, owner: uuid.UUID, text: str) -> set[uuid.UUID]:
    found, _ = await search.search_metadata(pool, owner, search.AssetFilters(ocr=text))
    return {a.id for a in found}


async def test_recognition_errors_case_and_accents_are_tolerated(pool) -> None:
    me, other = await _user(pool), await _user(pool)
    misread = await _asset_with_text(pool, me, "INVOlCE", "No 2024-118")  # l read for I
    cafe = await _asset_with_text(pool, me, "Café Zürich", "rnenu du jour")  # rn read for m
    receipt = await _asset_with_text(pool, me, "Receipt total 118.50")
    theirs = await _asset_with_text(pool, other, "INVOICE")
    for query in ("invoice", "Invoice", "INVOICE", "invoice 2024"):
        assert await ocr.matching_assets(pool, me, query) == [misread], query
        assert await _metadata(pool, me, query) == {misread}, query
    for query in ("cafe zurich", "CAFÉ", "menu", "Zurich MENU"):
        assert await ocr.matching_assets(pool, me, query) == [cafe], query
        assert await _metadata(pool, me, query) == {cafe}, query
    assert await ocr.matching_assets(pool, me, "118.50") == [receipt]
    assert await ocr.matching_assets(pool, me, "ceipt") == [receipt]  # part of a word
    for absent in ("order", "invoice receipt", "zebra", "%", "_"):
        assert await ocr.matching_assets(pool, me, absent) == [], absent
        assert await _metadata(pool, me, absent) == set(), absent
    assert await ocr.matching_assets(pool, other, "invoice") == [theirs]  # never another's
    assert await ocr.matching_assets(pool, me, "   ") == []


async def test_ranked_by_similarity(pool) -> None:
    me = await _user(pool)
    exact = await _asset_with_text(pool, me, "Total due: 40 EUR", "INVOICE")
    close = await _asset_with_text(pool, me, "INVOCE")  # a letter dropped: similarity 0.5
    await _asset_with_text(pool, me, "INV")  # too little of the word: no match
    assert await ocr.matching_assets(pool, me, "invoice") == [exact, close]
    assert await _metadata(pool, me, "invoice") == {exact, close}
    # A higher threshold keeps only the exact word.
    assert await ocr.matching_assets(pool, me, "invoice", threshold=0.9) == [exact]


def test_query_words_are_distinct_case_insensitively() -> None:
    assert ocr.query_words("Invoice  invoice TOTAL\ttotal 2024") == ["Invoice", "TOTAL", "2024"]
    assert ocr.like_pattern("5%_a\\b") == "%5\\%\\_a\\\\b%"
