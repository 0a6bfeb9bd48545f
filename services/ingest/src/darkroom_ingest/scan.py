"""External-library scans: walk a library, then check its paths in batches shared by replicas.

1. ``darkroom.library.scan.requested`` (one replica, :func:`walk_library`): walk the import
   paths (:func:`darkroom_ingest.library.walk`, lazily) and publish the wanted files as
   ``darkroom.library.scan.batch`` messages of ``DARKROOM_LIBRARY_SCAN_BATCH`` paths; then the
   paths the library's assets already have (keyset pages), so that files gone since the last
   scan are found. Nothing of the tree is held in memory beyond one batch. A walk cut short by a
   crash is redelivered and publishes the same batches (same ids, de-duplicated by JetStream).
2. ``darkroom.library.scan.batch`` (every replica, a durable consumer's messages,
   :func:`check_paths`): for each path, import a new file (checksum, sniff, asset row with
   ``is_external``, ``library_id`` and the path as ``original_path``, then
   ``darkroom.asset.created`` in the same transaction through the outbox: the pipeline does
   the rest), re-read a changed one (mtime or sidecar differ, or a forced scan: its row is
   updated and ``asset.created`` published again under a new message id for the metadata
   step), take a missing or excluded one offline (``isOffline`` and the trash, as Immich) and
   bring a returned one back. A batch handled twice changes nothing more than once: a path is
   imported once per library (unique index, migration 0027).

The file watcher (:mod:`darkroom_ingest.watch`) publishes the same batches for changed paths.
"""

from __future__ import annotations

import os
import uuid
from collections import defaultdict
from datetime import UTC, datetime

import asyncpg
import structlog
from darkroom_bus import subscribe
from darkroom_db import assets, libraries
from darkroom_events import (
    AssetCreated,
    AssetsOffline,
    AssetsOnline,
    AssetsRestored,
    AssetsTrashed,
    LibraryScanBatch,
    LibraryScanRequested,
)
from darkroom_media import MediaError, MediaKind
from darkroom_media.sniff import sniff
from darkroom_runtime import Context
from darkroom_storage.blocking import iterate_in_thread

from darkroom_ingest.library import Exclusions, FileFacts, batches, file_facts, read_file, walk
from darkroom_ingest.settings import IngestSettings

log = structlog.get_logger()

#: ``deviceId`` of library assets (Immich's value for them).
LIBRARY_DEVICE_ID = "Library Import"


def _batch_size(ctx: Context) -> int:
    settings = ctx.settings
    return settings.library_scan_batch if isinstance(settings, IngestSettings) else 250


@subscribe(
    LibraryScanRequested,
    durable="ingest",
    max_deliver=10,  # a walk is idempotent: a crash mid-walk must not dead-letter it
    backoff=(5, 30),
    ack_wait=10.0,  # heartbeats keep a long walk alive; a killed walker's scan is back in ~10 s
    concurrency=1,
    skip_if_gone=False,
)
async def walk_library(event: LibraryScanRequested, ctx: Context) -> None:
    """Publish the batches of one scan (step 1 of the module docstring)."""
    library = await libraries.get(ctx.pool, uuid.UUID(event.library_id))
    if library is None:
        log.info("library.scan_skipped", library_id=event.library_id, reason="deleted")
        return
    size = _batch_size(ctx)
    exclusions = Exclusions(library.exclusion_patterns)
    files = batches(walk(library.import_paths, exclusions), size)
    index = 0
    found = 0

    async def send(paths: list[str]) -> None:
        nonlocal index
        await ctx.outbox.publish(
            LibraryScanBatch(
                library_id=event.library_id,
                scan_id=event.scan_id,
                index=index,
                paths=paths,
                force=event.force,
            )
        )
        index += 1

    async for batch in iterate_in_thread(files, "library-walk"):
        found += len(batch)
        await send(batch)
    async for known in libraries.iter_paths(ctx.pool, library.id, batch=size):
        await send(known)
    await libraries.mark_refreshed(ctx.pool, library.id)
    log.info(
        "library.walked",
        library_id=event.library_id,
        scan_id=event.scan_id,
        files=found,
        batches=index,
    )


def _changed(known: libraries.KnownFile, facts: FileFacts) -> bool:
    """Whether a known file is to be read again: its modification time or its sidecar changed.

    The size is not looked at, as Immich's library sync looks only at the file's mtime
    (``LibraryService``: a file whose content changed under an unchanged timestamp is not
    re-imported; its e2e "should not reimport a file with unchanged timestamp"); a forced scan
    (the ``library`` queue started with ``force``) reads every file again.
    """
    return known.file_modified_at != facts.modified or known.sidecar_path != facts.sidecar


async def _read(ctx: Context, path: str) -> tuple[bytes, MediaKind] | None:
    """The file's SHA-1 and media kind (one read, off the event loop); None, logged, when it
    cannot be read or is not a supported media file (it is then skipped, as Immich skips it)."""
    try:
        head, checksum = await ctx.run_blocking(read_file, path)
        return checksum, sniff(head, os.path.basename(path))
    except (OSError, MediaError) as exc:
        log.info("library.file_skipped", path=path, reason=str(exc))
        return None


async def _import(ctx: Context, library: libraries.Library, facts: FileFacts) -> None:
    read = await _read(ctx, facts.path)
    if read is None:
        return
    checksum, kind = read
    name = os.path.basename(facts.path)
    try:
        row = await _insert(ctx, library, facts, checksum, kind, name)
    except asyncpg.ForeignKeyViolationError:
        # the library (or its owner) was deleted while this batch ran: nothing to import into
        log.info("library.gone", library_id=str(library.id), path=facts.path)
        return
    if row is not None:
        log.info("library.imported", asset_id=str(row.id), library_id=str(library.id))


async def _insert(
    ctx: Context,
    library: libraries.Library,
    facts: FileFacts,
    checksum: bytes,
    kind: MediaKind,
    name: str,
) -> assets.Asset | None:
    async with ctx.outbox.transaction() as tx:
        row = await assets.insert_asset(
            tx.conn,
            assets.NewAsset(
                id=uuid.uuid4(),
                owner_id=library.owner_id,
                device_asset_id=name,
                device_id=LIBRARY_DEVICE_ID,
                type=kind.asset_type,
                original_path=facts.path,
                original_file_name=name,
                original_mime_type=kind.mime_type,
                checksum=checksum,
                file_size=facts.size,
                file_created_at=facts.modified,
                file_modified_at=facts.modified,
                sidecar_path=facts.sidecar,
            ),
            library_id=library.id,
        )
        if row is not None:
            await tx.add(AssetCreated.of(row))
    return row


async def _refresh(ctx: Context, known: libraries.KnownFile, facts: FileFacts) -> None:
    read = await _read(ctx, facts.path)
    if read is None:
        return
    checksum, kind = read
    async with ctx.outbox.transaction() as tx:
        row = await libraries.refresh_file(
            tx.conn,
            known.id,
            checksum=checksum,
            file_size=facts.size,
            file_modified_at=facts.modified,
            mime_type=kind.mime_type,
            sidecar_path=facts.sidecar,
        )
        if row is not None:  # a new message id: past the duplicate window of the first one
            stamp = f"{facts.modified.isoformat()}:{facts.size}:{checksum.hex()}"
            await tx.add(AssetCreated.of(row), msg_id=f"{AssetCreated.subject}:{row.id}:{stamp}")
    log.info("library.refreshed", asset_id=str(known.id))


async def _set_presence(ctx: Context, ids: list[uuid.UUID], *, online: bool) -> None:
    now = datetime.now(UTC)
    async with ctx.outbox.transaction() as tx:
        if online:
            changed = await libraries.set_online(tx.conn, ids)
        else:
            changed = await libraries.set_offline(tx.conn, ids)
        by_owner: dict[uuid.UUID, list[str]] = defaultdict(list)
        for asset_id, owner_id in changed:
            by_owner[owner_id].append(str(asset_id))
        for owner_id, asset_ids in by_owner.items():
            kinds = (AssetsOnline, AssetsRestored) if online else (AssetsOffline, AssetsTrashed)
            for kind in kinds:
                await tx.add(kind(owner_id=str(owner_id), asset_ids=asset_ids, at=now))
    if changed:
        log.info("library.online" if online else "library.offline", assets=len(changed))


@subscribe(
    LibraryScanBatch,
    durable="ingest",
    max_deliver=5,
    backoff=(1, 5, 30),
    ack_wait=10.0,
    concurrency=2,
    skip_if_gone=False,
)
async def check_paths(event: LibraryScanBatch, ctx: Context) -> None:
    """Bring the library's assets at ``event.paths`` in line with the files (step 2)."""
    library = await libraries.get(ctx.pool, uuid.UUID(event.library_id))
    if library is None:
        return
    exclusions = Exclusions(library.exclusion_patterns)
    paths = list(dict.fromkeys(event.paths))
    known = await libraries.known_files(ctx.pool, library.id, paths)
    offline: list[uuid.UUID] = []
    online: list[uuid.UUID] = []
    for path in paths:
        facts = await ctx.run_blocking(file_facts, path, library.import_paths, exclusions)
        asset = known.get(path)
        if facts is None:
            if asset is not None and not asset.is_offline:
                offline.append(asset.id)
            continue
        if asset is None:
            await _import(ctx, library, facts)
            continue
        if asset.is_offline:
            online.append(asset.id)
        if event.force or _changed(asset, facts):
            await _refresh(ctx, asset, facts)
    if offline:
        await _set_presence(ctx, offline, online=False)
    if online:
        await _set_presence(ctx, online, online=True)
