"""Test suite benchmark (issue #20 item 6): what ``make test`` takes on this machine.

Times exactly the pytest command of ``make test`` (the Makefile's ``test`` recipe: pytest-xdist
with ``TEST_WORKERS`` workers, ``--dist loadfile``, longest modules first), run from the
repository root with the installed environment, every test and every server it starts included;
``make install`` is not timed. Also reads ``/proc/stat`` before and after (CPU time of all
cores, whatever ran: the suite's servers, browsers and subprocesses, and anything else on the
machine, so run it on an idle machine), and the load average at the start.

Writes bench/results/suite.json (pytest's own output to suite-output.txt): wall seconds,
exit status, tests passed/failed (pytest's summary line), CPU core-seconds busy and idle,
workers, and the machine's speed before and after the run (:func:`bench.machine.speed`, not
timed: a fixed workload that tells a slower VM from a slower tree). ``SUITE_WORKERS``
overrides the worker count (0: serial, as ``pytest`` alone).
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import machine

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "suite.json"
OUTPUT = ROOT / "bench" / "results" / "suite-output.txt"


def _cpu_ticks() -> tuple[int, int]:
    """(busy, idle) clock ticks of all cores since boot, from the first line of /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = fields[:8]
    return user + nice + system + irq + softirq + steal, idle + iowait


def _workers() -> int:
    """The Makefile's ``TEST_WORKERS`` default, unless ``SUITE_WORKERS`` is set."""
    if "SUITE_WORKERS" in os.environ:
        return int(os.environ["SUITE_WORKERS"])
    found = re.search(r"^TEST_WORKERS \?= (\d+)$", (ROOT / "Makefile").read_text(), re.M)
    if found is None:
        raise RuntimeError("Makefile has no TEST_WORKERS default")
    return int(found.group(1))


def main() -> dict[str, Any]:
    """Run the suite once as ``make test`` does; write and return the report."""
    workers = _workers()
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    if workers:
        cmd += ["-n", str(workers), "--dist", "loadfile", "--no-loadscope-reorder"]
    tick = os.sysconf("SC_CLK_TCK")
    speed_before = machine.speed()
    load = os.getloadavg()[0]
    busy0, idle0 = _cpu_ticks()
    started = time.monotonic()
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    busy1, idle1 = _cpu_ticks()
    speed_after = machine.speed()
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    counts = {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|error|skipped)", summary)}
    report = {
        "machine": f"{platform.node()} {os.cpu_count()} cores",
        "command": " ".join(["python", *cmd[1:]]),
        "workers": workers,
        "load_average_at_start": round(load, 2),
        "wall_s": round(wall, 1),
        "exit_status": run.returncode,
        "summary": summary,
        "tests": counts,
        "cpu_busy_core_s": round((busy1 - busy0) / tick, 1),
        "cpu_idle_core_s": round((idle1 - idle0) / tick, 1),
        "target_wall_s": 720,
        "machine_speed_before": speed_before,
        "machine_speed_after": speed_after,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(run.stdout + run.stderr)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    json.dump(main(), sys.stdout, indent=2)
