"""The storage template applied: originals move to ``library/<label>/<template>.<ext>``.

Two entry points, both in ingest (the service that places originals):

- :func:`apply_template`, a consumer of ``darkroom.asset.metadata.extracted``: once an upload's
  capture date is known, its original moves to its templated key (when
  ``storageTemplate.enabled``);
- :func:`run_migration`, a consumer of ``darkroom.storage_template.migration.requested``
  (Immich's ``storageTemplateMigration`` job): every managed original, streamed in pages of
  :data:`MIGRATION_PAGE` assets, moves to its templated key; assets already there are left.

A move (:func:`move_asset`) never leaves a moment without the file and survives a crash at any
point (Immich keeps a ``move_history`` table for the same reason): under the asset's advisory
lock, (1) the intent is committed (``asset_moves``, which reserves the new key), (2) the
original and its sidecar are copied (a hard link on the filesystem, a server-side copy on S3)
and, with ``hashVerificationEnabled``, the copy's SHA-1 is checked against the asset's
checksum, (3) the asset row is switched to the new keys, (4) the old objects are deleted and
the intent forgotten. A crash leaves an intent row; :func:`recover` (run at start-up, before
each move of that asset and at the start of a migration) rolls it back when step 3 had not
happened (deletes the copies) or finishes it when it had (deletes the old objects). Readers that
got the old key retry once with the asset's current one
(:meth:`darkroom_runtime.Context.original_file`, the gateway's ``serve_original``).

External-library assets (``is_external``) and keys outside ``upload/`` and ``library/`` never
move. Turning the template off moves nothing back (Immich leaves files where they are).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid

import asyncpg
import structlog
from darkroom_bus import subscribe
from darkroom_db import storage_template as moves
from darkroom_events import AssetMetadataExtracted, StorageTemplateMigrationRequested
from darkroom_runtime import Context
from darkroom_storage import NotFound
from darkroom_storage.template import (
    Template,
    TemplateAsset,
    TemplateError,
    already_placed,
    candidate_keys,
    compile_template,
    library_root,
    render_key,
)

log = structlog.get_logger()

#: Assets one migration page reads (keyset pagination by id).
MIGRATION_PAGE = 200
#: Moves a migration runs at once (each holds one database connection).
MIGRATION_CONCURRENCY = 3
#: Collision suffixes tried before a move gives up (``+1`` .. ``+9999``).
MAX_SUFFIX = 9999
#: Managed key prefixes: only originals under these move.
MANAGED_PREFIXES = ("upload/", "library/")


def _template(ctx: Context, raw: str) -> Template:
    """The compiled template, cached per text in ``ctx.extra`` (compiled once per change)."""
    cached = ctx.extra.get("storage_template")
    if isinstance(cached, Template) and cached.raw == raw:
        return cached
    template = compile_template(raw)
    ctx.extra["storage_template"] = template
    return template


async def _sha1(ctx: Context, key: str) -> bytes:
    digest = hashlib.sha1(usedforsecurity=False)
    async with await ctx.storage.open(key) as stream:
        async for chunk in stream:
            digest.update(chunk)
    return digest.digest()


async def _delete(ctx: Context, *keys: str | None) -> None:
    for key in keys:
        if key:
            await ctx.storage.delete(key)


async def _recover_locked(ctx: Context, conn: asyncpg.Connection, asset_id: uuid.UUID) -> None:
    """Finish or roll back what a crash left of ``asset_id``'s move (its lock is held)."""
    for move in await moves.pending_moves(conn, asset_id):
        current = (await moves.current_original_paths(conn, [asset_id])).get(asset_id)
        if current == move.new_path:  # switched: only the old objects remain to go
            await _delete(ctx, move.old_path, move.old_sidecar_path)
            outcome = "finished"
        elif current is None:  # deleted meanwhile: neither key belongs to anyone
            await _delete(
                ctx, move.new_path, move.new_sidecar_path, move.old_path, move.old_sidecar_path
            )
            outcome = "dropped"
        else:  # never switched: the copies go, the asset stays where it is
            await _delete(ctx, move.new_path, move.new_sidecar_path)
            outcome = "rolled_back"
        await moves.forget_move(conn, asset_id)
        log.info("storage_template.recovered", asset_id=str(asset_id), outcome=outcome)


async def recover(ctx: Context, asset_id: uuid.UUID | None = None) -> int:
    """Finish or roll back the moves a crash left (all, or ``asset_id``'s).

    A move whose lock another live process holds is in progress, not abandoned: it is skipped.

    Returns:
        How many moves were settled.
    """
    settled = 0
    for move in await moves.pending_moves(ctx.pool, asset_id):
        async with ctx.pool.acquire() as conn:
            if not await moves.try_lock_asset(conn, move.asset_id):
                continue
            try:
                await _recover_locked(ctx, conn, move.asset_id)
                settled += 1
            finally:
                await moves.unlock_asset(conn, move.asset_id)
    return settled


async def move_asset(
    ctx: Context, row: moves.TemplateRow, template: Template, *, verify: bool
) -> str | None:
    """Move one asset's original (and sidecar) to its templated key (see the module docstring).

    Args:
        ctx: The service context.
        row: The asset (may be stale: it is read again under the lock).
        template: The compiled storage template.
        verify: ``hashVerificationEnabled``: check the copy's SHA-1 before switching.

    Returns:
        The new key, or None when the asset stays (external, unmanaged key, already in place,
        path outside the user's folder, another mover at work, gone, or a failed check).

    Raises:
        TemplateError: The template uses a token without a value.
        StorageError / asyncpg errors: infrastructure failures; the intent row stays and the
            next attempt settles it first.
    """
    if row.is_external or not row.original_path.startswith(MANAGED_PREFIXES):
        return None
    async with ctx.pool.acquire() as conn:
        if not await moves.try_lock_asset(conn, row.id):
            log.info("storage_template.busy", asset_id=str(row.id))
            return None
        try:
            await _recover_locked(ctx, conn, row.id)
            fresh = await moves.template_row(conn, row.id)
            if fresh is None or fresh.is_external:
                return None
            return await _move_locked(ctx, conn, fresh, template, verify)
        finally:
            await moves.unlock_asset(conn, row.id)


async def _move_locked(
    ctx: Context,
    conn: asyncpg.Connection,
    row: moves.TemplateRow,
    template: Template,
    verify: bool,
) -> str | None:
    started = time.perf_counter()
    album = await moves.album_of(conn, row.owner_id, row.id) if template.needs_album else None
    asset = TemplateAsset(
        asset_id=str(row.id),
        type=row.type,
        original_file_name=row.original_file_name,
        current_key=row.original_path,
        captured=row.local_date_time,
        album=album.name if album else None,
        album_start=album.start if album else None,
        album_end=album.end if album else None,
    )
    rendered = render_key(template, asset, library_root(str(row.owner_id), row.storage_label))
    if rendered is None:
        log.warning("storage_template.invalid_path", asset_id=str(row.id))
        return None
    base, ext = rendered
    if already_placed(row.original_path, base, ext):
        return None
    move: moves.Move | None = None
    for n, key in enumerate(candidate_keys(base, ext)):
        if n > MAX_SUFFIX:
            log.error("storage_template.no_free_key", asset_id=str(row.id))
            return None
        if await ctx.storage.exists(key):  # an object the database does not know of
            continue
        candidate = moves.Move(
            asset_id=row.id,
            old_path=row.original_path,
            new_path=key,
            old_sidecar_path=row.sidecar_path,
            new_sidecar_path=f"{key}.xmp" if row.sidecar_path else None,
        )
        if await moves.reserve_move(conn, candidate):
            move = candidate
            break
    assert move is not None
    try:
        await ctx.storage.copy(move.old_path, move.new_path)
        if move.old_sidecar_path and move.new_sidecar_path:
            try:
                await ctx.storage.copy(move.old_sidecar_path, move.new_sidecar_path)
            except NotFound:  # the sidecar is gone: the original moves alone
                move = moves.Move(
                    asset_id=move.asset_id, old_path=move.old_path, new_path=move.new_path
                )
                await moves.drop_sidecar(conn, move.asset_id)
        if verify and await _sha1(ctx, move.new_path) != row.checksum:
            log.error("storage_template.checksum_mismatch", asset_id=str(row.id))
            await _recover_locked(ctx, conn, row.id)
            return None
        if not await moves.switch_asset(conn, move):  # deleted or moved meanwhile
            await _recover_locked(ctx, conn, row.id)
            return None
    except NotFound:  # the original itself is gone (deleted meanwhile)
        await _recover_locked(ctx, conn, row.id)
        return None
    await _delete(ctx, move.old_path, move.old_sidecar_path)
    await moves.forget_move(conn, row.id)
    log.info(
        "storage_template.moved",
        asset_id=str(row.id),
        suffixed=move.new_path != f"{base}.{ext}",
        ms=round((time.perf_counter() - started) * 1000, 1),
    )
    return move.new_path


@subscribe(
    AssetMetadataExtracted,
    durable="ingest",
    ack_wait=10.0,
    max_deliver=5,
    backoff=(1, 5, 30),
    concurrency=2,
)
async def apply_template(event: AssetMetadataExtracted, ctx: Context) -> None:
    """Move a new asset's original to its templated key once its capture date is known, when
    ``storageTemplate.enabled`` (read live). Idempotent: an asset already at its key stays.

    Raises:
        StorageError / asyncpg errors: retried by the bus (the move settles itself first).
    """
    config = ctx.config.current.storage_template
    if not config.enabled:
        return
    try:
        template = _template(ctx, config.template)
    except TemplateError as exc:
        await ctx.record_problem(event, f"invalid storage template: {exc}")
        return
    row = await moves.template_row(ctx.pool, uuid.UUID(event.asset_id))
    if row is None:
        return
    await move_asset(ctx, row, template, verify=config.hash_verification_enabled)


@subscribe(
    StorageTemplateMigrationRequested,
    durable="ingest",
    ack_wait=10.0,
    max_deliver=5,
    backoff=(5, 30, 60),
    concurrency=1,
    skip_if_gone=False,
)
async def run_migration(event: StorageTemplateMigrationRequested, ctx: Context) -> None:
    """Move every managed original to its templated key (Immich's storage template migration).

    Skipped when the template is off. Settles what a crash left first, then streams the assets
    in id order, :data:`MIGRATION_PAGE` at a time, :data:`MIGRATION_CONCURRENCY` moves at once.
    A killed run comes back (the message is redelivered) and starts over: assets already in
    place are passed over, so it completes.

    Raises:
        StorageError / asyncpg errors: retried by the bus.
    """
    config = (await ctx.config.reload()).storage_template
    if not config.enabled:
        log.info("storage_template.migration_skipped", run_id=event.run_id, reason="disabled")
        return
    try:
        template = _template(ctx, config.template)
    except TemplateError as exc:
        await ctx.record_problem(event, f"invalid storage template: {exc}")
        return
    started = time.perf_counter()
    settled = await recover(ctx)
    slots = asyncio.Semaphore(MIGRATION_CONCURRENCY)
    moved = seen = 0

    async def one(row: moves.TemplateRow) -> bool:
        async with slots:
            new = await move_asset(ctx, row, template, verify=config.hash_verification_enabled)
            return new is not None

    after: uuid.UUID | None = None
    while page := await moves.template_rows(ctx.pool, after=after, limit=MIGRATION_PAGE):
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(one(row)) for row in page]
        moved += sum(task.result() for task in tasks)
        seen += len(page)
        after = page[-1].id
    log.info(
        "storage_template.migration_done",
        run_id=event.run_id,
        assets=seen,
        moved=moved,
        settled=settled,
        ms=round((time.perf_counter() - started) * 1000, 1),
    )


async def recover_at_start(ctx: Context) -> None:
    """Start-up hook: settle the moves a crash of this or another replica left."""
    settled = await recover(ctx)
    if settled:
        log.info("storage_template.recovered_at_start", moves=settled)
