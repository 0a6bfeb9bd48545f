"""Keyword import (issue 16, item 2): XMP/IPTC keywords of a photo, and of its sidecar, become
the owner's tags, parents included; importing twice changes nothing.

The photos are generated here and their keywords written with exiv2 (through pyexiv2), the
library the metadata service reads them with; the import runs against a real PostgreSQL.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import PIL.Image
import pyexiv2
import pytest
from darkroom_db import assets, create_pool, migrate, tags, users
from darkroom_metadata.extract import extract_metadata
from darkroom_metadata.handlers import import_tags
from darkroom_metadata.keywords import tag_paths
from darkroom_stack.testing import fresh_database


def _photo(
    tmp_path: Path, xmp: dict[str, object] | None = None, iptc: dict[str, object] | None = None
) -> Path:
    """A small JPEG with ``xmp``/``iptc`` written into it by exiv2."""
    path = tmp_path / f"{uuid.uuid4().hex}.jpg"
    pixels = np.random.default_rng(1).integers(0, 255, size=(24, 32, 3), dtype=np.uint8)
    PIL.Image.fromarray(pixels).save(path, "JPEG")
    with pyexiv2.Image(str(path)) as image:
        if xmp:
            image.modify_xmp(xmp)
        if iptc:
            image.modify_iptc(iptc)
    return path


def test_sources_in_immichs_order() -> None:
    both = {"Xmp.digiKam.TagsList": ["A/B"], "Xmp.lr.hierarchicalSubject": ["C|D"]}
    assert tag_paths(both, {}) == ["A/B"]
    lightroom = {"Xmp.lr.hierarchicalSubject": ["Places|Japan|Kyoto", "AC/DC|Live"]}
    assert tag_paths(lightroom, {}) == ["Places/Japan/Kyoto", "AC|DC/Live"]
    flat_xmp = {"Xmp.dc.subject": ["sea", "sun"]}
    assert tag_paths(flat_xmp, {"Iptc.Application2.Keywords": ["sun", "beach"]}) == [
        "sun",
        "beach",
        "sea",
    ]
    assert tag_paths({"Xmp.dc.subject": "single"}, {}) == ["single"]
    assert tag_paths({"Xmp.dc.subject": ["  "]}, {}) is None
    assert tag_paths({}, {}) is None


def test_digikam_tags_from_the_file(tmp_path: Path) -> None:
    path = _photo(
        tmp_path,
        xmp={"Xmp.digiKam.TagsList": ["Travel/2024/Japan", "People/Ann"]},
        iptc={"Iptc.Application2.Keywords": ["Japan", "Ann"]},
    )
    md = extract_metadata(path, mime_type="image/jpeg")
    assert md.tags == ["Travel/2024/Japan", "People/Ann"]


def test_iptc_keywords_from_the_file(tmp_path: Path) -> None:
    path = _photo(tmp_path, iptc={"Iptc.Application2.Keywords": ["beach", "sunset"]})
    assert extract_metadata(path, mime_type="image/jpeg").tags == ["beach", "sunset"]


def test_sidecar_keywords_replace_the_files(tmp_path: Path) -> None:
    path = _photo(tmp_path, iptc={"Iptc.Application2.Keywords": ["from-file"]})
    donor = _photo(tmp_path, xmp={"Xmp.lr.hierarchicalSubject": ["Side|Car"]})
    with pyexiv2.Image(str(donor)) as image:
        sidecar = image.read_raw_xmp().encode()
    md = extract_metadata(path, mime_type="image/jpeg", sidecar=sidecar)
    assert md.tags == ["Side/Car"]
    # a sidecar without keywords leaves the file's
    plain = _photo(tmp_path, xmp={"Xmp.xmp.Rating": "3"})
    with pyexiv2.Image(str(plain)) as image:
        no_keywords = image.read_raw_xmp().encode()
    md = extract_metadata(path, mime_type="image/jpeg", sidecar=no_keywords)
    assert md.tags == ["from-file"]


@pytest.fixture(scope="module")
def db_url(postgres_server) -> str:  # type: ignore[no-untyped-def]
    url = fresh_database(postgres_server, "keywords")
    migrate(url)
    return url


async def test_import_is_additive_and_idempotent(db_url: str) -> None:
    pool = await create_pool(db_url)
    try:
        user = await users.create_user(
            pool, email=f"{uuid.uuid4().hex}@x.test", name="U", password_hash="h"
        )
        now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
        asset = await assets.insert_asset(
            pool,
            assets.NewAsset(
                id=uuid.uuid4(),
                owner_id=user.id,
                device_asset_id="d1",
                device_id="dev",
                type="IMAGE",
                original_path="upload/x.jpg",
                original_file_name="x.jpg",
                original_mime_type="image/jpeg",
                checksum=hashlib.sha1(b"x").digest(),
                file_size=1,
                file_created_at=now,
                file_modified_at=now,
            ),
        )
        assert asset is not None
        (mine,) = await tags.upsert_paths(pool, user.id, ["Mine"])
        await tags.add_assets(pool, [(mine.id, asset.id)])
        for _ in range(2):  # a redelivered extraction
            async with pool.acquire() as conn, conn.transaction():
                await import_tags(conn, asset, ["Travel/2024/Japan", "Travel/2024", "Solo"])
        tree = {t.value: t for t in await tags.list_tags(pool, user.id)}
        assert set(tree) == {"Mine", "Travel", "Travel/2024", "Travel/2024/Japan", "Solo"}
        assert tree["Travel/2024/Japan"].parent_id == tree["Travel/2024"].id
        assert tree["Travel/2024"].parent_id == tree["Travel"].id
        on_asset = [t.value for t in await tags.tags_of_asset(pool, asset.id)]
        assert on_asset == ["Mine", "Solo", "Travel/2024", "Travel/2024/Japan"]
    finally:
        await pool.close()
