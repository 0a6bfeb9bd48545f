"""The embedded PostgreSQL warms its buffers again after a restart (pg_prewarm's autoprewarm):
the blocks a table had in shared buffers are back after a stop and start, before anything
reads the table."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
from darkroom_stack.servers import PRELOAD_LIBRARIES, start_postgres

#: Seconds, at most, for the autoprewarm worker to load the recorded blocks. It starts with
#: the server and loads a few hundred blocks in milliseconds; the bound only stops a broken run
#: from waiting for ever, the test goes on as soon as the blocks are there.
LOAD_LIMIT_S = 120.0


async def _blocks_in_buffers(conn: asyncpg.Connection, table: str) -> int:
    """Shared buffers holding blocks of ``table``'s rows (pg_buffercache; reads only the
    catalog)."""
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM pg_buffercache b JOIN pg_class c "
            "ON b.relfilenode = pg_relation_filenode(c.oid) "
            "AND b.reldatabase = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "WHERE c.relname = $1 AND b.relforknumber = 0",  # the main fork: the rows
            table,
        )
    )


async def test_buffers_are_warm_again_after_a_restart(tmp_path: Path) -> None:
    assert "pg_prewarm" in PRELOAD_LIBRARIES
    server = start_postgres(tmp_path / "pg")
    try:
        conn = await asyncpg.connect(server.url)
        try:
            assert "pg_prewarm" in await conn.fetchval("SHOW shared_preload_libraries")
            await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_buffercache")
            await conn.execute(
                # no autovacuum: it would read the table (or add its map forks) on its own
                "CREATE TABLE warm WITH (autovacuum_enabled = off) AS "
                "SELECT g AS id, repeat('x', 200) AS pad FROM generate_series(1, 20000) g"
            )
            assert await conn.fetchval("SELECT count(*) FROM warm") == 20000
            before = await _blocks_in_buffers(conn, "warm")
            assert before > 400  # ~600 blocks of 8 kB, all read through shared buffers
        finally:
            await conn.close()
    finally:
        server.stop()  # fast shutdown: autoprewarm writes the block list
    assert (tmp_path / "pg" / "pgdata" / "autoprewarm.blocks").exists()

    server = start_postgres(tmp_path / "pg")
    try:
        conn = await asyncpg.connect(server.url)
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + LOAD_LIMIT_S
            after = await _blocks_in_buffers(conn, "warm")
            while after < before and loop.time() < deadline:
                await asyncio.sleep(0.2)
                after = await _blocks_in_buffers(conn, "warm")
            assert after == before, f"{after} of {before} blocks back in shared buffers"
        finally:
            await conn.close()
    finally:
        server.stop()
