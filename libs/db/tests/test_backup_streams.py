"""``pg_dump`` and ``psql`` streams that end early end their process and return: a dump whose
reader stopped mid-stream (a cancelled backup, a gateway shutting down during the nightly
backup) and a restore whose dump turned out corrupt half-way. Both used to wait forever: the
dump's ``wait()`` for a stdout pipe paused by flow control, the restore's for a ``psql`` still
reading its stdin."""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import psutil
import pytest
from darkroom_db import backup
from darkroom_stack.testing import fresh_database

#: Ceiling for a step that takes well under a second on an idle machine (a hang is forever).
CEILING_S = 120


def _children(name: str) -> list[psutil.Process]:
    return [p for p in psutil.Process().children() if p.name() == name]


def _wait_channel(pid: int) -> str:
    """Where the kernel has process ``pid`` sleeping ("" when it cannot be read)."""
    try:
        return Path(f"/proc/{pid}/wchan").read_text()
    except OSError:
        return ""


async def _stalled_on_its_pipe(name: str) -> psutil.Process:
    """The child ``name`` once it has stayed blocked writing into a full pipe (its kernel wait
    channel a pipe write) over 20 samples in a row: its reader has stopped reading."""
    deadline = time.monotonic() + CEILING_S
    seen = 0
    while time.monotonic() < deadline:
        for proc in _children(name):
            wchan = _wait_channel(proc.pid)
            seen = seen + 1 if "pipe" in wchan else 0  # pipe_write / anon_pipe_write
            if seen >= 20:
                return proc
        await asyncio.sleep(0.02)
    pytest.fail(f"{name} never stalled on its pipe")


async def test_a_dump_left_mid_stream_ends_pg_dump(postgres_server: object) -> None:
    url = fresh_database(postgres_server, "dumpstop")  # type: ignore[arg-type]
    conn = await asyncpg.connect(url)
    try:  # ~6 MB of SQL: far more than a pipe and the reader's buffer hold
        await conn.execute(
            "CREATE TABLE filler AS SELECT g, repeat(md5(g::text), 8) AS t "
            "FROM generate_series(1, 20000) AS g"
        )
    finally:
        await conn.close()
    stream = backup.dump(url, bin_dir=backup.pg_bin_dir())
    first = await anext(stream)
    assert first[:2] == b"\x1f\x8b"  # gzip
    # the reader's buffer full, stdout paused by asyncio's flow control, pg_dump blocked
    pg_dump = await _stalled_on_its_pipe("pg_dump")
    await asyncio.wait_for(stream.aclose(), CEILING_S)
    assert not pg_dump.is_running() or pg_dump.status() == psutil.STATUS_ZOMBIE
    assert _children("pg_dump") == []


@pytest.mark.parametrize("failure", ["corrupt gzip", "storage read failed"])
async def test_a_restore_whose_dump_fails_half_way_ends_psql(
    postgres_server: object, failure: str
) -> None:
    url = fresh_database(postgres_server, "restorebad")  # type: ignore[arg-type]
    sql = b"".join(b"SELECT %d;\n" % i for i in range(20000))
    deflate = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    # a valid start, flushed to a block boundary, then a block of the reserved type (11)
    corrupt = deflate.compress(sql) + deflate.flush(zlib.Z_FULL_FLUSH) + b"\xff" * 64
    with pytest.raises(zlib.error):  # the test's own check: the stream is corrupt
        zlib.decompress(corrupt, 16 + zlib.MAX_WBITS)

    async def chunks() -> AsyncIterator[bytes]:
        half = len(corrupt) // 2
        yield corrupt[:half]
        if failure == "storage read failed":
            raise OSError("storage read failed")
        yield corrupt[half:]

    expected = OSError if failure == "storage read failed" else backup.BackupError
    with pytest.raises(expected):
        await asyncio.wait_for(
            backup.restore(url, chunks(), bin_dir=backup.pg_bin_dir()), CEILING_S
        )
    assert _children("psql") == []
