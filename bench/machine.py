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
import time
import zlib

#: Bytes hashed and compressed per try (built once; 16 MiB).
_DATA = bytes(range(256)) * (16 * 4096)


def _interpreter() -> None:
    total = 0
    for i in range(2_000_000):
        total += i * i % 7
    if total < 0:  # pragma: no cover - keeps the loop from being dead code
        raise AssertionError


def speed(tries: int = 3) -> dict[str, float]:
    """Seconds (best of ``tries``, on one core) of three fixed workloads: a pure-Python loop of
    2,000,000 steps (the interpreter: services, pytest), SHA-1 of 64 MiB (hashlib, as the
    upload path's checksum) and zlib level 6 of 16 MiB (a C loop over memory).

    Returns:
        ``{"python_s": ..., "sha1_s": ..., "zlib_s": ...}``, rounded to milliseconds. The best of
        several tries hides a moment's contention, not a machine that has become slower.
    """
    work = {
        "python_s": _interpreter,
        "sha1_s": lambda: [hashlib.sha1(_DATA).digest() for _ in range(4)],
        "zlib_s": lambda: zlib.compress(_DATA, 6),
    }
    best: dict[str, float] = {}
    for name, fn in work.items():
        times = []
        for _ in range(tries):
            started = time.process_time()
            fn()
            times.append(time.process_time() - started)
        best[name] = round(min(times), 3)
    return best
