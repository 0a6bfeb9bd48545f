"""Jobs admin: Immich's queues API over Darkroom's JetStream consumers and dead letters.

Each Immich queue is one durable consumer of the DARKROOM stream (one per service and subject).
Its counts come from the consumer (waiting = pending in the stream, active = delivered and not yet
acknowledged, delayed = redelivered), the completed count from asset_job_status, and the failed
count and list from job_failures (the dead-letter table). While the consumer is paused, what is
pending counts as ``paused`` and ``waiting`` is 0, as BullMQ counts a paused queue (a job added
to it goes to its paused list, not to wait): Immich's e2e ``waitForQueueFinish`` waits for
``active`` and ``waiting`` to be 0 with a queue paused on purpose (jobs.e2e-spec.ts).

Commands (``PUT /api/jobs/{name}``, ``PUT /api/queues/{name}``, ``DELETE .../jobs``):

- **start** re-publishes the queue's step to its consumer only, on the consumer's re-run subject
  (:func:`darkroom_bus.handlers.replay_subject`, docs/events.md "Re-runs") with the payload the
  original event had and a message id holding a run id. ``force=false`` ("missing"): the open
  dead letters of the queue (marked retried) and every asset whose ``asset_job_status`` lacks the
  step; ``force=true`` ("all"): every asset (not trashed, deleted or offline). Smart search and
  face detection start only once their service reports its model ready (``ml_model_status``)
  and the system config enables them: assets embedded by no model stay "missing" for later.
- **pause / resume / empty**: :mod:`darkroom_bus.queues` (JetStream consumer pause; empty
  recreates the consumer after the stream's last message). **clear-failed** deletes the queue's
  dead letters.

Queues no consumer runs pause and resume too, as Immich pauses any BullMQ queue: their state is
one member of the ``system_metadata`` document :data:`darkroom_db.system_metadata.QUEUE_STATE`
(so it outlives a restart and every gateway replica sees it). A ``start`` of a paused one is
kept there as the job waiting in it (counted as paused) and runs when the queue is
resumed; ``empty`` drops it. ``PUT /api/queues/backgroundTask`` ``{"isPaused": true}`` is 400,
as Immich's ``QueueService.update`` answers.

The ``name`` of every route is validated against QueueName as Immich's ``QueueNameParamDto``
(zod): an unknown one is 400 ``Validation failed`` with an ``invalid_value`` issue.

Queues another part of Darkroom runs (face clustering, storage template migration, library
scans, database backups, integrity checks) are one line of :data:`STARTED_QUEUES`: a coroutine
``async def start(deps, force) -> None``.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Literal

import msgspec
import structlog
from darkroom_bus import queues as bus_queues
from darkroom_bus.handlers import consumer_name, replay_subject
from darkroom_db import assets, jobs, reruns, smart_search, system_metadata, tags
from darkroom_events import (
    AssetCreated,
    AssetMetadataExtracted,
    AssetThumbnailGenerated,
    Event,
)
from darkroom_events.catalogue import AssetType
from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import FromPath, FromQuery, JSONBody
from nats.js.errors import NotFoundError

from darkroom_gateway.auth import Auth
from darkroom_gateway.deps import Deps
from darkroom_gateway.domain import backups, integrity, libraries, storage_template
from darkroom_gateway.domain.backups import backup_database_job
from darkroom_gateway.domain.faces import start_face_clustering
from darkroom_gateway.domain.memories import cleanup_memories, generate_memories
from darkroom_gateway.domain.trash import require_owned
from darkroom_gateway.errors import BadRequest

log = structlog.get_logger()

#: ``async def start(deps, force) -> None``: how a queue run by other code starts.
StartFn = Callable[[Deps, bool], Awaitable[None]]
#: Builds the event a consumer takes from an asset row; None when the row cannot make one.
EventBuilder = Callable[[reruns.RerunAsset], Event | None]


def _orientation(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() else None


def _extracted(a: reruns.RerunAsset) -> Event:
    return AssetMetadataExtracted(
        asset_id=str(a.id),
        owner_id=str(a.owner_id),
        type=a.type,  # type: ignore[arg-type]
        original_key=a.original_path,
        mime_type=a.original_mime_type,
        width=a.width,
        height=a.height,
        orientation=_orientation(a.orientation),
        captured_at=a.captured_at,
    )


def _thumbnailed(a: reruns.RerunAsset) -> Event | None:
    if a.preview_path is None or a.thumbnail_path is None:
        return None
    kind: AssetType = a.type  # type: ignore[assignment]
    return AssetThumbnailGenerated(
        asset_id=str(a.id),
        owner_id=str(a.owner_id),
        type=kind,
        preview_key=a.preview_path,
        thumbnail_key=a.thumbnail_path,
        preview_width=a.preview_width or 0,
        preview_height=a.preview_height or 0,
    )


class QueueSpec(msgspec.Struct, frozen=True):
    """How an Immich queue maps onto Darkroom: consumer, subject, step and job name, and how
    its jobs are re-published (:func:`start_queue`).

    Attributes:
        durable: The service whose consumer runs the queue.
        subject: The event that consumer takes.
        step: The ``asset_job_status`` step it records.
        job_name: Immich's JobName of one of its jobs.
        build: The event re-published for one asset (the payload its consumer takes).
        needs: The step whose output is this step's input (None: the original suffices).
        videos_only: Only videos have this step.
        model_task: ``ml_model_status`` task that must be ready before any job is sent (None:
            no model needed).
    """

    durable: str
    subject: str
    step: assets.Step
    job_name: str
    build: EventBuilder
    needs: assets.Step | None = None
    videos_only: bool = False
    model_task: str | None = None

    @property
    def consumer(self) -> str:
        """The JetStream durable consumer name."""
        return consumer_name(self.durable, self.subject)


#: Immich queue name -> Darkroom consumer. Queues of services not built yet are absent.
QUEUES: dict[str, QueueSpec] = {
    "metadataExtraction": QueueSpec(
        "metadata",
        AssetCreated.subject,
        "metadata_extracted",
        "AssetExtractMetadata",
        AssetCreated.of,
    ),
    "thumbnailGeneration": QueueSpec(
        "thumbnail",
        AssetMetadataExtracted.subject,
        "thumbnail",
        "AssetGenerateThumbnails",
        _extracted,
        needs="metadata_extracted",
    ),
    "videoConversion": QueueSpec(
        "transcode",
        AssetMetadataExtracted.subject,
        "transcoded",
        "AssetEncodeVideo",
        _extracted,
        needs="metadata_extracted",
        videos_only=True,
    ),
    "smartSearch": QueueSpec(
        "embedding",
        AssetThumbnailGenerated.subject,
        "embedding",
        "SmartSearch",
        _thumbnailed,
        needs="thumbnail",
        model_task="clip",
    ),
    "faceDetection": QueueSpec(
        "face",
        AssetThumbnailGenerated.subject,
        "faces",
        "AssetDetectFaces",
        _thumbnailed,
        needs="thumbnail",
        model_task="facial-recognition",
    ),
}

#: Immich queue name -> the coroutine that starts it, for queues run by other code than a
#: pipeline consumer (``"facialRecognition": start_clustering``). ``force`` is the request's.
#: They show in the lists with zero counts; paused, a start waits for the resume
#: (:func:`_defer_start`).
STARTED_QUEUES: dict[str, StartFn] = {
    "facialRecognition": start_face_clustering,
    "storageTemplateMigration": storage_template.start,
    "backupDatabase": backups.start,
    "library": libraries.start,
    "integrityCheck": integrity.start,
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


async def _queue(
    deps: Deps, name: str, spec: QueueSpec | None, parked: dict[str, object] | None = None
) -> QueueResponse:
    """One queue's counts. ``parked``: the stored state of a queue without consumer, when the
    caller read it already (every queue of a list in one query); None reads it."""
    if spec is None:  # run by a coroutine (STARTED_QUEUES) or not at all: only a paused flag
        state = parked if parked is not None else await _parked_state(deps, name)
        return _parked_queue(name, state)
    state = await bus_queues.state(deps.bus, spec.consumer)
    return QueueResponse(
        name=name,
        is_paused=state.paused,
        statistics=QueueStatistics(
            active=state.active,
            completed=await assets.count_steps_done(deps.pool, spec.step),
            delayed=state.delayed,
            failed=await jobs.count_failures(deps.pool, spec.durable),
            paused=state.waiting if state.paused else 0,
            waiting=0 if state.paused else state.waiting,
        ),
    )


_IDLE = QueueStatistics(active=0, completed=0, delayed=0, failed=0, paused=0, waiting=0)
#: A paused queue without consumer holding a start (one job, counted as paused only).
_HELD = QueueStatistics(active=0, completed=0, delayed=0, failed=0, paused=1, waiting=0)


async def _parked_states(deps: Deps) -> dict[str, dict[str, object]]:
    """The stored state of every queue without consumer, by name (absent: running, idle)."""
    return await system_metadata.get(deps.pool, system_metadata.QUEUE_STATE) or {}


async def _parked_state(deps: Deps, name: str) -> dict[str, object]:
    state = (await _parked_states(deps)).get(name)
    return state if isinstance(state, dict) else {}


def _parked_queue(name: str, state: dict[str, object]) -> QueueResponse:
    paused = bool(state.get("isPaused"))
    held = paused and isinstance(state.get("pendingStart"), dict)
    return QueueResponse(name=name, is_paused=paused, statistics=_HELD if held else _IDLE)


async def _defer_start(deps: Deps, name: str, force: bool) -> bool:
    """Keep a start of the paused queue ``name`` for its resume, as a job added to a paused
    BullMQ queue waits (one start at most: a second one with ``force`` makes it forced).

    Returns:
        True when the queue is paused (the start waits), False when it should run now.
    """

    def hold(old: dict[str, object] | None) -> dict[str, object] | None:
        if not old or not old.get("isPaused"):
            return old
        pending = old.get("pendingStart")
        was_forced = isinstance(pending, dict) and bool(pending.get("force"))
        return {**old, "pendingStart": {"force": force or was_forced}}

    old = await system_metadata.update_member(deps.pool, system_metadata.QUEUE_STATE, name, hold)
    return bool(old and old.get("isPaused"))


async def _pause_parked(deps: Deps, name: str) -> None:
    await system_metadata.update_member(
        deps.pool, system_metadata.QUEUE_STATE, name, lambda old: {**(old or {}), "isPaused": True}
    )


async def _resume_parked(deps: Deps, name: str) -> None:
    """Resume queue ``name`` (no consumer); the start it held runs now."""
    old = await system_metadata.update_member(
        deps.pool, system_metadata.QUEUE_STATE, name, lambda _: None
    )
    pending = (old or {}).get("pendingStart")
    started = STARTED_QUEUES.get(name)
    if isinstance(pending, dict) and started is not None:
        log.info("jobs.deferred_start", queue=name, force=bool(pending.get("force")))
        await started(deps, bool(pending.get("force")))


async def _empty_parked(deps: Deps, name: str) -> None:
    """Drop the start a paused queue without consumer holds (its waiting job)."""

    def drop(old: dict[str, object] | None) -> dict[str, object] | None:
        return {k: v for k, v in old.items() if k != "pendingStart"} if old else old

    await system_metadata.update_member(deps.pool, system_metadata.QUEUE_STATE, name, drop)


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


#: Spec QueueName, in its order: what ``GET /api/queues`` lists, as Immich's queue service
#: ``getAll`` lists every value of its QueueName enum.
QUEUE_NAMES: tuple[str, ...] = (
    "thumbnailGeneration",
    "metadataExtraction",
    "videoConversion",
    "faceDetection",
    "facialRecognition",
    "smartSearch",
    "duplicateDetection",
    "backgroundTask",
    "storageTemplateMigration",
    "migration",
    "search",
    "sidecar",
    "library",
    "notifications",
    "backupDatabase",
    "ocr",
    "workflow",
    "integrityCheck",
    "editor",
)


def _legacy(response: QueueResponse) -> QueueResponseLegacy:
    stats = response.statistics
    return QueueResponseLegacy(
        job_counts=stats,
        queue_status=QueueStatusLegacy(is_active=stats.active > 0, is_paused=response.is_paused),
    )


async def legacy_queues(deps: Deps) -> dict[str, QueueResponseLegacy]:
    """Every Immich queue in the legacy shape: the counts of the Darkroom consumer behind it, or
    zeros for a queue no Darkroom service runs (yet)."""
    parked = await _parked_states(deps)
    return {
        name: _legacy(await _queue(deps, name, QUEUES.get(name), parked.get(name, {})))
        for name in LEGACY_QUEUE_NAMES
    }


#: Zod 4's message for a value not in an enum (Immich validates ``name`` with a zod enum).
_INVALID_NAME = "Invalid option: expected one of " + "|".join(f'"{n}"' for n in QUEUE_NAMES)


def _spec(name: str) -> QueueSpec | None:
    """The consumer behind queue ``name``, or None for an Immich queue that no Darkroom
    consumer runs (answered with its paused flag, zero counts and no jobs, as an idle queue).

    Raises:
        ValidationException: Not an Immich queue name (400 ``Validation failed``, the zod
            ``invalid_value`` issue Immich's ``QueueNameParamDto`` answers).
    """
    if name not in QUEUE_NAMES:
        raise ValidationException(
            detail=_INVALID_NAME,
            extra=[{"key": "name", "code": "invalid_value", "message": _INVALID_NAME}],
        )
    return QUEUES.get(name)


async def _model_ready(deps: Deps, spec: QueueSpec) -> bool:
    """Whether the queue's service can do its work: its model is loaded (``ml_model_status``)
    and the system config enables it. Always True for a queue without a model."""
    if spec.model_task is None:
        return True
    ml = deps.config.current.machine_learning
    enabled = ml.enabled and (
        ml.clip.enabled if spec.model_task == "clip" else ml.facial_recognition.enabled
    )
    status = await smart_search.get_model_status(deps.pool, spec.model_task)
    return enabled and status is not None and status.ready


async def start_queue(
    deps: Deps, name: str, *, force: bool, ids: list[uuid.UUID] | None = None
) -> int:
    """Re-run queue ``name``'s step: Immich's "missing" (``force=false``) or "all" (``true``).

    Each asset's event is re-published on the consumer's re-run subject, so only that consumer
    runs it again, with the message id ``<re-run subject>:<asset id>:<run id>`` (a new run id per
    call gets past JetStream's duplicate window; within one call an asset goes once, even when it
    is both a dead letter and missing). Assets are read and published in batches, one outbox
    transaction each (:mod:`darkroom_db.reruns`).

    Args:
        deps: The gateway's connections.
        name: A key of :data:`QUEUES` or :data:`STARTED_QUEUES`.
        force: Every asset (True) or only those missing the step (False; it also retries the
            queue's open dead letters, marking them retried).
        ids: Only these assets (asset jobs, always forced); None for the whole library.

    Returns:
        Jobs published (0 when the queue's model is not ready).
    """
    started = STARTED_QUEUES.get(name)
    if started is not None:
        if await _defer_start(deps, name, force):
            log.info("jobs.start_deferred", queue=name, force=force, reason="queue paused")
        else:
            await started(deps, force)
        return 0
    spec = QUEUES[name]
    if not await _model_ready(deps, spec):
        log.info("jobs.start_skipped", queue=name, reason="model not ready or disabled")
        return 0
    run_id = uuid.uuid4().hex[:12]
    target = replay_subject(spec.durable, spec.subject)
    published = retried = 0
    if not force and ids is None:
        retried = await _retry_dead_letters(deps, spec, target, run_id)
    async for batch in reruns.targets(
        deps.pool,
        spec.step,
        missing=not force,
        needs=spec.needs,
        videos_only=spec.videos_only,
        ids=ids,
    ):
        async with deps.outbox.transaction() as tx:
            for row in batch:
                event = spec.build(row)
                if event is None:
                    continue
                await tx.add(event, subject=target, msg_id=f"{target}:{row.id}:{run_id}")
                published += 1
    log.info(
        "jobs.started",
        queue=name,
        force=force,
        run_id=run_id,
        published=published,
        retried=retried,
        assets=len(ids) if ids is not None else None,
    )
    return published + retried


async def _retry_dead_letters(deps: Deps, spec: QueueSpec, target: str, run_id: str) -> int:
    """Re-publish each open dead letter of the queue to its consumer and mark it retried (one
    transaction per batch: the row leaves the failed list exactly when its job is queued; a new
    failure is a new row). A payload that no longer decodes stays a dead letter."""
    decoder = msgspec.json.Decoder(_event_type(spec))
    after = 0
    count = 0
    while failures := await jobs.open_failures_after(deps.pool, spec.durable, after=after):
        after = failures[-1].id
        async with deps.outbox.transaction() as tx:
            done: list[int] = []
            for failure in failures:
                try:
                    event = decoder.decode(failure.payload)
                except msgspec.DecodeError:
                    continue
                key = getattr(event, "asset_id", None) or f"failure-{failure.id}"
                await tx.add(event, subject=target, msg_id=f"{target}:{key}:{run_id}")
                done.append(failure.id)
            await jobs.mark_retried(tx.conn, done)
            count += len(done)
    return count


def _event_type(spec: QueueSpec) -> type[Event]:
    return {
        AssetCreated.subject: AssetCreated,
        AssetMetadataExtracted.subject: AssetMetadataExtracted,
        AssetThumbnailGenerated.subject: AssetThumbnailGenerated,
    }[spec.subject]


async def run_missing_sweep(deps: Deps) -> None:
    """Start "missing" for every queue (the nightly missing-steps sweep, issue #15 item 4).

    Queues whose model is not ready are skipped (:func:`start_queue`); the coroutine-run queues
    (:data:`STARTED_QUEUES`) are not started here. One queue failing does not stop the rest.

    Args:
        deps: The gateway's connections.
    """
    for name in QUEUES:
        try:
            await start_queue(deps, name, force=False)
        except Exception as exc:  # noqa: BLE001 - the next queue, and the next night, go on
            log.warning("jobs.sweep_failed", queue=name, error=f"{type(exc).__name__}: {exc}")


async def run_command(deps: Deps, name: str, command: QueueCommand, *, force: bool) -> None:
    """Carry out one QueueCommand on queue ``name`` (see the module docstring).

    Raises:
        ValidationException: An unknown queue name.
        BadRequest: A start of a queue Darkroom does not run, or a command on a consumer whose
            service has never run.
    """
    spec = _spec(name)
    if command == "start":
        if spec is None and name not in STARTED_QUEUES:
            raise BadRequest(f"Queue {name} is not supported by this server yet")
        await start_queue(deps, name, force=force)
        return
    if spec is None:  # no consumer: a paused flag (and a held start) in system_metadata
        if command == "pause":
            await _pause_parked(deps, name)
        elif command == "resume":
            await _resume_parked(deps, name)
        elif command == "empty":
            await _empty_parked(deps, name)
        log.info("jobs.command", queue=name, command=command)
        return
    if command == "clear-failed":
        cleared = await jobs.clear_failures(deps.pool, spec.durable)
        log.info("jobs.failed_cleared", queue=name, cleared=cleared)
        return
    try:
        if command == "pause":
            await bus_queues.pause(deps.bus, spec.consumer)
        elif command == "resume":
            await bus_queues.resume(deps.bus, spec.consumer)
        else:
            dropped = await bus_queues.empty(deps.bus, spec.consumer)
            log.info("jobs.emptied", queue=name, dropped=dropped)
    except NotFoundError as exc:
        raise BadRequest(f"Queue {name} has no consumer yet (its service never ran)") from exc
    log.info("jobs.command", queue=name, command=command)


class QueueController(Controller):
    """/api/queues (admin only)."""

    path = "/api/queues"

    @get("/", admin=True, permission="queue.read")
    async def get_queues(
        self, auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> list[QueueResponse]:
        """Every Immich queue with its counts (zeros for one no Darkroom consumer runs)."""
        parked = await _parked_states(deps)
        return [
            await _queue(deps, name, QUEUES.get(name), parked.get(name, {})) for name in QUEUE_NAMES
        ]

    @get("/{name:str}", admin=True, permission="queue.read")
    async def get_queue(
        self, name: FromPath[str], auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> QueueResponse:
        """One queue with its counts."""
        return await _queue(deps, name, _spec(name))

    @put("/{name:str}", admin=True, permission="queue.update")
    async def update_queue(
        self,
        name: FromPath[str],
        data: JSONBody[QueueUpdate],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> QueueResponse:
        """Spec updateQueue: pause (``isPaused: true``) or resume (``false``) a queue.

        Raises:
            BadRequest: Pausing ``backgroundTask`` (Immich's ``QueueService.update``).
        """
        spec = _spec(name)
        if data.is_paused is True and name == "backgroundTask":
            raise BadRequest("The BackgroundTask queue cannot be paused")
        if data.is_paused is not None:
            await run_command(deps, name, "pause" if data.is_paused else "resume", force=False)
        return await _queue(deps, name, spec)

    @delete("/{name:str}/jobs", status_code=204, admin=True, permission="queueJob.delete")
    async def empty_queue(
        self,
        name: FromPath[str],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
        data: JSONBody[QueueDelete | None] = None,
    ) -> None:
        """Spec emptyQueue: drop the jobs waiting in a queue; ``failed: true`` also deletes its
        failed jobs (dead letters)."""
        await run_command(deps, name, "empty", force=False)
        if data is not None and data.failed:
            await run_command(deps, name, "clear-failed", force=False)

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
        the other states live inside JetStream and are only counted, by ``GET /api/queues``.
        A queue no Darkroom consumer runs has no jobs."""
        spec = _spec(name)
        wanted = set(status or ["failed"])
        if wanted - {"failed"}:
            raise BadRequest(
                "Only status=failed jobs can be listed; GET /api/queues counts the rest"
            )
        if spec is None:
            return []
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


#: Spec: QueueCommand.
QueueCommand = Literal["start", "pause", "resume", "empty", "clear-failed"]


class QueueCommandBody(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: QueueCommandDto."""

    command: QueueCommand
    force: bool | None = None


class QueueUpdate(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: QueueUpdateDto."""

    is_paused: bool | None = None


class QueueDelete(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: QueueDeleteDto."""

    failed: bool | None = None


#: Spec AssetJobName -> the queue that runs it for the chosen assets.
ASSET_JOB_QUEUES: dict[str, str] = {
    "refresh-metadata": "metadataExtraction",
    "regenerate-thumbnail": "thumbnailGeneration",
    "transcode-video": "videoConversion",
    "refresh-faces": "faceDetection",
}


class AssetJobs(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: AssetJobsDto."""

    asset_ids: list[uuid.UUID]
    name: Literal["refresh-faces", "refresh-metadata", "regenerate-thumbnail", "transcode-video"]


class AssetJobController(Controller):
    """POST /api/assets/jobs: re-run one step for chosen assets (any user, own assets)."""

    path = "/api/assets/jobs"

    @post("/", status_code=204, permission="job.create")
    async def run_asset_jobs(
        self, data: JSONBody[AssetJobs], auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> None:
        """Spec runAssetJobs: the step of ``name`` runs again for each asset (as Immich, which
        requires ``asset.update`` on every id), whatever ran before; only that step's consumer
        runs it (:func:`start_queue` with ``ids``).

        Raises:
            NoAccess: An id is unknown or not the caller's.
        """
        await require_owned(deps, auth, data.asset_ids, "asset.update")
        if data.asset_ids:
            await start_queue(deps, ASSET_JOB_QUEUES[data.name], force=True, ids=data.asset_ids)


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


async def _tag_cleanup(deps: Deps) -> None:
    """Immich's ``handleTagCleanup``: delete the tags no asset carries, itself or below it."""
    deleted = await tags.delete_empty(deps.pool)
    log.info("tags.cleaned", deleted=deleted)


#: ManualJobName -> what runs it (to completion, before ``POST /api/jobs`` answers). A job
#: not listed here is a valid name Darkroom does not run yet: 400 saying so.
MANUAL_JOBS: dict[str, Callable[[Deps], Awaitable[None]]] = {
    "memory-create": _memory_create,
    "memory-cleanup": _memory_cleanup,
    "tag-cleanup": _tag_cleanup,
    "backup-database": backup_database_job,
    **integrity.MANUAL_JOBS,
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

    @put("/{name:str}", admin=True, permission="job.create")
    async def run_queue_command_legacy(
        self,
        name: FromPath[str],
        data: JSONBody[QueueCommandBody],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> QueueResponseLegacy:
        """Spec runQueueCommandLegacy: start ("missing", or "all" with ``force``), pause,
        resume, empty or clear the failed jobs of a queue; its counts after the command."""
        await run_command(deps, name, data.command, force=bool(data.force))
        return _legacy(await _queue(deps, name, _spec(name)))

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


ROUTES = [QueueController, JobController, AssetJobController]
