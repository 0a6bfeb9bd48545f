"""The storage template in the gateway: starting its migration job, and following moves.

The moves themselves happen in ingest (``darkroom_ingest.storage_template``); the gateway only
asks for a migration run and, when it serves originals, copes with one having just moved (the
row it loaded names the key the file left: it reads the current key and tries once more).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import msgspec
import structlog
from darkroom_db import assets
from darkroom_db import storage_template as moves
from darkroom_events import StorageTemplateMigrationRequested

from darkroom_gateway.deps import Deps

__all__ = ["follow_moves", "moved_key", "start"]

log = structlog.get_logger()


async def start(deps: Deps, force: bool) -> None:
    """Start Immich's ``storageTemplateMigration`` job: every managed original moves to its
    templated key (``PUT /api/jobs/storageTemplateMigration`` with ``command: start``).

    The run is announced through the outbox (``darkroom.storage_template.migration.requested``,
    a fresh run id each time) and done by ingest; with the template off it does nothing, as
    Immich's. Assets already in place are passed over, so ``force`` changes nothing (Immich's
    job takes no force either).

    Args:
        deps: The gateway's connections.
        force: Immich's ``force`` flag (ignored, see above).

    Raises:
        asyncpg errors: the request could not be recorded (the caller answers 5xx).
    """
    run_id = str(uuid.uuid4())
    await deps.outbox.publish(
        StorageTemplateMigrationRequested(run_id=run_id, requested_at=datetime.now(UTC))
    )
    log.info("storage_template.migration_requested", run_id=run_id, force=force)


async def moved_key(deps: Deps, asset: assets.Asset) -> str | None:
    """The asset's original key now, when it differs from the one ``asset`` was loaded with
    (the storage template moved it since); None when it is the same or the asset is gone."""
    current = (await moves.current_original_paths(deps.pool, [asset.id])).get(asset.id)
    return current if current is not None and current != asset.original_path else None


async def follow_moves(deps: Deps, files: list[assets.Asset]) -> list[assets.Asset]:
    """``files`` with each ``original_path`` as stored now (for a download that met a key the
    storage template had just vacated)."""
    current = await moves.current_original_paths(deps.pool, [a.id for a in files])
    return [
        msgspec.structs.replace(a, original_path=current.get(a.id, a.original_path)) for a in files
    ]
