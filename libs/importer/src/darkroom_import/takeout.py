"""``darkroom import takeout``: a Google Takeout export into any Immich-API server.

The steps, each through the public API only (:mod:`.client`), so it works against Darkroom or
Immich alike (as immich-go does):

1. Read every input (zip parts or extracted folders, :mod:`.sources`); decode every JSON (small)
   and pair each media file with its sidecar by Takeout's naming rules (:mod:`.pairing`),
   folder by folder across parts.
2. For each media file (streamed into a spooled temporary file while its SHA-1 is computed, so
   memory stays bounded and nothing else is extracted): skip it when an earlier run finished it
   (the state file, :mod:`.state`); ask the server whether it has these bytes
   (``bulk-upload-check``: a duplicate is not sent again); else upload it with ``fileCreatedAt``
   and ``fileModifiedAt`` set to the JSON's ``photoTakenTime`` (the file's own dates are read by
   the server's metadata extraction; the JSON's time is what Google showed).
3. Set, with ``PUT /api/assets/{id}``, what the JSON knows and the file lacks (read with exiv2
   or PyAV, :mod:`.filemeta`): ``dateTimeOriginal``, ``latitude``/``longitude``,
   ``description``; and always ``isFavorite`` (``favorited``) and ``visibility: archive``
   (``archived``). Items in Google's bin (``trashed``) are skipped.
4. Recreate albums from album folders (``metadata.json`` title, else the folder's name; year
   folders are not albums), reusing the caller's album of the same name, and add the assets.

Duplicates within the export (the copy of a photo in an album folder) resolve to the same asset.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any

import httpx
import structlog

from darkroom_import import filemeta, pairing
from darkroom_import.client import ApiError, ImmichClient
from darkroom_import.sidecar import TakeoutJson, decode
from darkroom_import.sources import Entry, Inputs
from darkroom_import.state import State

log = structlog.get_logger()

#: Bytes of a file kept in memory while it is hashed and sent; a larger one spills to a
#: temporary file (one file at a time).
SPOOL_BYTES = 64 * 1024 * 1024
#: Largest image whose EXIF is read (exiv2 reads from memory); a larger one counts as lacking.
EXIF_READ_LIMIT = 256 * 1024 * 1024
#: Largest JSON file read (Takeout's sidecars are a few KB).
JSON_LIMIT = 4 * 1024 * 1024
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Item:
    """One media file to import.

    Attributes:
        entry: the file in the export.
        meta: its sidecar's content, or None when no sidecar matched.
        album: the album its folder stands for, or None.
        video: the server lists its extension as a video.
    """

    entry: Entry
    meta: TakeoutJson | None
    album: str | None
    video: bool


@dataclass
class Plan:
    """What an export holds.

    Attributes:
        items: the media files, year folders first (the canonical copies).
        albums: album name -> its ``metadata.json`` description ("" when none).
        unmatched: media files without a sidecar (imported with what the file says).
        ignored: files that are neither media the server accepts nor JSON.
    """

    items: list[Item]
    albums: dict[str, str]
    unmatched: list[str]
    ignored: list[str]


@dataclass
class Summary:
    """The outcome of an import.

    Attributes:
        imported: files uploaded as new assets.
        duplicates: files the server already had (a copy in an album folder, an earlier run
            whose state file is gone, or the same photo uploaded another way).
        resumed: files an earlier run finished (state file).
        skipped: (file, reason) not imported on purpose (in Google's bin).
        failed: (file, reason) that could not be imported.
        albums: album name -> assets it holds from this export.
        unmatched: files imported without a sidecar.
    """

    imported: int = 0
    duplicates: int = 0
    resumed: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    albums: dict[str, int] = field(default_factory=dict)
    unmatched: int = 0


def _read_json(entry: Entry) -> TakeoutJson | None:
    if entry.size > JSON_LIMIT:
        return None
    with entry.open() as fh:
        return decode(fh.read())


def plan(inputs: Inputs, images: frozenset[str], videos: frozenset[str]) -> Plan:
    """Read the export's JSONs and pair every media file (:func:`pairing.pair_folder`).

    Args:
        inputs: the open inputs.
        images: the image extensions the server accepts (``.jpg``), lower case.
        videos: the video extensions it accepts.

    Returns:
        The items, albums, unmatched and ignored files.
    """
    media: dict[str, list[Entry]] = defaultdict(list)
    sidecars: dict[str, dict[str, TakeoutJson]] = defaultdict(dict)
    album_meta: dict[str, TakeoutJson] = {}
    ignored: list[str] = []
    for entry in inputs.entries():
        suffix = PurePosixPath(entry.name).suffix.lower()
        if suffix == ".json":
            content = _read_json(entry)
            if content is None:
                ignored.append(entry.path)
            elif content.is_media:
                sidecars[entry.folder][entry.name] = content
            elif content.title is not None:
                album_meta[entry.folder] = content
            else:
                ignored.append(entry.path)
        elif suffix in images or suffix in videos:
            media[entry.folder].append(entry)
        else:
            ignored.append(entry.path)
    items: list[Item] = []
    albums: dict[str, str] = {}
    unmatched: list[str] = []
    for folder in sorted(media, key=lambda f: (pairing.album_title(f, None) is not None, f)):
        jsons = sidecars.get(folder, {})
        pairs = pairing.pair_folder(
            [e.name for e in media[folder]], {n: j.title for n, j in jsons.items()}
        )
        meta = album_meta.get(folder)
        album = pairing.album_title(folder, meta.title if meta else None)
        if album is not None:
            albums.setdefault(album, (meta.description or "") if meta else "")
        for entry in media[folder]:
            json_name = pairs.get(entry.name)
            if json_name is None:
                unmatched.append(entry.path)
            suffix = PurePosixPath(entry.name).suffix.lower()
            items.append(
                Item(
                    entry=entry,
                    meta=jsons[json_name] if json_name else None,
                    album=album,
                    video=suffix in videos and suffix not in images,
                )
            )
    return Plan(items=items, albums=albums, unmatched=unmatched, ignored=ignored)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def changes_for(meta: TakeoutJson | None, facts: filemeta.FileFacts) -> dict[str, Any]:
    """The ``PUT /api/assets/{id}`` body that brings the JSON's knowledge to the asset.

    Args:
        meta: the item's sidecar, or None.
        facts: what the file itself carries.

    Returns:
        UpdateAssetDto fields: ``dateTimeOriginal``, ``latitude``/``longitude`` and
        ``description`` where the file lacks them; ``isFavorite`` and ``visibility`` when the
        JSON says so. Empty when there is nothing to set.
    """
    if meta is None:
        return {}
    changes: dict[str, Any] = {}
    taken = meta.taken_at
    if taken is not None and not facts.has_date:
        changes["dateTimeOriginal"] = _iso(taken)
    location = meta.location
    if location is not None and not facts.has_location:
        changes["latitude"], changes["longitude"] = location
    if meta.description and meta.description.strip() and not facts.has_description:
        changes["description"] = meta.description
    if meta.favorited:
        changes["isFavorite"] = True
    if meta.archived:
        changes["visibility"] = "archive"
    return changes


def _spool(entry: Entry, tmp: IO[bytes]) -> bytes:
    """Copy ``entry`` into ``tmp``; its SHA-1."""
    digest = hashlib.sha1()  # noqa: S324 - Immich's content checksum is SHA-1
    with entry.open() as src:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            tmp.write(chunk)
    tmp.seek(0)
    return digest.digest()


def _facts(item: Item, tmp: IO[bytes]) -> filemeta.FileFacts:
    tmp.seek(0)
    try:
        if item.video:
            return filemeta.video_facts(tmp)
        if item.entry.size <= EXIF_READ_LIMIT:
            return filemeta.image_facts(tmp.read())
        return filemeta.FileFacts()
    finally:
        tmp.seek(0)


def import_item(client: ImmichClient, item: Item, updated: set[str]) -> tuple[str, bool]:
    """Import one file: check, upload when new, then set what the JSON adds.

    Args:
        client: the server.
        item: the file and its sidecar.
        updated: asset ids already given their JSON's fields in this run (an album copy of a
            photo is not edited twice); extended here.

    Returns:
        The asset's id and whether the server already had the file.

    Raises:
        ApiError: The server refused a call.
        httpx.HTTPError: The server could not be reached.
    """
    entry, meta = item.entry, item.meta
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as tmp:
        sha1 = _spool(entry, tmp)
        facts = _facts(item, tmp)
        asset_id = client.existing(sha1)
        duplicate = asset_id is not None
        if asset_id is None:
            taken = (meta.taken_at if meta else None) or entry.modified
            uploaded = client.upload(
                tmp,
                file_name=entry.name,
                sha1=sha1,
                device_asset_id=f"takeout-{entry.name}-{entry.size}",
                created_at=taken,
                modified_at=taken,
                is_favorite=bool(meta and meta.favorited),
            )
            asset_id, duplicate = uploaded.asset_id, uploaded.duplicate
    if asset_id not in updated:
        changes = changes_for(meta, facts)
        if changes:
            client.update(asset_id, changes)
        updated.add(asset_id)
    return asset_id, duplicate


def run(
    client: ImmichClient,
    paths: list[Path],
    state: State,
    *,
    on_progress: Callable[[Item | None, int], None] | None = None,
    summary: Summary | None = None,
) -> Summary:
    """Import an export.

    Args:
        client: the server.
        paths: the export's zip parts and folders.
        state: the resume state (items an earlier run finished are not read again).
        on_progress: called with ``(None, total)`` once the export is read, then with each item
            as it finishes.
        summary: filled as items finish (so an interrupted run can still report); a new one
            when None.

    Returns:
        What happened (:class:`Summary`).

    Raises:
        ApiError: The server refused the first calls (the key, media types, albums).
    """
    me = str(client.whoami()["id"])
    images, videos = client.media_types()
    summary = summary if summary is not None else Summary()
    album_assets: dict[str, list[str]] = defaultdict(list)
    updated: set[str] = set()
    with Inputs(paths) as inputs:
        found = plan(inputs, images, videos)
        summary.unmatched = len(found.unmatched)
        if on_progress:
            on_progress(None, len(found.items))
        for item in found.items:
            asset_id = state.done.get(item.entry.key)
            if asset_id is not None:
                summary.resumed += 1
            elif item.meta is not None and item.meta.trashed:
                summary.skipped.append((item.entry.path, "in the Google Photos bin"))
            else:
                try:
                    asset_id, duplicate = import_item(client, item, updated)
                except (ApiError, httpx.HTTPError, OSError) as exc:
                    log.warning("takeout.item_failed", file=item.entry.path, error=str(exc))
                    summary.failed.append((item.entry.path, str(exc) or type(exc).__name__))
                else:
                    state.record(item.entry.key, asset_id)
                    if duplicate:
                        summary.duplicates += 1
                    else:
                        summary.imported += 1
            if asset_id is not None and item.album is not None:
                album_assets[item.album].append(asset_id)
            if on_progress:
                on_progress(item, len(found.items))
    _albums(client, me, found.albums, album_assets, summary)
    return summary


def _albums(
    client: ImmichClient,
    owner_id: str,
    descriptions: dict[str, str],
    members: dict[str, list[str]],
    summary: Summary,
) -> None:
    """Create (or reuse, by name) each album and add its assets."""
    existing = client.albums(owner_id)
    for name, asset_ids in sorted(members.items()):
        ids = list(dict.fromkeys(asset_ids))
        try:
            album_id = existing.get(name) or client.create_album(name, descriptions.get(name, ""))
            client.add_to_album(album_id, ids)
        except (ApiError, httpx.HTTPError) as exc:
            log.warning("takeout.album_failed", album=name, error=str(exc))
            summary.failed.append((f"album {name}", str(exc)))
            continue
        summary.albums[name] = len(ids)
