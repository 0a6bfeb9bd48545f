"""S3 streaming upload benchmark (issue #24 item 3): memory and throughput of a streamed put.

What production does: the gateway streams an upload's body into ``Storage.put`` as an async
iterable of chunks; on the S3 back end that is minio's public ``put_object`` with unknown length
(:mod:`darkroom_storage.s3`). Here a 256 MiB object goes up in 1 MiB chunks to nanio (the
SigV4-checking S3 server the tests use), with the default part size (8 MiB) and with 16 MiB.

For each part size the report has: ``mib_per_s`` (wall clock, source to completed upload),
``peak_python_mib`` (tracemalloc's peak of the whole process during the put: the parts held,
the chunk being made, and everything else the process allocates) and ``parts_held`` (that peak
over the part size). The bound the storage tests check is two parts and a chunk; this shows it
at a production part size and object size. Results: bench/results/s3_upload.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import tempfile
import time
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path

from darkroom_stack.servers import start_nanio
from darkroom_storage import StorageSettings, open_storage

RESULTS = Path(__file__).parent / "results"
MiB = 1 << 20
OBJECT_MIB = 256
PART_SIZES_MIB = (8, 16)


async def _chunks(count: int) -> AsyncIterator[bytes]:
    block = os.urandom(MiB)
    for i in range(count):
        yield block[i % 7 :] + block[: i % 7]  # a fresh 1 MiB chunk, as a request body gives
        await asyncio.sleep(0)


async def _run(url: str, access_key: str, secret_key: str, part_mib: int) -> dict[str, float]:
    settings = StorageSettings(
        backend="s3",
        s3_endpoint=url,
        s3_access_key=access_key,
        s3_secret_key=secret_key,
        s3_bucket="bench-upload",
        s3_part_size=part_mib * MiB,
    )
    store = open_storage(settings)
    try:
        tracemalloc.start()
        started = time.perf_counter()
        info = await store.put(f"bench/{part_mib}.mp4", _chunks(OBJECT_MIB))
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert info.size == OBJECT_MIB * MiB
        await store.delete(info.key)
    finally:
        await store.close()
    return {
        "part_mib": part_mib,
        "object_mib": OBJECT_MIB,
        "seconds": round(seconds, 2),
        "mib_per_s": round(OBJECT_MIB / seconds, 1),
        "peak_python_mib": round(peak / MiB, 1),
        "parts_held": round(peak / (part_mib * MiB), 2),
    }


def main() -> None:
    """Run the benchmark and write bench/results/s3_upload.json."""
    with tempfile.TemporaryDirectory(prefix="dr-bench-s3-") as tmp:
        server = start_nanio(Path(tmp) / "nanio")
        try:
            runs = [
                asyncio.run(
                    _run(
                        server.url,
                        server.extra["access_key"],
                        server.extra["secret_key"],
                        part,
                    )
                )
                for part in PART_SIZES_MIB
            ]
        finally:
            server.stop()
    report = {
        "bench": "s3_upload",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "runs": runs,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "s3_upload.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))  # noqa: T201 - the benchmark's report
