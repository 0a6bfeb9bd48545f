"""How fast this machine's cores run right now: a fixed workload, timed, to tell a slow machine
from a slow tree.

The development VM's speed drifts: the same test module took 129 core-seconds at 01:24 and
224 at 03:00 on 2026-12-06, and the whole suite's CPU work grew from 1,662 to 1,952
core-seconds within the hour after the next start, with the same code and no steal time
reported (docs/performance.md, "Test suite"). A long benchmark records :func:`speed` before and
after its run, so its figures can be read against the machine it ran on; the witness is never
part of what a benchmark times.
"""

from __future__ import annotations

import hashlib
import mmap
import time
import zlib

#: Size of the bytes hashed and compressed per try (built per call, not at import).
_DATA_BYTES = 16 << 20


def _interpreter() -> None:
    total = 0
    for i in range(2_000_000):
        total += i * i % 7
    if total < 0:  # pragma: no cover - keeps the loop from being dead code
        raise AssertionError


def _touch() -> None:
    """Write one byte per 4 KiB page of 256 MiB of fresh anonymous memory (page faults)."""
    size = 256 << 20
    with mmap.mmap(-1, size) as memory:
        for offset in range(0, size, 4096):
            memory[offset] = 1


def speed(tries: int = 3) -> dict[str, float]:
    """Seconds (best of ``tries``, on one core) of three fixed workloads: a pure-Python loop of
    2,000,000 steps (the interpreter: services, pytest), SHA-1 of 64 MiB (hashlib, as the
    upload path's checksum), zlib level 6 of 16 MiB (a C loop over memory) and writing to each
    page of 256 MiB of fresh memory (page faults: every process the suite starts takes tens of
    thousands). ``touch_first_s`` is the first try of the last: on this Firecracker VM memory
    the guest has not used lately costs the host a fault too (here 0.35 s, then 0.15 s).

    Returns:
        ``{"python_s", "sha1_s", "zlib_s", "touch_s", "touch_first_s"}``, rounded to
        milliseconds. The best of several tries hides a moment's contention, not a machine that
        has become slower.
    """
    data = bytes(range(256)) * (_DATA_BYTES // 256)
    work = {
        "python_s": _interpreter,
        "sha1_s": lambda: [hashlib.sha1(data).digest() for _ in range(4)],
        "zlib_s": lambda: zlib.compress(data, 6),
        "touch_s": _touch,
    }
    best: dict[str, float] = {}
    for name, fn in work.items():
        times = []
        for _ in range(tries):
            started = time.process_time()
            fn()
            times.append(time.process_time() - started)
        best[name] = round(min(times), 3)
        if name == "touch_s":
            best["touch_first_s"] = round(times[0], 3)
    return best
