"""Downloads of many assets: plan the archives, then stream each as a ZIP.

The ZIP is written with the standard library's :mod:`zipfile` onto a non-seekable sink that
is drained after every chunk, so the archive is streamed while it is built and never held in
memory (at most one storage chunk is). Originals are STORED (not compressed: photos and videos
are compressed already); sizes and CRC-32 go in a data descriptor after each file (APPNOTE
4.3.9), ZIP64 is used for files over 4 GiB.
"""

from __future__ import annotations

import asyncio
import functools
import io
import unicodedata
import uuid
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime

import msgspec
import structlog
from darkroom_db import assets, timeline
from darkroom_media import safe_file_name
from darkroom_storage import NotFound as StorageNotFound
from darkroom_storage import Storage
from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.response import Stream

from darkroom_gateway.auth import Auth
from darkroom_gateway.deps import Deps
from darkroom_gateway.domain import storage_template
from darkroom_gateway.errors import BadRequest, NoAccess
from darkroom_gateway.media import content_disposition
from darkroom_gateway.shared_access import link_album, link_assets

log = structlog.get_logger()

#: Default archive size limit (Immich's default: 4 GiB per archive).
DEFAULT_ARCHIVE_SIZE = 4 * 1024**3
#: Earliest time a ZIP entry can carry (MS-DOS date format).
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


class DownloadInfo(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: DownloadInfoDto (one of assetIds, albumId, userId)."""

    asset_ids: list[uuid.UUID] | None = None
    album_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    archive_size: int | None = None


class DownloadArchiveInfo(msgspec.Struct, frozen=True, rename="camel"):
    """Spec: DownloadArchiveInfo."""

    asset_ids: list[str]
    size: int


class DownloadResponse(msgspec.Struct, frozen=True, rename="camel"):
    """Spec: DownloadResponseDto."""

    archives: list[DownloadArchiveInfo]
    total_size: int


class DownloadArchive(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: DownloadArchiveDto."""

    asset_ids: list[uuid.UUID]
    edited: bool = False


class _Sink(io.RawIOBase):
    """A write-only, non-seekable file that keeps what was written until drained."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, b: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self._parts.append(bytes(b))
        return len(b)

    def drain(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def unique_names(names: list[str]) -> list[str]:
    """Safe, unique entry names for one archive, as Immich numbers them: ``IMG.jpg``,
    ``IMG+1.jpg``, ``IMG+2.jpg``...

    Each name is first made a safe base name (:func:`darkroom_media.safe_file_name`), so no
    entry can hold a path (``../../etc/passwd`` is ``passwd``: no zip slip). Names are compared
    after NFC normalisation and case folding, since archives are unpacked on file systems that
    ignore case (NTFS, APFS) or normalisation (APFS, HFS+).

    Args:
        names: The stored ``originalFileName`` of each file, in archive order.

    Returns:
        One name per input, in the same order, no two equal under that comparison.
    """
    seen: set[str] = set()
    out = []
    for name in names:
        candidate, n = safe_file_name(name), 0
        while _fold(candidate) in seen:
            n += 1
            candidate = safe_file_name(name, suffix=f"+{n}")
        seen.add(_fold(candidate))
        out.append(candidate)
    return out


def _fold(name: str) -> str:
    return unicodedata.normalize("NFC", name).casefold()


async def require_objects(storage: Storage, keys: list[str], *, concurrency: int = 16) -> None:
    """Check that every object exists, before a streamed response commits to a 200.

    Args:
        storage: Where the objects live.
        keys: Their keys.
        concurrency: HEAD requests (S3) or stats in flight at once.

    Raises:
        darkroom_storage.NotFound: One is missing (the API maps it to 404).
    """
    slots = asyncio.Semaphore(concurrency)

    async def check(key: str) -> None:
        async with slots:
            await storage.head(key)

    await asyncio.gather(*(check(key) for key in keys))


def _zip_time(when: datetime) -> tuple[int, int, int, int, int, int]:
    stamp = (when.year, when.month, when.day, when.hour, when.minute, when.second)
    return max(stamp, ZIP_EPOCH)


async def zip_stream(
    storage: Storage,
    files: list[assets.Asset],
    follow: Callable[[assets.Asset], Awaitable[str | None]] | None = None,
) -> AsyncIterator[bytes]:
    """Yield a ZIP of the originals of ``files`` (stored, in order, names made safe and unique
    by :func:`unique_names`).

    An original the storage template moved while the archive is streamed is read at its new
    key (``follow`` gives it: :func:`storage_template.moved_key`); one that disappears for good
    is left out (logged); the archive stays valid (a missing one is refused with 404 before the
    stream starts, see :func:`require_objects`).
    """
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        names = unique_names([a.original_file_name for a in files])
        for asset, name in zip(files, names, strict=True):
            try:
                source = await storage.open(asset.original_path)
            except StorageNotFound:
                moved = await follow(asset) if follow is not None else None
                try:
                    if moved is None:
                        raise
                    source = await storage.open(moved)
                except StorageNotFound:
                    log.warning("download.original_missing", asset_id=str(asset.id))
                    continue
            info = zipfile.ZipInfo(name, date_time=_zip_time(asset.local_date_time))
            info.compress_type = zipfile.ZIP_STORED
            info.file_size = asset.file_size  # lets zipfile choose ZIP64 up front
            async with source:
                with archive.open(info, "w") as entry:
                    async for chunk in source:
                        entry.write(chunk)
                        yield sink.drain()
            yield sink.drain()
    yield sink.drain()


async def edited_rendering(deps: Deps, asset: assets.Asset) -> assets.Asset:
    """``asset`` as its edited full-size rendering is stored (key and size), when it has one;
    else ``asset`` itself. Its name stays the original's."""
    file = await assets.get_file(deps.pool, asset.owner_id, asset.id, "edited_fullsize")
    if file is None or file.size is None:
        return asset
    return msgspec.structs.replace(asset, original_path=file.path, file_size=file.size)


class DownloadController(Controller):
    """/api/download."""

    path = "/api/download"

    @post("/info", status_code=201, permission="asset.download", shared_link=True)
    async def get_download_info(
        self, data: JSONBody[DownloadInfo], auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> DownloadResponse:
        """Split the requested assets into archives of about ``archiveSize`` bytes.

        Live photos bring their motion part along. As Immich's ``getDownloadInfo`` fills them,
        an archive is closed once it holds more than ``archiveSize`` bytes: the asset that
        takes it past the limit is its last (so one larger than the limit is alone in its own).

        A caller through a shared link downloads only the link's assets or album, and only
        with ``allowDownload``.

        Raises:
            BadRequest: No selection, or ids/album/user the caller may not download.
        """
        limit = data.archive_size or DEFAULT_ARCHIVE_SIZE
        link = auth.shared_link
        if link is not None:
            if data.asset_ids is not None:
                await link_assets(deps, link, data.asset_ids, "asset.download")
            elif data.album_id is not None:
                await link_album(deps, link, data.album_id, "album.download")
            elif data.user_id is not None:
                raise NoAccess("timeline.download")
        if data.asset_ids is not None:
            ids = data.asset_ids
        elif data.album_id is not None:
            if not await timeline.can_read_album(deps.pool, auth.user.id, data.album_id):
                raise NoAccess("album.download")
            ids = await timeline.album_asset_ids(deps.pool, data.album_id)
        elif data.user_id is not None:
            if data.user_id != auth.user.id:
                raise NoAccess("timeline.download")
            ids = [a.id for a in await assets.list_assets(deps.pool, auth.user.id, limit=10**9)]
        else:
            raise BadRequest("assetIds, albumId, or userId is required")
        found = {
            a.id: a
            for a in await timeline.downloadable_assets(
                deps.pool, auth.user.id, ids, unlocked=auth.elevated
            )
        }
        if data.asset_ids is not None and len(found) < len(set(ids)):
            raise NoAccess("asset.download")
        motion_ids = [
            a.live_photo_video_id
            for a in found.values()
            if a.live_photo_video_id and a.live_photo_video_id not in found
        ]
        motion = await timeline.downloadable_assets(
            deps.pool, auth.user.id, motion_ids, unlocked=auth.elevated
        )
        ordered = [found[i] for i in dict.fromkeys(ids) if i in found] + motion
        archives: list[DownloadArchiveInfo] = []
        current: list[str] = []
        size = 0
        for asset in ordered:
            current.append(str(asset.id))
            size += asset.file_size
            if size > limit:
                archives.append(DownloadArchiveInfo(asset_ids=current, size=size))
                current, size = [], 0
        if current:
            archives.append(DownloadArchiveInfo(asset_ids=current, size=size))
        return DownloadResponse(archives=archives, total_size=sum(a.file_size for a in ordered))

    @post("/archive", status_code=200, permission="asset.download", shared_link=True)
    async def download_archive(
        self,
        data: JSONBody[DownloadArchive],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> Stream:
        """A ZIP of the originals of ``assetIds``, streamed; with ``edited``, an asset with
        saved edits is there as its edited full-size rendering, under the original's name
        (Immich's ``downloadArchive``: ``editedPath`` when there is one).

        Raises:
            BadRequest: An id the caller may not download.
            darkroom_storage.NotFound: An original is missing from storage (404, answered
                before the 200 and its headers are sent).
        """
        if auth.shared_link is not None:  # only the link's assets, only with allowDownload
            await link_assets(deps, auth.shared_link, data.asset_ids, "asset.download")
        found = {
            a.id: a
            for a in await timeline.downloadable_assets(
                deps.pool, auth.user.id, data.asset_ids, unlocked=auth.elevated
            )
        }
        if len(found) < len(set(data.asset_ids)):
            raise NoAccess("asset.download")
        files = [found[i] for i in dict.fromkeys(data.asset_ids)]
        if data.edited:
            files = [await edited_rendering(deps, a) for a in files]
        try:
            await require_objects(deps.storage, [a.original_path for a in files])
        except StorageNotFound:  # one may just have moved (the storage template): look again
            files = await storage_template.follow_moves(deps, files)
            await require_objects(deps.storage, [a.original_path for a in files])
        log.info("download.archive", assets=len(files), owner_id=str(auth.user.id))
        return Stream(
            zip_stream(deps.storage, files, functools.partial(storage_template.moved_key, deps)),
            media_type="application/octet-stream",
            headers={"Content-Disposition": content_disposition("immich-download.zip")},
        )


ROUTES = [DownloadController]
