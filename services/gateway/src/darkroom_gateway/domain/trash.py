"""The trash: empty it (delete for good), restore all or some; the shared purge helper; and the
nightly purge of what has been in the trash longer than ``trash.days``."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import msgspec
import structlog
from darkroom_db import assets
from darkroom_events import AssetDeleted, AssetsRestored
from darkroom_runtime.outbox import OutboxTransaction
from darkroom_storage import StorageError
from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from darkroom_gateway.announce import announce
from darkroom_gateway.auth import Auth
from darkroom_gateway.deps import Deps
from darkroom_gateway.errors import NoAccess
from darkroom_gateway.schemas import BulkIds

log = structlog.get_logger()

#: Assets deleted per transaction when the trash is emptied.
PURGE_BATCH = 500


class TrashResponse(msgspec.Struct, frozen=True):
    """Spec: TrashResponseDto."""

    count: int


async def require_owned(deps: Deps, auth: Auth, ids: list[uuid.UUID], permission: str) -> None:
    """Check that every id is one of the caller's assets (bulk routes: all or nothing).

    Raises:
        NoAccess: Some id is unknown or someone else's (Immich's bulk access error).
    """
    if not ids:
        return
    owned = await assets.owned_ids(deps.pool, auth.user.id, ids, unlocked=auth.elevated)
    if len(owned) < len(set(ids)):
        raise NoAccess(permission)


async def purge_assets(deps: Deps, owner_id: uuid.UUID, ids: list[uuid.UUID]) -> int:
    """Delete ``owner_id``'s assets ``ids`` for good: rows and their events, then objects.

    Rows go first in one transaction (audited in ``asset_audit``) with one
    ``darkroom.asset.deleted`` per asset in the outbox (published after the commit), so the API
    never points at a missing object and no deletion goes unannounced; then every object
    (original, sidecar, previews, thumbnails, encoded video) is deleted; a storage failure
    leaves an orphan object and is logged. A live photo's motion video goes with its still
    (:func:`darkroom_db.assets.delete_for_good`).

    Returns:
        Number of the requested assets deleted (motion videos deleted with them not counted).
    """
    async with deps.outbox.transaction() as tx:  # the rows and their events, one commit
        deleted = await delete_rows(tx, owner_id, ids)
    await delete_objects(deps, deleted)
    requested = set(ids)
    return sum(1 for asset in deleted if asset.id in requested)


async def delete_rows(
    tx: OutboxTransaction, owner_id: uuid.UUID, ids: list[uuid.UUID]
) -> list[assets.DeletedAsset]:
    """The row half of :func:`purge_assets`, inside the caller's outbox transaction ``tx``:
    delete ``owner_id``'s assets ``ids`` (:func:`darkroom_db.assets.delete_for_good`) and add
    one ``darkroom.asset.deleted`` each. Returns the deleted assets for
    :func:`delete_objects`, to be called after the commit."""
    deleted = await assets.delete_for_good(tx.conn, owner_id, ids)
    for asset in deleted:
        await tx.add(AssetDeleted(asset_id=str(asset.id), owner_id=str(owner_id)))
    return deleted


async def delete_objects(deps: Deps, deleted: list[assets.DeletedAsset]) -> None:
    """The storage half of :func:`purge_assets`, after the rows' commit: every object of
    ``deleted``; a storage failure leaves an orphan object and is logged, never raised."""
    for asset in deleted:
        for key in asset.keys:
            try:
                await deps.storage.delete(key)
            except StorageError as exc:
                log.warning(
                    "asset.purge_object_failed", asset_id=str(asset.id), key=key, error=str(exc)
                )
        log.info("asset.deleted", asset_id=str(asset.id), owner_id=str(asset.owner_id))


async def purge_trash(deps: Deps, older_than: timedelta) -> int:
    """Delete for good every asset trashed more than ``older_than`` ago, of every user.

    The nightly task of Immich's ``trash.days`` (:mod:`darkroom_gateway.housekeeping`); each
    asset goes as emptying the trash removes it (:func:`purge_assets`: rows, files, one
    ``darkroom.asset.deleted`` each), in batches of :data:`PURGE_BATCH`.

    Args:
        deps: The gateway's connections.
        older_than: How long an asset stays in the trash (system config ``trash.days``).

    Returns:
        Number of trashed assets deleted.
    """
    total = 0
    while expired := await assets.expired_trash(deps.pool, older_than, limit=PURGE_BATCH):
        by_owner: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
        for owner_id, asset_id in expired:
            by_owner[owner_id].append(asset_id)
        count = 0
        for owner_id, ids in by_owner.items():
            count += await purge_assets(deps, owner_id, ids)
        total += count
        if count == 0:  # raced with a restore or another purge: nothing left we can delete
            break
    log.info("trash.purged", count=total, older_than_days=older_than / timedelta(days=1))
    return total


async def restore(deps: Deps, owner_id: uuid.UUID, ids: list[uuid.UUID]) -> int:
    """Bring ``owner_id``'s trashed assets ``ids`` back and announce it (``on_asset_restore``).

    Returns:
        Number of assets restored.
    """
    if not ids:
        return 0
    count = await assets.restore_assets(deps.pool, owner_id, ids)
    if count:
        restored = AssetsRestored(
            owner_id=str(owner_id), asset_ids=[str(i) for i in ids], at=datetime.now(UTC)
        )
        await announce(deps, restored)
    return count


class TrashController(Controller):
    """/api/trash."""

    path = "/api/trash"

    @post("/empty", status_code=200, permission="asset.delete")
    async def empty_trash(
        self, auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> TrashResponse:
        """Delete every trashed asset of the caller for good; the count deleted."""
        total = 0
        while ids := await assets.trashed_ids(deps.pool, auth.user.id, limit=PURGE_BATCH):
            count = await purge_assets(deps, auth.user.id, ids)
            total += count
            if count == 0:  # raced with another purge: nothing left that we can delete
                break
        return TrashResponse(count=total)

    @post("/restore", status_code=200, permission="asset.delete")
    async def restore_trash(
        self, auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> TrashResponse:
        """Bring every trashed asset of the caller back; the count restored."""
        total = 0
        while batch := await assets.trashed_ids(deps.pool, auth.user.id, limit=PURGE_BATCH):
            count = await restore(deps, auth.user.id, batch)
            total += count
            if count == 0:  # raced with another restore or purge: nothing left to restore
                break
        return TrashResponse(count=total)

    @post("/restore/assets", status_code=200, permission="asset.delete")
    async def restore_assets(
        self, data: JSONBody[BulkIds], auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> TrashResponse:
        """Bring these trashed assets back (400 when one is not the caller's).

        ``count`` is the number of ids sent, as Immich's ``TrashService.restoreAssets`` answers
        (``ids.length``), whether or not each was in the trash.
        """
        await require_owned(deps, auth, data.ids, "asset.delete")
        await restore(deps, auth.user.id, data.ids)
        return TrashResponse(count=len(data.ids))


ROUTES = [TrashController]
