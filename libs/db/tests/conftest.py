"""Fixtures shared by the repository tests: a module defines ``db_url`` (its own migrated
database on the session's PostgreSQL, ``darkroom_stack.testing.fresh_database``) and gets a
connection pool to it per test."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest
from darkroom_db import assets, create_pool


@pytest.fixture
async def pool(db_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the module's database (``db_url``), closed after the test."""
    p = await create_pool(db_url)
    yield p
    await p.close()


async def new_asset(pool: asyncpg.Pool, owner: uuid.UUID, name: str) -> uuid.UUID:
    """Insert an active JPEG asset of ``owner`` named ``name`` (unique per owner: its checksum
    comes from it) at ``upload/<owner>/<name>.jpg``; its id."""
    now = datetime(2024, 5, 1, tzinfo=UTC)
    row = await assets.insert_asset(
        pool,
        assets.NewAsset(
            id=uuid.uuid4(),
            owner_id=owner,
            device_asset_id=name,
            device_id="dev",
            type="IMAGE",
            original_path=f"upload/{owner}/{name}.jpg",
            original_file_name=f"{name}.jpg",
            original_mime_type="image/jpeg",
            checksum=hashlib.sha1(f"{owner}/{name}".encode()).digest(),
            file_size=1,
            file_created_at=now,
            file_modified_at=now,
        ),
    )
    assert row is not None
    return row.id
