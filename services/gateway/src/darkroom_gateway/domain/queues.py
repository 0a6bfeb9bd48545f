"""Jobs admin: Immich's queues API over Darkroom's JetStream consumers and dead letters.

Each Immich queue is one durable consumer of the DARKROOM stream (one per service and subject).
Its counts come from the consumer (waiting = pending in the stream, active = delivered and not yet
acknowledged, delayed = redelivered), the completed count from asset_job_status, and the failed
count and list from job_failures (the dead-letter table).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal

import msgspec
from darkroom_bus.handlers import consumer_name
from darkroom_db import assets, jobs
from darkroom_events import (
    AssetCreated,
    AssetMetadataExtracted,
    AssetThumbnailGenerated,
)
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from nats.js.errors import NotFoundError

from darkroom_gateway.auth import Auth
from darkroom_gateway.deps import Deps
from darkroom_gateway.domain.backups import backup_database_job
from darkroom_gateway.domain.memories import cleanup_memories, generate_memories
from darkroom_gateway.errors import BadRequest, NotFound


class QueueSpec(msgspec.Struct, frozen=True):
    """How an Immich queue maps onto Darkroom: consumer, subject, step and job name."""

    durable: str
    subject: str
    step: assets.Step
    job_name: str


#: Immich queue name -> Darkroom consumer. Queues of services not built yet are absent.
QUEUES: dict[str, QueueSpec] = {
    "metadataExtraction": QueueSpec(
        "metadata", AssetCreated.subject, "metadata_extracted", "AssetExtractMetadata"
    ),
    "thumbnailGeneration": QueueSpec(
        "thumbnail", AssetMetadataExtracted.subject, "thumbnail", "AssetGenerateThumbnails"
    ),
    "videoConversion": QueueSpec(
        "transcode", AssetMetadataExtracted.subject, "transcoded", "AssetEncodeVideo"
    ),
    "smartSearch": QueueSpec(
        "embedding", AssetThumbnailGenerated.subject, "embedding", "SmartSearch"
    ),
    "faceDetection": QueueSpec(
        "face", AssetThumbnailGenerated.subject, "faces", "AssetDetectFaces"
    ),
}


class QueueStatistics(msgspec.Struct, frozen=True):
    """Spec: QueueStatisticsDto."""

    active: int
    completed: int
    delayed: int
    failed: int
    paused: int
    waiting: int


class QueueResponse(msgspec.Struct, frozen=True, rename="camel"):
    """Spec: QueueResponseDto."""

    name: str
    is_paused: bool
    statistics: QueueStatistics


class QueueJobResponse(msgspec.Struct, frozen=True):
    """Spec: QueueJobResponseDto; ``data`` has the asset id, the error and the delivery count."""

    id: str
    name: str
    data: dict[str, object]
    timestamp: int


async def _queue(deps: Deps, name: str, spec: QueueSpec) -> QueueResponse:
    waiting = active = delayed = 0
    try:
        info = await deps.bus.js.consumer_info(
            deps.bus.stream_name, consumer_name(spec.durable, spec.subject)
        )
        waiting = info.num_pending or 0
        active = info.num_ack_pending or 0
        delayed = info.num_redelivered or 0
    except NotFoundError:
        pass  # the service has never run: nothing is queued for it yet
    return QueueResponse(
        name=name,
        is_paused=False,
        statistics=QueueStatistics(
            active=active,
            completed=await assets.count_steps_done(deps.pool, spec.step),
            delayed=delayed,
            failed=await jobs.count_failures(deps.pool, spec.durable),
            paused=0,
            waiting=waiting,
        ),
    )


#: Spec QueuesResponseLegacyDto: every Immich queue name, in the spec's order.
LEGACY_QUEUE_NAMES: tuple[str, ...] = (
    "backgroundTask",
    "backupDatabase",
    "duplicateDetection",
    "editor",
    "faceDetection",
    "facialRecognition",
    "integrityCheck",
    "library",
    "metadataExtraction",
    "migration",
    "notifications",
    "ocr",
    "search",
    "sidecar",
    "smartSearch",
    "storageTemplateMigration",
    "thumbnailGeneration",
    "videoConversion",
    "workflow",
)


class QueueStatusLegacy(msgspec.Struct, frozen=True, rename="camel"):
    """Spec: QueueStatusLegacyDto."""

    is_active: bool
    is_paused: bool


class QueueResponseLegacy(msgspec.Struct, frozen=True, rename="camel"):
    """Spec: QueueResponseLegacyDto."""

    job_counts: QueueStatistics
    queue_status: QueueStatusLegacy


async def legacy_queues(deps: Deps) -> dict[str, QueueResponseLegacy]:
    """Every Immich queue in the legacy shape: the counts of the Darkroom consumer behind it, or
    zeros for a queue no Darkroom service runs (yet)."""
    idle = QueueStatistics(active=0, completed=0, delayed=0, failed=0, paused=0, waiting=0)
    out: dict[str, QueueResponseLegacy] = {}
    for name in LEGACY_QUEUE_NAMES:
        spec = QUEUES.get(name)
        stats = (await _queue(deps, name, spec)).statistics if spec is not None else idle
        out[name] = QueueResponseLegacy(
            job_counts=stats,
            queue_status=QueueStatusLegacy(is_active=stats.active > 0, is_paused=False),
        )
    return out


def _spec(name: str) -> QueueSpec:
    spec = QUEUES.get(name)
    if spec is None:
        raise NotFound(f"Unknown queue {name!r}")
    return spec


class QueueController(Controller):
    """/api/queues (admin only)."""

    path = "/api/queues"

    @get("/", admin=True, permission="queue.read")
    async def get_queues(
        self, auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> list[QueueResponse]:
        """Every queue with its counts."""
        return [await _queue(deps, name, spec) for name, spec in QUEUES.items()]

    @get("/{name:str}", admin=True, permission="queue.read")
    async def get_queue(
        self, name: FromPath[str], auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> QueueResponse:
        """One queue with its counts."""
        return await _queue(deps, name, _spec(name))

    @get("/{name:str}/jobs", admin=True, permission="queueJob.read")
    async def get_queue_jobs(
        self,
        name: FromPath[str],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
        status: FromQuery[
            list[Literal["active", "failed", "completed", "delayed", "waiting", "paused"]] | None
        ] = None,
    ) -> list[QueueJobResponse]:
        """Jobs of a queue. Only ``status=failed`` lists jobs (the dead letters, newest first);
        the other states live inside JetStream and are only counted, by ``GET /api/queues``."""
        spec = _spec(name)
        wanted = set(status or ["failed"])
        if wanted - {"failed"}:
            raise BadRequest(
                "Only status=failed jobs can be listed; GET /api/queues counts the rest"
            )
        failures = await jobs.list_failures(deps.pool, durable=spec.durable, limit=1000)
        return [
            QueueJobResponse(
                id=str(f.id),
                name=spec.job_name,
                data={
                    "id": str(f.asset_id) if f.asset_id else None,
                    "error": f.error,
                    "deliveries": f.deliveries,
                    "permanent": f.permanent,
                },
                timestamp=int(f.created_at.timestamp() * 1000),
            )
            for f in failures
        ]


#: Spec: ManualJobName.
ManualJobName = Literal[
    "person-cleanup",
    "tag-cleanup",
    "user-cleanup",
    "memory-cleanup",
    "memory-create",
    "backup-database",
    "integrity-missing-files",
    "integrity-untracked-files",
    "integrity-checksum-mismatch",
    "integrity-missing-files-refresh",
    "integrity-untracked-files-refresh",
    "integrity-checksum-mismatch-refresh",
    "integrity-missing-files-delete-all",
    "integrity-untracked-files-delete-all",
    "integrity-checksum-mismatch-delete-all",
]


class JobCreate(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: JobCreateDto."""

    name: ManualJobName


async def _memory_create(deps: Deps) -> None:
    await generate_memories(deps, wait=True)  # after a daily run in progress, not instead


async def _memory_cleanup(deps: Deps) -> None:
    await cleanup_memories(deps)


#: ManualJobName -> what runs it (to completion, before ``POST /api/jobs`` answers). A job
#: not listed here is a valid name Darkroom does not run yet: 400 saying so.
MANUAL_JOBS: dict[str, Callable[[Deps], Awaitable[None]]] = {
    "memory-create": _memory_create,
    "memory-cleanup": _memory_cleanup,
    "backup-database": backup_database_job,
}


class JobController(Controller):
    """/api/jobs: the legacy queue routes and manual jobs (admin only)."""

    path = "/api/jobs"

    @get("/", admin=True, permission="job.read")
    async def get_queues_legacy(
        self, auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> dict[str, QueueResponseLegacy]:
        """Spec getQueuesLegacy: every queue's counts and status (QueuesResponseLegacyDto)."""
        return await legacy_queues(deps)

    @post("/", status_code=204, admin=True, permission="job.create")
    async def create_job(
        self, data: JSONBody[JobCreate], auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> None:
        """Spec createJob: run a manual job (:data:`MANUAL_JOBS`); it has finished when this
        answers (Immich queues it; running it here lets a client see its result at once).

        Raises:
            BadRequest: A job Darkroom does not run yet.
        """
        run = MANUAL_JOBS.get(data.name)
        if run is None:
            raise BadRequest(f"Job {data.name} is not supported by this server yet")
        await run(deps)


ROUTES = [QueueController, JobController]
