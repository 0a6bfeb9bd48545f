"""Face handlers: detect faces on an asset's preview, store them, recognise them into people;
run the "cluster new faces" pass when the nightly scheduler asks for it.

Plus the background loop of each replica: retry deferred faces, render missing person thumbnails.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

import asyncpg
import msgspec
import structlog
from darkroom_bus import PermanentError, subscribe
from darkroom_db import assets, people, smart_search
from darkroom_events import (
    AssetFacesDetected,
    AssetFacesRecognized,
    AssetThumbnailGenerated,
    PersonCreated,
    PersonThumbnailUpdated,
)
from darkroom_events.catalogue import FaceClusteringRequested
from darkroom_runtime import Context
from PIL import UnidentifiedImageError

from darkroom_face import cluster
from darkroom_face.detect import DetectedFace, crop_face_jpeg, detect_faces
from darkroom_face.models import FaceModel, load_face_model
from darkroom_face.settings import FaceSettings

log = structlog.get_logger()


def _settings(ctx: Context) -> FaceSettings:
    """The service's settings with the thresholds of the system config in force (read live:
    ``machineLearning.facialRecognition.minScore``/``maxDistance``/``minFaces``; the
    ``DARKROOM_DETECTION_MIN_SCORE``/``DARKROOM_RECOGNITION_*`` variables are their defaults)."""
    own = ctx.settings if isinstance(ctx.settings, FaceSettings) else FaceSettings()
    config = ctx.config.current.machine_learning.facial_recognition
    return msgspec.structs.replace(
        own,
        detection=msgspec.structs.replace(own.detection, min_score=config.min_score),
        recognition=msgspec.structs.replace(
            own.recognition, max_distance=config.max_distance, min_faces=config.min_faces
        ),
    )


def _model(ctx: Context) -> FaceModel:
    """The loaded detector, its ``min_score`` filter kept to the config in force (InsightFace
    also drops faces under the score it was loaded with, before that filter)."""
    detection = _settings(ctx).detection
    model = ctx.extra.get("face_model")
    if model is None:
        model = ctx.extra["face_model"] = load_face_model(detection)
    elif model.settings != detection:
        model.settings = detection
    return model


def person_thumbnail_key(owner_id: uuid.UUID, person_id: uuid.UUID) -> str:
    """``thumbs/<userId>/<ab>/<cd>/<personId>.jpeg`` (Immich's layout for person thumbnails)."""
    hex_id = person_id.hex
    return f"thumbs/{owner_id}/{hex_id[:2]}/{hex_id[2:4]}/{person_id}.jpeg"


async def store_faces(
    conn: asyncpg.Connection,
    asset_id: uuid.UUID,
    owner_id: uuid.UUID,
    faces: list[DetectedFace],
) -> list[uuid.UUID]:
    """Replace the detected faces of asset ``asset_id`` with ``faces`` (inside the caller's
    transaction); the new faces' ids, in ``faces`` order. A face the user soft-deleted stays,
    and a detection on its place is not stored again (:func:`people.replace_faces`)."""
    return await people.replace_faces(
        conn,
        asset_id=asset_id,
        owner_id=owner_id,
        faces=[
            people.NewFace(
                image_width=f.image_width,
                image_height=f.image_height,
                x1=f.x1,
                y1=f.y1,
                x2=f.x2,
                y2=f.y2,
                score=f.score,
                embedding=f.embedding,
            )
            for f in faces
        ],
    )


@subscribe(
    AssetThumbnailGenerated,
    durable="face",
    ack_wait=10.0,
    max_deliver=5,
    backoff=(1, 5, 30),
    concurrency=2,
)
async def detect_and_recognize(event: AssetThumbnailGenerated, ctx: Context) -> None:
    """Detect the faces on the preview, replace the asset's faces, recognise the new ones.

    Idempotent: a re-run replaces the asset's machine-detected faces (manual ones stay, and so
    do soft-deleted ones a detection still finds: the user's deletion holds, as in Immich).

    Raises:
        PermanentError: The preview cannot be decoded.
        darkroom_bus.Gone: The asset was deleted (the runner acks quietly).
    """
    asset_id = uuid.UUID(event.asset_id)
    asset = await ctx.asset(asset_id)
    if event.type != "IMAGE":
        log.info("face.skipped", asset_id=event.asset_id, reason="not an image")
        await assets.mark_step_done(ctx.pool, asset_id, "faces")
        return
    started = time.perf_counter()
    settings = _settings(ctx)
    model = _model(ctx)
    data = await ctx.storage.get_bytes(event.preview_key)
    original = (asset.width, asset.height) if asset.width and asset.height else None
    try:
        faces = await ctx.run_blocking(detect_faces, data, model, original_size=original)
    except (UnidentifiedImageError, OSError) as exc:
        raise PermanentError(f"preview cannot be decoded: {exc}") from exc
    async with ctx.outbox.transaction() as tx:
        face_ids = await store_faces(tx.conn, asset_id, asset.owner_id, faces)
        await assets.mark_step_done(tx.conn, asset_id, "faces")
        await tx.add(
            AssetFacesDetected(
                asset_id=event.asset_id, owner_id=event.owner_id, face_count=len(faces)
            )
        )
    results = [
        await cluster.recognize_face(ctx.pool, face_id, settings.recognition)
        for face_id in face_ids
    ]
    outcomes = [r.outcome.value for r in results]
    for result in results:
        await publish_person_created(ctx, result)
    await publish_asset_people(ctx, asset_id, asset.owner_id)
    await render_person_thumbnails(ctx, asset.owner_id)
    log.info(
        "face.detected",
        asset_id=event.asset_id,
        faces=len(faces),
        outcomes=outcomes,
        ms=round((time.perf_counter() - started) * 1000, 1),
    )


async def publish_person_created(ctx: Context, result: cluster.Result) -> None:
    """Publish PersonCreated when ``result`` started a new person."""
    if result.outcome is not cluster.Outcome.CREATED or result.person_id is None:
        return
    assert result.owner_id is not None
    await ctx.outbox.publish(
        PersonCreated(
            person_id=str(result.person_id),
            owner_id=str(result.owner_id),
            face_id=str(result.face_id) if result.face_id else None,
            asset_id=str(result.asset_id) if result.asset_id else None,
        )
    )


async def publish_asset_people(ctx: Context, asset_id: uuid.UUID, owner_id: uuid.UUID) -> None:
    """Publish AssetFacesRecognized: the people ``asset_id`` shows now, and its faces without."""
    faces = await people.asset_faces(ctx.pool, owner_id, asset_id)
    await ctx.outbox.publish(
        AssetFacesRecognized(
            asset_id=str(asset_id),
            owner_id=str(owner_id),
            person_ids=sorted({str(p.id) for _, p in faces if p is not None}),
            unassigned=sum(1 for f, _ in faces if f.person_id is None),
        )
    )


async def publish_later_result(ctx: Context, result: cluster.Result) -> None:
    """``on_result`` of the retry loop and the nightly pass: PersonCreated for a new person and
    AssetFacesRecognized for an asset whose face found a person after its detection."""
    await publish_person_created(ctx, result)
    if (
        result.outcome in (cluster.Outcome.ASSIGNED, cluster.Outcome.CREATED)
        and result.asset_id is not None
        and result.owner_id is not None
    ):
        await publish_asset_people(ctx, result.asset_id, result.owner_id)


async def render_person_thumbnails(ctx: Context, owner_id: uuid.UUID | None = None) -> int:
    """Render the thumbnail of every person whose feature face has none yet, and announce each
    one stored (``darkroom.person.thumbnail.updated``: the websocket's ``on_person_thumbnail``).

    Returns:
        How many thumbnails were stored.
    """
    done = 0
    size = _settings(ctx).thumbnail_size
    for person in await people.people_needing_thumbnails(ctx.pool, owner_id):
        assert person.face_asset_id is not None
        face = await people.get_face_for_worker(ctx.pool, person.face_asset_id)
        if face is None:
            continue
        preview = await people.asset_preview_for_worker(ctx.pool, face.asset_id)
        if preview is None:
            continue
        try:
            data = await ctx.storage.get_bytes(preview[0])
            jpeg = await ctx.run_blocking(
                crop_face_jpeg,
                data,
                (
                    face.bounding_box_x1,
                    face.bounding_box_y1,
                    face.bounding_box_x2,
                    face.bounding_box_y2,
                ),
                (face.image_width, face.image_height),
                size=size,
            )
        except Exception as exc:  # noqa: BLE001 - one bad preview must not stop the others
            log.warning("face.thumbnail_failed", person_id=str(person.id), error=str(exc))
            continue
        key = person_thumbnail_key(person.owner_id, person.id)
        await ctx.storage.put(key, jpeg, content_type="image/jpeg")
        if await people.set_thumbnail_path(ctx.pool, person.id, face.id, key):
            done += 1
            rendered = PersonThumbnailUpdated(
                person_id=str(person.id),
                owner_id=str(person.owner_id),
                face_id=str(face.id),
                thumbnail_key=key,
                at=datetime.now(UTC),
            )
            try:
                await ctx.outbox.publish(rendered)
            except Exception as exc:  # noqa: BLE001 - the thumbnail stands; a live update is lost
                log.warning(
                    "face.thumbnail_publish_failed", person_id=str(person.id), error=str(exc)
                )
    return done


async def background(ctx: Context, stop: asyncio.Event | None = None) -> None:
    """Each replica's loop: retry deferred faces (and unmatched ones requeued because a person
    formed near them) and render missing person thumbnails; publishes PersonCreated /
    AssetFacesRecognized for what they change. Runs until cancelled or ``stop`` is set. (The
    nightly "cluster new faces" pass is not timed here but asked for by the gateway's scheduler:
    :func:`cluster_requested`.)"""
    settings = _settings(ctx).recognition
    if settings.sweep_interval_s <= 0:
        return

    async def on_result(result: cluster.Result) -> None:
        await publish_later_result(ctx, result)

    while stop is None or not stop.is_set():
        await asyncio.sleep(settings.sweep_interval_s)
        settings = _settings(ctx).recognition  # the thresholds of the config in force now
        try:
            await cluster.retry_deferred(ctx.pool, settings, on_result=on_result)
            await render_person_thumbnails(ctx)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the loop must survive a bad round
            log.warning("face.sweep_failed", error=str(exc))


@subscribe(
    FaceClusteringRequested,
    durable="face",
    ack_wait=60.0,
    max_deliver=3,
    backoff=(30, 300),
    concurrency=1,
    skip_if_gone=False,
)
async def cluster_requested(event: FaceClusteringRequested, ctx: Context) -> None:
    """Run "cluster new faces" over every owner's faces without a person (Immich's nightly
    facial recognition), then render the new people's thumbnails.

    One face replica gets each request (the durable consumer is shared by the replicas); the
    pass is idempotent (a second run only retries the faces still without a person), and it
    publishes PersonCreated / AssetFacesRecognized for what it changes. A long pass keeps the
    message with in-progress heartbeats (every ``ack_wait / 3`` s).
    """
    started = time.perf_counter()
    settings = _settings(ctx).recognition

    async def on_result(result: cluster.Result) -> None:
        await publish_later_result(ctx, result)

    counts = await cluster.cluster_new_faces(ctx.pool, settings, on_result=on_result)
    thumbnails = await render_person_thumbnails(ctx)
    log.info(
        "face.clustering_done",
        requested_at=event.requested_at.isoformat(),
        reason=event.reason,
        thumbnails=thumbnails,
        ms=round((time.perf_counter() - started) * 1000, 1),
        **{k.value: v for k, v in counts.items()},
    )


async def setup(ctx: Context) -> None:
    """Load the model once, fit face_search to its descriptor size, start the background loop."""
    model = _model(ctx)
    await ctx.run_blocking(model.load)
    await smart_search.set_model_status(
        ctx.pool, task="facial-recognition", model=model.name, ready=True, dim=model.dims
    )  # the gateway reports facialRecognition from this (GET /api/server/features)
    if await people.ensure_face_dimension(ctx.pool, model.dims):
        log.warning(
            "face.model_changed",
            model=model.name,
            dims=model.dims,
            action="faces reset; run missing face detection",
        )
    ctx.extra["background"] = asyncio.get_running_loop().create_task(background(ctx))
