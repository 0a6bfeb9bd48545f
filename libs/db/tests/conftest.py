"""Fixtures shared by the repository tests: a module defines ``db_url`` (its own migrated
database on the session's PostgreSQL, ``darkroom_stack.testing.fresh_database``) and gets a
connection pool to it per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from darkroom_db import create_pool


@pytest.fixture
async def pool(db_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the module's database (``db_url``), closed after the test."""
    p = await create_pool(db_url)
    yield p
    await p.close()
