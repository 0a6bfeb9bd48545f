"""bench.machine.speed: the fixed workload the long benchmarks record before and after a run."""

from __future__ import annotations

from bench.machine import speed


def test_speed_times_each_workload_on_one_core() -> None:
    first, second = speed(tries=1), speed(tries=2)
    assert set(first) == set(second) == {"python_s", "sha1_s", "zlib_s", "touch_s", "touch_first_s"}
    # CPU seconds of real work: more than nothing, and bounded (each takes ~0.1 s here)
    assert all(0 < v < 60 for v in (*first.values(), *second.values())), (first, second)
