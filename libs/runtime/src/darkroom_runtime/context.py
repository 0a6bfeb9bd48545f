"""The context handed to every event handler: the service's connections and a thread pool."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import tempfile
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, ParamSpec, TypeVar

import asyncpg
from darkroom_bus import Bus
from darkroom_storage import Storage

from darkroom_runtime.settings import ServiceSettings

P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class Context:
    """Dependencies of handlers, made once per process by :func:`darkroom_runtime.run_service`.

    Attributes:
        service: The service's name (its durable consumer name).
        settings: The service's settings (a subclass of :class:`ServiceSettings`).
        bus: Connected bus, for publishing the next event.
        pool: Database pool.
        storage: Object storage.
        executor: Threads for blocking work; sized by ``settings.workers``.
        extra: Service-specific long-lived objects (models, geocoder...).
    """

    service: str
    settings: ServiceSettings
    bus: Bus
    pool: asyncpg.Pool
    storage: Storage
    executor: ThreadPoolExecutor
    extra: dict[str, Any] = field(default_factory=dict)

    async def run_blocking(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run CPU-bound or blocking ``fn`` in the worker threads, keeping context vars
        (structlog's bound asset id, the current trace span)."""
        ctx = contextvars.copy_context()
        call = functools.partial(ctx.run, fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self.executor, call)

    @contextlib.asynccontextmanager
    async def local_file(self, key: str) -> AsyncIterator[Path]:
        """A local path holding object ``key``, for libraries that read files (exiv2, PyAV...).

        On the filesystem back end this is the stored file itself (no copy; read it, never
        write it); on S3 the object is streamed to a temporary file that is removed afterwards.

        Raises:
            darkroom_storage.NotFound: No object at ``key``.
        """
        path = self.storage.local_path(key)
        if path is not None:
            if not path.is_file():
                from darkroom_storage import NotFound

                raise NotFound(key)
            yield path
            return
        scratch = getattr(self.settings, "scratch_dir", "") or None
        with tempfile.TemporaryDirectory(prefix=f"darkroom-{self.service}-", dir=scratch) as tmp:
            local = Path(tmp) / f"original{PurePosixPath(key).suffix}"
            await self.storage.download_to(key, local)
            yield local
