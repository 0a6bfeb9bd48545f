"""What every pipeline service shares: common settings, the worker context and the process runner.

A service's ``__main__`` is three lines::

    def main() -> None:
        run_service("thumbnail", ThumbnailSettings, handlers=[generate_thumbnails])
"""

from __future__ import annotations

from darkroom_runtime.context import Context
from darkroom_runtime.live_config import LiveConfig
from darkroom_runtime.outbox import CommitFault, Outbox, OutboxTransaction
from darkroom_runtime.runner import run_service, serve
from darkroom_runtime.settings import ServiceSettings

__all__ = [
    "CommitFault",
    "Context",
    "LiveConfig",
    "Outbox",
    "OutboxTransaction",
    "ServiceSettings",
    "run_service",
    "serve",
]
