"""Metadata handlers: read EXIF/XMP/video metadata of a new asset and store it; name the place
of a location the owner edited."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg
import structlog
from darkroom_bus import PermanentError, subscribe
from darkroom_db import assets, exif, people, stacks, tags
from darkroom_events import (
    AssetCreated,
    AssetFacesRecognized,
    AssetHidden,
    AssetMetadataExtracted,
    AssetUpdated,
    Event,
    PersonCreated,
    StackCreated,
    StackUpdated,
)
from darkroom_media import MediaError
from darkroom_runtime import Context

from darkroom_metadata import motion, motion_link, stacking
from darkroom_metadata.extract import ExtractedMetadata, extract_metadata

log = structlog.get_logger()

#: EXIF orientations whose display swaps width and height (TIFF 6.0 / EXIF 2.32, tag 0x0112).
_TRANSPOSED = {5, 6, 7, 8}


def exif_row(meta: ExtractedMetadata, file_size: int, file_modified_at: datetime) -> exif.Exif:
    """Map extracted metadata to the asset_exif row.

    ``modify_date`` is the original's modification time (the upload's ``fileModifiedAt``), not
    the EXIF ModifyDate: Immich stores ``modifyDate: stats.mtime`` (metadata.service
    ``handleMetadataExtraction``), and its upload sets the file's mtime to ``fileModifiedAt``.
    """
    return exif.Exif(
        make=meta.make,
        model=meta.model,
        lens_model=meta.lens_model,
        exif_image_width=meta.width,
        exif_image_height=meta.height,
        file_size_in_byte=file_size,
        orientation=str(meta.orientation) if meta.orientation else None,
        date_time_original=meta.date_time_original,
        modify_date=file_modified_at,
        time_zone=meta.time_zone,
        latitude=meta.latitude,
        longitude=meta.longitude,
        city=meta.city,
        state=meta.state,
        country=meta.country,
        description=meta.description or "",
        rating=meta.rating,
        projection_type=meta.projection_type,
        f_number=meta.f_number,
        focal_length=meta.focal_length,
        iso=meta.iso,
        exposure_time=meta.exposure_time,
        live_photo_cid=meta.live_photo_cid,
        fps=meta.fps,
        duration_s=meta.duration,
        video_codec=meta.video_codec,
        audio_codec=meta.audio_codec,
        bitrate=meta.bitrate,
        rotation=meta.rotation,
    )


def displayed_size(meta: ExtractedMetadata) -> tuple[int | None, int | None]:
    """(width, height) as shown, i.e. after EXIF orientation."""
    if meta.orientation in _TRANSPOSED:
        return meta.height, meta.width
    return meta.width, meta.height


async def link_live_photo(
    conn: asyncpg.Connection, asset: assets.Asset, cid: str
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Pair a live photo's still and motion video by their Apple ContentIdentifier.

    Whichever half arrives second links them: the still's ``live_photo_video_id`` is set to the
    video and the video is hidden from the timeline
    (:func:`darkroom_db.assets.set_live_photo_video`).
    Only assets of the same owner pair. Run inside the transaction that stored the EXIF row.

    Returns:
        The (still, video) pairs linked: each video is now hidden (the caller announces it,
        ``darkroom.asset.hidden``, once the transaction is committed).
    """
    if asset.type == "VIDEO":
        stills = await assets.live_photo_partners(conn, asset.owner_id, asset.id, cid, "IMAGE")
        pairs = [(still, asset.id) for still in stills]
    elif asset.type == "IMAGE":
        videos = await assets.live_photo_partners(conn, asset.owner_id, asset.id, cid, "VIDEO")
        pairs = [(asset.id, videos[0])] if videos else []
    else:
        return []
    linked = []
    for still, video in pairs:
        if await assets.set_live_photo_video(conn, asset.owner_id, still, video):
            log.info("metadata.live_photo_linked", asset_id=str(still), video_id=str(video))
            linked.append((still, video))
    return linked


async def import_tags(conn: asyncpg.Connection, asset: assets.Asset, paths: list[str]) -> None:
    """Give the asset its file's keywords as its owner's tags (parents created).

    Additive and idempotent: tags the asset has already (added by its owner, or by an earlier
    delivery) stay. Immich replaces an asset's tags on extraction because it writes the
    owner's tag edits into the sidecar first; Darkroom does not write sidecars, so replacing
    would lose those edits. Paths are upserted in sorted order so that concurrent extractions
    lock shared parents in the same order.

    Args:
        conn: Connection inside the extraction's transaction.
        asset: The asset.
        paths: Tag paths (``A/B/C``) from :func:`darkroom_metadata.keywords.tag_paths`.
    """
    leaves = await tags.upsert_paths(conn, asset.owner_id, sorted(paths))
    await tags.add_assets(conn, [(tag.id, asset.id) for tag in leaves])


async def import_faces(
    conn: asyncpg.Connection, asset: assets.Asset, regions: list[people.TaggedFace]
) -> list[Event]:
    """Store the faces the file names as the owner's people (``sourceType: exif``), as
    Immich's metadata extraction with the system config's ``metadata.faces.import`` on
    (:func:`darkroom_db.people.import_tagged_faces`). Run inside the extraction's transaction.

    Returns:
        The events to publish once committed: ``darkroom.person.created`` for each new person,
        then ``darkroom.asset.faces.recognized`` (the people the asset shows) when its tagged
        faces changed; nothing on a redelivery.
    """
    imported = await people.import_tagged_faces(
        conn,
        asset_id=asset.id,
        owner_id=asset.owner_id,
        faces=regions,
    )
    owner = str(asset.owner_id)
    events: list[Event] = [
        PersonCreated(
            person_id=str(person_id), owner_id=owner, face_id=str(face_id), asset_id=str(asset.id)
        )
        for person_id, face_id in imported.created
    ]
    if imported.changed:
        faces = await people.asset_faces(conn, asset.owner_id, asset.id, unlocked=True)
        events.append(
            AssetFacesRecognized(
                asset_id=str(asset.id),
                owner_id=owner,
                person_ids=sorted({str(p.id) for _, p in faces if p is not None}),
                unassigned=sum(1 for f, _ in faces if f.person_id is None),
            )
        )
        log.info(
            "metadata.faces_imported",
            asset_id=str(asset.id),
            faces=len(regions),
            people_created=len(imported.created),
        )
    return events


async def auto_stack(
    conn: asyncpg.Connection, asset: assets.Asset, meta: ExtractedMetadata
) -> Event | None:
    """Stack the asset with the others of its group (RAW+JPEG pair, burst) when the group is
    complete (:mod:`darkroom_metadata.stacking`). Run inside the extraction's transaction.

    Whichever asset of a group is processed last stacks it; a lock on the group's key
    serialises two members processed at once, and a group already stacked is left alone, so a
    redelivery changes nothing.

    Returns:
        The event to publish once committed (``darkroom.stack.created``/``updated``), or None.
    """
    key = stacking.stack_key(asset.original_file_name, meta.date_time_original, meta.burst_id)
    if key is None:
        return None
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
        f"auto-stack:{asset.owner_id}:{key}",
    )
    group = await stacks.auto_group(conn, asset.owner_id, asset.id, key)
    members = [
        stacking.Member(id=str(i), file_name=name, stack_id=str(s) if s else None)
        for i, name, s in group
    ]
    todo = stacking.plan(key, members)
    if todo is None:
        return None
    owner = str(asset.owner_id)
    if todo.stack_id is not None:
        stack_id = uuid.UUID(todo.stack_id)
        await stacks.add_assets(conn, asset.owner_id, stack_id, [uuid.UUID(i) for i in todo.join])
        if todo.primary is not None:
            await stacks.set_primary(conn, asset.owner_id, stack_id, uuid.UUID(todo.primary))
        log.info("metadata.stack_joined", stack_id=todo.stack_id, assets=len(todo.join))
        return StackUpdated(stack_id=todo.stack_id, owner_id=owner, at=datetime.now(UTC))
    made = await stacks.create(conn, asset.owner_id, [uuid.UUID(i) for i in todo.join])
    log.info("metadata.stacked", stack_id=str(made.stack.id), key=key, assets=len(todo.join))
    return StackCreated(
        stack_id=str(made.stack.id),
        owner_id=owner,
        primary_asset_id=str(made.stack.primary_asset_id),
        asset_ids=[str(a) for a in made.stack.asset_ids],
    )


@subscribe(
    AssetCreated,
    durable="metadata",
    ack_wait=10.0,
    max_deliver=5,
    backoff=(1, 5, 30),
    concurrency=4,
)
async def extract_asset_metadata(event: AssetCreated, ctx: Context) -> None:
    """Extract and store an asset's metadata and, in the same transaction, its
    asset.metadata.extracted (the outbox publishes it after the commit).

    Idempotent: the EXIF row is upserted and the step timestamp overwritten on redelivery.

    A metadata failure of a file that still decodes (a corrupt EXIF block, unreadable XMP) does
    not stop the pipeline: what can be read is stored (size, dimensions, the upload's file
    dates as capture time), the failure is recorded in ``job_failures`` without marking the
    asset failed (:meth:`Context.record_problem`), and ``asset.metadata.extracted`` is
    published so thumbnails, faces and smart search go on.

    Raises:
        PermanentError: The original cannot be decoded at all (the asset is marked failed).
        darkroom_bus.Gone: The asset was deleted (the runner acks quietly).
    """
    asset_id = uuid.UUID(event.asset_id)
    asset = await ctx.asset(asset_id)
    # The row's sidecar key: the storage template may have moved it since the event was sent.
    sidecar_key = asset.sidecar_path or event.sidecar_key
    sidecar = (await ctx.storage.get_bytes(sidecar_key)) if sidecar_key else None
    async with ctx.original_file(event.asset_id, event.original_key) as path:
        try:
            meta = await ctx.run_blocking(
                extract_metadata,
                path,
                mime_type=event.mime_type,
                sidecar=sidecar,
                # the capture time of last resort: Immich's getDates falls back on the earliest
                # of the asset's file creation and modification times
                file_modified_at=min(event.file_created_at, event.file_modified_at),
                # system config reverseGeocoding.enabled, read live (DARKROOM_REVERSE_GEOCODING
                # is its default; the data is loaded at start only when that is on)
                geocoder=ctx.extra.get("geocoder")
                if ctx.config.current.reverse_geocoding.enabled
                else None,
                exiftool=ctx.extra.get("exiftool"),
            )
        except MediaError as exc:
            raise PermanentError(str(exc)) from exc
        # a motion photo's video, once: a still already linked (a redelivery) is not read again
        embedded = (
            await ctx.run_blocking(
                motion.extract_video,
                path,
                event.mime_type,
                ctx.extra.get("exiftool"),
                meta.motion_tags,  # read with the metadata: one ExifTool call per file
            )
            if asset.type == "IMAGE" and asset.live_photo_video_id is None
            else None
        )
    motion_key = (
        await motion_link.store_motion_video(ctx, asset, embedded)
        if isinstance(embedded, bytes)
        else None
    )
    if isinstance(embedded, motion.NotExtracted):
        log.warning("metadata.motion_not_extracted", asset_id=event.asset_id, error=embedded.reason)
        await ctx.record_problem(event, f"motion photo video not extracted: {embedded.reason}")
    if meta.metadata_error:
        log.warning("metadata.partial", asset_id=event.asset_id, error=meta.metadata_error)
        await ctx.record_problem(event, meta.metadata_error)
    width, height = displayed_size(meta)
    local = meta.local_date_time.replace(tzinfo=UTC) if meta.local_date_time else None
    duration_ms = round(meta.duration * 1000) if meta.duration is not None else None
    async with ctx.outbox.transaction() as tx:
        conn = tx.conn
        if meta.live_photo_cid:
            # serialise the two halves of a live photo so whichever commits second sees the first
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                f"live-photo:{asset.owner_id}:{meta.live_photo_cid}",
            )
        await exif.upsert_exif(
            conn, asset_id, asset.owner_id, exif_row(meta, asset.file_size, asset.file_modified_at)
        )
        hidden = (
            await link_live_photo(conn, asset, meta.live_photo_cid) if meta.live_photo_cid else []
        )
        motion_events: list[Event] = []
        unused_key = None
        if isinstance(embedded, bytes) and motion_key is not None:
            motion_events, unused_key = await motion_link.link_motion_video(
                conn, asset, embedded, motion_key
            )
        if meta.tags:
            await import_tags(conn, asset, meta.tags)
        face_events = (
            await import_faces(conn, asset, meta.faces)
            if meta.faces and ctx.config.current.metadata.faces.import_
            else []
        )
        await assets.update_from_metadata(
            conn,
            asset_id,
            local_date_time=local,
            file_created_at=meta.date_time_original,
            width=width,
            height=height,
            duration_ms=duration_ms,
        )
        stacked = (
            await auto_stack(conn, asset, meta)
            if getattr(ctx.settings, "auto_stack", False)
            else None
        )
        await assets.mark_step_done(conn, asset_id, "metadata_extracted")
        if stacked is not None:
            await tx.add(stacked)
        for motion_event in motion_events:
            await tx.add(motion_event)
        for face_event in face_events:
            await tx.add(face_event)
        for still, video in hidden:
            await tx.add(
                AssetHidden(asset_id=str(video), owner_id=str(asset.owner_id), still_id=str(still))
            )
        await tx.add(
            AssetMetadataExtracted(
                asset_id=event.asset_id,
                owner_id=event.owner_id,
                type=event.type,
                original_key=event.original_key,
                mime_type=event.mime_type,
                width=meta.width,
                height=meta.height,
                orientation=meta.orientation,
                captured_at=meta.date_time_original,
            )
        )
    if unused_key is not None:  # the owner had this video already: it was linked instead
        await ctx.storage.delete(unused_key)
    log.info(
        "metadata.extracted",
        asset_id=event.asset_id,
        make=meta.make,
        model=meta.model,
        city=meta.city,
        captured_at=str(meta.date_time_original),
        tags=len(meta.tags or []),
    )


@subscribe(
    AssetUpdated,
    durable="metadata",
    ack_wait=10.0,
    max_deliver=5,
    backoff=(1, 5, 30),
    concurrency=2,
)
async def geocode_edited_location(event: AssetUpdated, ctx: Context) -> None:
    """Reverse-geocode a location the owner edited (PUT /api/assets) into city/state/country.

    The edit clears the place (:func:`darkroom_db.assets.edit_exif`) and locks the location, so
    extraction re-runs keep it; this names the new place with the geocoder extraction uses
    (Immich re-runs its metadata extraction after an edit, which geocodes the locked location).
    Any other edit (favorite, description...) finds a place already named and does nothing. When
    a place is named, ``darkroom.asset.updated`` is published again so clients show it (that
    delivery finds the place set and stops there).

    Idempotent; the place is stored only if the location is still the one geocoded (a later
    edit names its own).
    """
    geocoder = ctx.extra.get("geocoder")
    if geocoder is None:  # reverse geocoding is off or its data failed to load
        return
    asset_id = uuid.UUID(event.asset_id)
    location = await exif.location_without_place(ctx.pool, asset_id)
    if location is None:
        return
    latitude, longitude = location
    place = await ctx.run_blocking(geocoder.place, latitude, longitude)
    if place is None:  # nowhere known near (e.g. at sea): no place, as extraction
        return
    stored = await exif.set_place(
        ctx.pool,
        asset_id,
        latitude=latitude,
        longitude=longitude,
        city=place.city,
        state=place.state,
        country=place.country,
    )
    if not stored:
        return
    await ctx.outbox.publish(
        AssetUpdated(asset_id=event.asset_id, owner_id=event.owner_id, at=datetime.now(UTC))
    )
    log.info("metadata.place_named", asset_id=event.asset_id, city=place.city)
