"""Loading the CLIP image encoder and batching previews from concurrent handlers into one
inference call. No NATS imports: the handlers drive it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import structlog
from darkroom_ml import ClipModel, ModelType
from numpy.typing import NDArray

log = structlog.get_logger()

Runner = Callable[..., Awaitable[object]]


@dataclass
class _Job:
    image: bytes
    future: asyncio.Future[NDArray[np.float32]]


@dataclass
class Embedder:
    """Collects previews from many handlers and embeds them in batches.

    Each :meth:`embed` call queues one image; one loop takes up to ``batch_size`` images (waiting
    at most ``batch_wait_s`` after the first for more) and runs one inference call in the worker
    threads. An image that breaks its batch (undecodable) fails alone: the batch is retried one
    image at a time.

    Attributes:
        model: The loaded CLIP model (visual encoder).
        run_blocking: ``ctx.run_blocking``: runs a blocking call in the service's thread pool.
        batch_size: Most images per inference call.
        batch_wait_s: Seconds to wait for a batch to fill.
    """

    model: ClipModel
    run_blocking: Runner
    batch_size: int = 16
    batch_wait_s: float = 0.02
    _queue: asyncio.Queue[_Job] = field(default_factory=asyncio.Queue)
    _task: asyncio.Task[None] | None = None
    batches: int = 0

    def start(self) -> None:
        """Start the batching loop on the running event loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="embedder")

    async def stop(self) -> None:
        """Stop the loop; queued images fail with CancelledError."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def close(self) -> None:
        """Stop once the images already queued are embedded (a model swap: handlers waiting on
        this embedder get their result; new ones use the new embedder)."""
        await self._queue.join()
        await self.stop()

    async def embed(self, image: bytes) -> NDArray[np.float32]:
        """The L2-normalised ``(D,)`` embedding of one encoded image (JPEG preview).

        Raises:
            PIL.UnidentifiedImageError / OSError / ValueError: The image cannot be decoded.
        """
        self.start()
        fut: asyncio.Future[NDArray[np.float32]] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Job(image, fut))
        return await fut

    async def _loop(self) -> None:
        while True:
            jobs = [await self._queue.get()]
            deadline = time.monotonic() + self.batch_wait_s
            while len(jobs) < self.batch_size:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    jobs.append(await asyncio.wait_for(self._queue.get(), remaining))
                except TimeoutError:
                    break
            try:
                await self._run(jobs)
            finally:
                for _ in jobs:
                    self._queue.task_done()

    async def _run(self, jobs: list[_Job]) -> None:
        started = time.perf_counter()
        try:
            out = await self.run_blocking(self.model.encode_images, [j.image for j in jobs])
        except Exception as exc:
            if len(jobs) == 1:
                if not jobs[0].future.done():
                    jobs[0].future.set_exception(exc)
                return
            for job in jobs:  # isolate the image that broke the batch
                await self._run([job])
            return
        assert isinstance(out, np.ndarray)
        self.batches += 1
        for job, row in zip(jobs, out, strict=True):
            if not job.future.done():
                job.future.set_result(row)
        log.info(
            "embedding.batch",
            size=len(jobs),
            ms=round((time.perf_counter() - started) * 1000, 1),
        )


def load_visual(
    model_dir: Path, providers: list[str] | None, threads: int, batch: int
) -> ClipModel:
    """Load only the image encoder of the CLIP model at ``model_dir`` (blocking)."""
    return ClipModel.load(
        model_dir, providers, types=(ModelType.VISUAL,), batch_size=batch, threads=threads
    )
