"""Integrity reports (spec "Maintenance (admin)", Immich 3.1 ``/api/admin/integrity/*``) and the
integrity checks that fill them.

Three checks, each a manual job of ``POST /api/jobs`` (``integrity-<check>``), a nightly task on
``integrityChecks.<check>.cronExpression`` while ``enabled``
(:mod:`darkroom_gateway.nightly`) and, all three, the ``integrityCheck`` queue's start:

- **missing files** (``missing_file``): an active asset's original, or one of its derived files
  (``asset_files``: preview, thumbnail, encoded video, sidecar...), is not in storage.
  Trashed assets and external-library files (read in place, not in storage) are not checked.
- **untracked files** (``untracked_file``): an object under a media prefix
  (:data:`MEDIA_PREFIXES`: ``upload/``, ``library/``, ``thumbs/``, ``encoded-video/``,
  ``profile/``) that no row references (:func:`darkroom_db.integrity.referenced`). ``staging/``
  (uploads in progress) and ``backups/`` are never listed, and objects written less than
  :data:`UNTRACKED_GRACE` ago are skipped: ingest stores an original before it commits the
  asset row, the thumbnail and face services their files before recording them.
- **checksum mismatch** (``checksum_mismatch``): an original whose SHA-1, streamed from storage,
  is not ``assets.checksum``. Each run verifies the least recently verified originals first
  (``integrity_checksums``), at most ``integrityChecks.checksumFiles.percentageLimit`` of them
  (a fraction, 1.0 = all) and for at most ``timeLimit`` milliseconds, so repeated runs cover
  the whole library in turn.

Each check only adds items; ``integrity-<check>-refresh`` checks the items of its type again
and drops those resolved (the file is back, now referenced or gone, the checksum matches, the
asset left); ``integrity-<check>-delete-all`` performs the delete action of every item of its
type.

The delete action (``DELETE /api/admin/integrity/report/{id}``; the spec: "e.g. trash asset,
delete file"), as Immich's ``deleteIntegrityReport``: an untracked file is deleted from storage
(unless a row references it by now: then only the item goes); a missing derived file (preview,
thumbnail, encoded video...: Immich's ``fileAssetId``) is forgotten (its ``asset_files`` row goes,
so the pipeline's "missing" runs make it again), its asset stays; a missing original or a
checksum mismatch moves its asset to the trash (``darkroom.asset.trashed``, as
``DELETE /api/assets`` does), from where the owner may restore it or it is purged after
``trash.days``. The item is removed with the action, in one transaction where the action is a
database change.

Errors follow the gateway's conventions: an anonymous caller 401, a non-admin, an API key
without ``maintenance`` or a shared link 403; an unknown item id 404 ``Integrity report item not
found``; the file of an item that has none (a missing file, or one deleted since) 404.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import math
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import msgspec
import structlog
from darkroom_db import assets, integrity
from darkroom_db.integrity import ReportItem, ReportType
from darkroom_events import AssetsTrashed
from darkroom_storage import NotFound as StorageNotFound
from darkroom_storage import Storage
from litestar import Controller, Request, Response, delete, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Stream

from darkroom_gateway.auth import Auth
from darkroom_gateway.deps import Deps
from darkroom_gateway.errors import BadRequest, NotFound
from darkroom_gateway.media import content_disposition, serve_object

log = structlog.get_logger()

#: Storage prefixes holding media (Immich's storage folders; see docs ARCHITECTURE "Data").
MEDIA_PREFIXES: tuple[str, ...] = ("upload/", "library/", "thumbs/", "encoded-video/", "profile/")
#: Objects written more recently than this are never reported untracked: a file is stored
#: before the row that references it is committed (ingest, thumbnail, face services).
UNTRACKED_GRACE = timedelta(hours=1)
#: Rows or objects handled per database round trip.
BATCH = 500
#: Items per page at most, whatever ``limit`` asks (``nextCursor`` gives the rest).
MAX_PAGE = 10_000
#: Storage existence checks in flight at once (missing-files check).
HEAD_CONCURRENCY = 16


def _sha1_of_file(path: Path) -> bytes:
    """SHA-1 of a local file, read in chunks (hashlib.file_digest), off the event loop."""
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha1").digest()


async def file_sha1(storage: Storage, key: str) -> bytes:
    """The SHA-1 (20 bytes) of stored object ``key``, streamed (never read whole into memory):
    a local file (filesystem back end) is hashed in a worker thread, an S3 object as its
    chunks arrive.

    Raises:
        darkroom_storage.NotFound: No such object.
    """
    path = storage.local_path(key)
    if path is not None:
        try:
            return await asyncio.to_thread(_sha1_of_file, path)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise StorageNotFound(key) from None
    digest = hashlib.sha1()  # noqa: S324 - SHA-1 is Immich's checksum, not a security hash
    async with await storage.open(key) as stream:
        async for chunk in stream:
            digest.update(chunk)
    return digest.digest()


async def _exists_all(storage: Storage, keys: list[str]) -> list[bool]:
    """``storage.exists`` of each key, :data:`HEAD_CONCURRENCY` at a time."""
    gate = asyncio.Semaphore(HEAD_CONCURRENCY)

    async def one(key: str) -> bool:
        async with gate:
            return await storage.exists(key)

    return list(await asyncio.gather(*(one(k) for k in keys)))


async def check_missing_files(deps: Deps) -> int:
    """The missing-files check: report every original and derived file of an active asset that
    storage lacks.

    Returns:
        Items new in the report.
    """
    found = 0
    for read in (integrity.originals, integrity.derived_files):
        after: uuid.UUID | None = None
        while batch := await read(deps.pool, after=after, limit=BATCH):
            after = batch[-1].row_id
            present = await _exists_all(deps.storage, [f.path for f in batch])
            missing = [(f.path, f.asset_id) for f, ok in zip(batch, present, strict=True) if not ok]
            found += await integrity.add(deps.pool, "missing_file", missing)
    log.info("integrity.checked", check="missing_file", new=found)
    return found


async def check_untracked_files(deps: Deps, *, now: datetime | None = None) -> int:
    """The untracked-files check: report every object under :data:`MEDIA_PREFIXES`, written
    more than :data:`UNTRACKED_GRACE` before ``now``, that no row references.

    Args:
        deps: The gateway's connections.
        now: The check's time (default: now).

    Returns:
        Items new in the report.
    """
    cutoff = (now or datetime.now(UTC)) - UNTRACKED_GRACE
    found = 0

    async def flush(keys: list[str]) -> int:
        known = await integrity.referenced(deps.pool, keys)
        return await integrity.add(
            deps.pool, "untracked_file", [(k, None) for k in keys if k not in known]
        )

    for prefix in MEDIA_PREFIXES:
        batch: list[str] = []
        async for info in deps.storage.list_objects(prefix):
            if info.modified is not None and info.modified > cutoff:
                continue
            batch.append(info.key)
            if len(batch) >= BATCH:
                found += await flush(batch)
                batch = []
        found += await flush(batch)
    log.info("integrity.checked", check="untracked_file", new=found)
    return found


async def check_checksums(deps: Deps) -> int:
    """The checksum check: verify the least recently verified originals, within
    ``integrityChecks.checksumFiles`` ``percentageLimit`` (fraction of all originals) and
    ``timeLimit`` (milliseconds), and report those whose SHA-1 is not their asset's checksum.

    An original missing from storage is left to the missing-files check; it counts as visited
    (its time is recorded like a verified one's), so that a library with many missing originals
    does not hand back the same missing ones first in every batch and never get to the rest.

    Returns:
        Items new in the report.
    """
    config = deps.config.current.integrity_checks.checksum_files
    total = await integrity.count_originals(deps.pool)
    budget = min(total, math.ceil(total * config.percentage_limit))
    deadline = time.monotonic() + config.time_limit / 1000
    found = checked = 0
    while checked < budget and time.monotonic() < deadline:
        batch = await integrity.least_recently_checked(deps.pool, limit=min(100, budget - checked))
        if not batch:
            break
        visited: list[uuid.UUID] = []
        bad: list[tuple[str, uuid.UUID | None]] = []
        for original in batch:
            if time.monotonic() >= deadline:
                break
            visited.append(original.asset_id)
            try:
                digest = await file_sha1(deps.storage, original.path)
            except StorageNotFound:  # the missing-files check reports it
                continue
            if digest != original.checksum:
                bad.append((original.path, original.asset_id))
        checked += len(visited)
        await integrity.mark_checked(deps.pool, visited, datetime.now(UTC))
        found += await integrity.add(deps.pool, "checksum_mismatch", bad)
        if not visited:  # out of time before the first of the batch
            break
    log.info("integrity.checked", check="checksum_mismatch", verified=checked, new=found)
    return found


async def _resolved(deps: Deps, item: ReportItem) -> bool:
    """Whether ``item`` no longer describes a problem (refresh drops it)."""
    if item.type == "untracked_file":
        if not await deps.storage.exists(item.path):
            return True
        return bool(await integrity.referenced(deps.pool, [item.path]))
    if item.asset_id is None:
        return True
    tracked = await integrity.tracked(deps.pool, item.asset_id, item.path)
    if tracked is None:  # the asset left (trashed, deleted) or no longer has this file
        return True
    if item.type == "missing_file":
        return await deps.storage.exists(item.path)
    try:
        return await file_sha1(deps.storage, item.path) == tracked.checksum
    except StorageNotFound:
        return True  # no longer a mismatch: the missing-files check reports it


async def refresh(deps: Deps, type_: ReportType) -> int:
    """Check every item of ``type_`` again and drop those resolved.

    Returns:
        Items dropped.
    """
    dropped: list[uuid.UUID] = []
    async for items in integrity.batches(deps.pool, type_):
        dropped += [item.id for item in items if await _resolved(deps, item)]
    removed = await integrity.remove(deps.pool, dropped)
    log.info("integrity.refreshed", type=type_, dropped=removed)
    return removed


async def resolve(deps: Deps, item: ReportItem) -> None:
    """The delete action of one item (see the module docstring), the item removed with it."""
    if item.type == "untracked_file":
        if await integrity.referenced(deps.pool, [item.path]):
            log.info("integrity.kept_referenced", path=item.path)
        else:
            try:
                await deps.storage.delete(item.path)
            except StorageNotFound:
                pass
        await integrity.remove(deps.pool, [item.id])
        log.info("integrity.file_deleted", item_id=str(item.id), path=item.path)
        return
    if item.file_asset_id is not None:
        async with deps.pool.acquire() as conn, conn.transaction():
            await integrity.delete_file_row(conn, item.file_asset_id)
            await integrity.remove(conn, [item.id])
        log.info("integrity.file_forgotten", item_id=str(item.id), path=item.path)
        return
    async with deps.outbox.transaction() as tx:
        owner_id = None
        if item.asset_id is not None:
            owner_id = await tx.conn.fetchval(
                "SELECT owner_id FROM assets WHERE id = $1", item.asset_id
            )
        if owner_id is not None and item.asset_id is not None:
            if await assets.trash_assets(tx.conn, owner_id, [item.asset_id]):
                await tx.add(
                    AssetsTrashed(
                        owner_id=str(owner_id),
                        asset_ids=[str(item.asset_id)],
                        at=datetime.now(UTC),
                    )
                )
        await integrity.remove(tx.conn, [item.id])
    log.info("integrity.asset_trashed", item_id=str(item.id), asset_id=str(item.asset_id))


async def delete_all(deps: Deps, type_: ReportType) -> int:
    """Perform the delete action of every item of ``type_``.

    Returns:
        Items resolved.
    """
    count = 0
    while items := await integrity.page(deps.pool, type_, after=None, limit=BATCH):
        for item in items:
            await resolve(deps, item)
        count += len(items)
    log.info("integrity.deleted_all", type=type_, items=count)
    return count


async def start(deps: Deps, force: bool) -> None:
    """Start the ``integrityCheck`` queue (Immich's queue command ``start``): the three checks.

    Args:
        deps: The gateway's connections.
        force: Ignored (each check looks at everything within its limits).
    """
    await check_missing_files(deps)
    await check_untracked_files(deps)
    await check_checksums(deps)


def _scheduled(
    check: Callable[[Deps], Awaitable[int]], section: str
) -> Callable[[Deps], Awaitable[int]]:
    async def run(deps: Deps) -> int:
        if getattr(deps.config.current.integrity_checks, section).enabled:
            return await check(deps)
        return 0

    run.__doc__ = f"The nightly task of ``integrityChecks.{section}``: the check while enabled."
    return run


#: The nightly tasks (see :mod:`darkroom_gateway.nightly`), on each check's cron expression.
scheduled_missing_files = _scheduled(check_missing_files, "missing_files")
scheduled_untracked_files = _scheduled(check_untracked_files, "untracked_files")
scheduled_checksums = _scheduled(check_checksums, "checksum_files")


def _job(
    run: Callable[[Deps, ReportType], Awaitable[int]], type_: ReportType
) -> Callable[[Deps], Awaitable[None]]:
    async def job(deps: Deps) -> None:
        await run(deps, type_)

    return job


async def _missing(deps: Deps) -> None:
    await check_missing_files(deps)


async def _untracked(deps: Deps) -> None:
    await check_untracked_files(deps)


async def _checksums(deps: Deps) -> None:
    await check_checksums(deps)


#: ManualJobName -> the job (``POST /api/jobs``; merged into the queues module's table).
MANUAL_JOBS: dict[str, Callable[[Deps], Awaitable[None]]] = {
    "integrity-missing-files": _missing,
    "integrity-untracked-files": _untracked,
    "integrity-checksum-mismatch": _checksums,
    "integrity-missing-files-refresh": _job(refresh, "missing_file"),
    "integrity-untracked-files-refresh": _job(refresh, "untracked_file"),
    "integrity-checksum-mismatch-refresh": _job(refresh, "checksum_mismatch"),
    "integrity-missing-files-delete-all": _job(delete_all, "missing_file"),
    "integrity-untracked-files-delete-all": _job(delete_all, "untracked_file"),
    "integrity-checksum-mismatch-delete-all": _job(delete_all, "checksum_mismatch"),
}


class IntegrityReportSummary(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: IntegrityReportSummaryResponseDto (items per type; the spec's snake_case keys)."""

    checksum_mismatch: int
    missing_file: int
    untracked_file: int


class IntegrityReportItem(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: an item of IntegrityReportResponseDto (``path``: the storage key), with the
    columns Immich's ``getIntegrityReports`` selects besides: ``assetId`` (a missing original,
    a checksum mismatch), ``fileAssetId`` (a missing derived file), ``createdAt``."""

    id: uuid.UUID
    type: ReportType
    path: str
    asset_id: uuid.UUID | None
    file_asset_id: uuid.UUID | None
    created_at: datetime

    @classmethod
    def of(cls, item: ReportItem) -> IntegrityReportItem:
        """The answer for ``item`` (a derived file names its file, not its asset, as Immich)."""
        derived = item.file_asset_id is not None
        return cls(
            id=item.id,
            type=item.type,
            path=item.path,
            asset_id=None if derived else item.asset_id,
            file_asset_id=item.file_asset_id,
            created_at=item.created_at,
        )


class IntegrityReportPage(
    msgspec.Struct, frozen=True, kw_only=True, rename="camel", omit_defaults=True
):
    """Spec: IntegrityReportResponseDto; ``nextCursor`` only when more items follow."""

    items: list[IntegrityReportItem]
    next_cursor: str | None = None


def _cursor(path: str) -> str:
    return base64.urlsafe_b64encode(path.encode()).decode().rstrip("=")


def _after(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return base64.b64decode(padded, altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadRequest("Invalid cursor") from None


async def _item(deps: Deps, item_id: uuid.UUID) -> ReportItem:
    item = await integrity.get(deps.pool, item_id)
    if item is None:
        raise NotFound("Integrity report item not found")
    return item


def _csv_line(item: IntegrityReportItem) -> str:
    """One CSV line as Immich's ``streamIntegrityReportsCSV`` writes it: ``null`` for no id,
    the path always quoted (quotes doubled)."""
    asset_id, file_asset_id = (
        "null" if value is None else str(value) for value in (item.asset_id, item.file_asset_id)
    )
    path = item.path.replace('"', '""')
    return f'{item.id},{item.type},{asset_id},{file_asset_id},"{path}"\n'


async def _csv(deps: Deps, type_: ReportType) -> AsyncIterator[bytes]:
    """``id,type,assetId,fileAssetId,path`` then one line per item of ``type_`` (path order)."""
    yield b"id,type,assetId,fileAssetId,path\n"
    async for items in integrity.batches(deps.pool, type_):
        yield "".join(_csv_line(IntegrityReportItem.of(i)) for i in items).encode()


class IntegrityController(Controller):
    """/api/admin/integrity (admin only, API keys need ``maintenance``)."""

    path = "/api/admin/integrity"

    @get("/summary", admin=True, permission="maintenance")
    async def get_integrity_report_summary(
        self, auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> IntegrityReportSummary:
        """Spec getIntegrityReportSummary: items per type."""
        counts = await integrity.summary(deps.pool)
        return IntegrityReportSummary(**counts)

    @get("/report", admin=True, permission="maintenance")
    async def get_integrity_report(
        self,
        type: FromQuery[ReportType],  # noqa: A002 - the spec's name
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
        cursor: FromQuery[str | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=9007199254740991)] = 500,
    ) -> IntegrityReportPage:
        """Spec getIntegrityReport: items of ``type`` in path order, ``limit`` per page;
        ``cursor`` is the ``nextCursor`` of the previous page.

        Raises:
            BadRequest: A cursor this server did not give.
        """
        after = None if cursor is None else _after(cursor)
        size = min(limit, MAX_PAGE)
        items = await integrity.page(deps.pool, type, after=after, limit=size + 1)
        more = len(items) > size
        items = items[:size]
        return IntegrityReportPage(
            items=[IntegrityReportItem.of(i) for i in items],
            next_cursor=_cursor(items[-1].path) if more and items else None,
        )

    @delete("/report/{item_id:uuid}", status_code=200, admin=True, permission="maintenance")
    async def delete_integrity_report(
        self, item_id: FromPath[uuid.UUID], auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> None:
        """Spec deleteIntegrityReport: remove the item and perform its delete action (delete an
        untracked file; trash the asset of a missing file or checksum mismatch).

        Raises:
            NotFound: No such item.
        """
        await resolve(deps, await _item(deps, item_id))

    @get("/report/{item_id:uuid}/file", admin=True, permission="maintenance")
    async def get_integrity_report_file(
        self,
        item_id: FromPath[uuid.UUID],
        request: Request,
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> Response[bytes] | Stream:
        """Spec getIntegrityReportFile: the untracked file, or the original whose checksum does
        not match, shown inline under its base name and not cached (Immich's
        integrity.service ``getIntegrityReportFile``: ``application/octet-stream``,
        ``CacheControl.PrivateWithoutCache``, which its ``sendFile`` sends as ``private,
        no-cache, no-transform`` with an ``inline`` Content-Disposition).

        Raises:
            NotFound: No such item, or it has no file (a missing file; one deleted since).
        """
        item = await _item(deps, item_id)
        if item.type == "missing_file":
            raise NotFound("File not found")
        try:
            info = await deps.storage.head(item.path)
        except StorageNotFound:
            raise NotFound("File not found") from None
        return await serve_object(
            request,
            deps.storage,
            item.path,
            media_type="application/octet-stream",
            size=info.size,
            etag=info.etag or f"{info.size}-{item.id}",
            filename=item.path.rsplit("/", 1)[-1],
            disposition="inline",
            cache_control="private, no-cache, no-transform",
        )

    @get("/report/{type:str}/csv", admin=True, permission="maintenance")
    async def get_integrity_report_csv(
        self,
        type: FromPath[str],  # noqa: A002 - the spec's name
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> Stream:
        """Spec getIntegrityReportCsv: every item of ``type`` as CSV (``id,type,assetId,
        fileAssetId,path``), an attachment ``<epoch ms>-<type>.csv`` of type ``text/csv``, not
        to be cached (Immich's integrity.controller ``getIntegrityReportCsv``).

        Raises:
            BadRequest: Not a report type.
        """
        if type not in integrity.REPORT_TYPES:
            raise BadRequest(f"type must be one of {', '.join(integrity.REPORT_TYPES)}")
        type_: ReportType = type  # type: ignore[assignment]
        stamp = int(time.time() * 1000)
        return Stream(
            _csv(deps, type_),
            media_type="text/csv",
            headers={
                "Content-Disposition": content_disposition(f"{stamp}-{type_}.csv"),
                "Cache-Control": "private, no-cache, no-transform",
            },
        )


ROUTES = [IntegrityController]
