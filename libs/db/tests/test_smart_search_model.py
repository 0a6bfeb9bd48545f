"""smart_search follows the CLIP model in force: a new dimension or another model's name drops
the stored embeddings (not comparable) and resets every asset's embedding step."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime

import numpy as np
import pytest
from darkroom_db import assets, migrate, smart_search, users
from darkroom_stack.testing import fresh_database


@pytest.fixture(scope="module")
def db_url(postgres_server) -> str:
    url = fresh_database(postgres_server, "smartmodel")
    migrate(url)
    return url


async def _embedded_asset(pool, dim: int, model: str) -> uuid.UUID:
    user = await users.create_user(
        pool, email=f"{uuid.uuid4().hex}@x.test", name="U", password_hash="h"
    )
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    data = uuid.uuid4().bytes
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
            checksum=hashlib.sha1(data).digest(),
            file_size=len(data),
            file_created_at=now,
            file_modified_at=now,
        ),
    )
    assert asset is not None
    vec = np.ones(dim, dtype=np.float32) / np.sqrt(dim)
    await smart_search.upsert_embeddings(pool, [(asset.id, user.id, vec)], model=model)
    await assets.mark_step_done(pool, asset.id, "embedding")
    return asset.id


async def _state(pool, asset_id: uuid.UUID) -> tuple[int, int, bool]:
    count = await pool.fetchval("SELECT count(*) FROM smart_search")
    done = await pool.fetchval(
        "SELECT embedding_at IS NOT NULL FROM asset_job_status WHERE asset_id = $1", asset_id
    )
    return await smart_search.column_dimension(pool), count, done


async def test_model_change_drops_embeddings_even_at_the_same_dimension(pool) -> None:
    await smart_search.ensure_dimension(pool, 32, model="nllb-clip-base-siglip__v1")
    first = await _embedded_asset(pool, 32, "nllb-clip-base-siglip__v1")
    # the same model again: nothing happens
    assert await smart_search.ensure_dimension(pool, 32, model="nllb-clip-base-siglip__v1") is False
    assert await smart_search.ensure_dimension(pool, 32) is False  # dimension only
    assert await _state(pool, first) == (32, 1, True)
    # another model of the same size: its embeddings would be compared with the old ones
    assert await smart_search.ensure_dimension(pool, 32, model="ViT-B-16-SigLIP2__webli") is True
    assert await _state(pool, first) == (32, 0, False)
    second = await _embedded_asset(pool, 32, "ViT-B-16-SigLIP2__webli")
    # another size: the column follows
    assert await smart_search.ensure_dimension(pool, 48, model="XLM-Roberta-Large-Vit-B-16Plus")
    assert await _state(pool, second) == (48, 0, False)
    await _embedded_asset(pool, 48, "XLM-Roberta-Large-Vit-B-16Plus")
    with pytest.raises(ValueError):
        await smart_search.ensure_dimension(pool, 4096, model="x")


async def _toast_bytes(pool) -> int:
    """Bytes in smart_search's TOAST table (vectors stored out of line)."""
    return await pool.fetchval(
        "SELECT pg_relation_size(reltoastrelid) FROM pg_class WHERE relname = 'smart_search'"
    )


async def test_embeddings_stay_in_their_row_after_a_dimension_change(pool) -> None:
    """A 512-d vector (2,056 bytes) would go to the TOAST table with pgvector's default
    storage; the column keeps STORAGE MAIN (0036) also after ensure_dimension retypes it."""
    await smart_search.ensure_dimension(pool, 48, model="m48")
    await smart_search.ensure_dimension(pool, 512, model="m512")
    storage = await pool.fetchval(
        "SELECT attstorage FROM pg_attribute "
        "WHERE attrelid = 'smart_search'::regclass AND attname = 'embedding'"
    )
    assert storage == b"m"  # "char" comes back as bytes
    await _embedded_asset(pool, 512, "m512")
    await pool.execute("VACUUM smart_search")
    assert await pool.fetchval("SELECT count(*) FROM smart_search") == 1
    assert await _toast_bytes(pool) == 0
    # pgvector's default (EXTERNAL) does move such a row out of line: the check above means it
    await pool.execute("ALTER TABLE smart_search ALTER COLUMN embedding SET STORAGE EXTERNAL")
    try:
        await _embedded_asset(pool, 512, "m512")
        assert await _toast_bytes(pool) > 0
    finally:
        await pool.execute("ALTER TABLE smart_search ALTER COLUMN embedding SET STORAGE MAIN")


async def _index_options(pool) -> list[str]:
    return list(
        await pool.fetchval(
            "SELECT reloptions FROM pg_class WHERE relname = 'smart_search_embedding_idx'"
        )
    )


async def test_the_hnsw_graph_is_the_denser_one_after_migrations_and_a_model_change(pool) -> None:
    """Migration 0039 builds the smart search index with m 24 / ef_construction 128 (recall
    0.998 at 1M embeddings where pgvector's defaults reached 0.92-0.94); a dimension change
    rebuilds it with the same parameters, not the defaults."""
    assert sorted(await _index_options(pool)) == ["ef_construction=128", "m=24"]
    await smart_search.ensure_dimension(pool, 40, model="m40")
    assert sorted(await _index_options(pool)) == ["ef_construction=128", "m=24"]
    method = await pool.fetchval(
        "SELECT am.amname FROM pg_class c JOIN pg_am am ON am.oid = c.relam "
        "WHERE c.relname = 'smart_search_embedding_idx'"
    )
    assert method == "hnsw"
