"""Root pytest configuration: real-server fixtures come from the darkroom_stack plugin, and the
test modules run longest first.

``make test`` runs the suite on several pytest-xdist workers, a whole module per worker
(``--dist loadfile``: a module's stack starts once). Handing out the longest modules first
(the longest-processing-time rule) keeps one long module from starting last and running alone
at the end. The order comes from ``test-durations.json``: each module's wall time, in seconds,
from a serial run of the suite on the 2-core development machine; a module not in it counts
as :data:`UNKNOWN_MODULE_S`. Refresh it with ``python -m tests.durations`` after a serial run
with ``--junitxml``.

The suite starts dozens of PostgreSQL clusters, several at once; each gets PostgreSQL's default
128 MB of shared buffers (``DARKROOM_POSTGRES_SHARED_BUFFERS``) instead of the quarter of the
machine the embedded stack gives its one cluster
(:func:`darkroom_stack.servers.postgres_memory_settings`), whose bookkeeping alone is ~150 MB
resident per cluster on a 24 GB machine.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

pytest_plugins = ["darkroom_stack.testing"]

os.environ.setdefault("DARKROOM_POSTGRES_SHARED_BUFFERS", "128MB")

#: Seconds assumed for a test module missing from ``test-durations.json`` (a new one).
UNKNOWN_MODULE_S = 10.0

DURATIONS = Path(__file__).parent / "test-durations.json"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Order the modules by their recorded wall time, longest first; a module's own tests keep
    their order (the sort is stable)."""
    try:
        seconds: dict[str, float] = json.loads(DURATIONS.read_text())
    except (OSError, ValueError):
        return
    items.sort(key=lambda item: -seconds.get(item.nodeid.split("::")[0], UNKNOWN_MODULE_S))
