"""The asyncpg connection pool, with pgvector's type registered on every connection."""

from __future__ import annotations

import asyncpg
from pgvector.asyncpg import register_vector


async def _init(conn: asyncpg.Connection) -> None:
    await register_vector(conn)


async def create_pool(database_url: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """Open a pool to ``database_url`` (migrated: the ``vector`` extension must exist).

    Args:
        database_url: ``postgresql://user@host:port/db``.
        min_size: Connections opened at once.
        max_size: Upper bound of open connections.

    Returns:
        The pool; ``vector`` columns read and write as ``pgvector.Vector`` / numpy arrays.

    Raises:
        OSError / asyncpg.PostgresError: the server is unreachable or refused us.
    """
    pool = await asyncpg.create_pool(database_url, min_size=min_size, max_size=max_size, init=_init)
    assert pool is not None
    return pool
