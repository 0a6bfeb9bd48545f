"""External libraries (spec tag "Libraries", 8 operations, admin only as in Immich).

An admin gives a user folders (``importPaths``) whose files become that user's assets in place;
``exclusionPatterns`` (globs such as ``**/*.tif``, ``**/Raw/**``) leave files out. A scan
(``POST /api/libraries/{id}/scan``, the ``library`` queue, the nightly schedule, or the file
watcher) is done by the ingest service (:mod:`darkroom_ingest.scan`); originals are read where
they are through :mod:`darkroom_storage.external`.

Behaviour follows Immich's ``library.service.ts`` and its e2e spec as documented: routes need an
admin (``@Authenticated({ permission, admin: true })``); an unknown id is 400
``Library not found``; an import path is valid when absolute, outside the media folder,
an existing directory and readable (``ValidateLibraryImportPathResponseDto`` says which test
failed); an update with an invalid import path is refused (400 ``Invalid import path:
<reason>``). A create, as Immich's ``create``, takes a folder that does not exist yet (or is
not readable yet): a scan walks nothing there until it does; only a path that can never be
valid (relative, or the media folder) is refused, so a scan never walks Darkroom's own files.
A new library without patterns gets Immich's default exclusions (Synology ``@eaDir``, macOS
``._`` files, ``#recycle`` and ``#snapshot`` folders, Syncthing's ``.stversions`` and
``.stfolder``). Deleting a library removes its assets (rows, derived files, ``asset.deleted``
events), never the files.
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime
from typing import Annotated

import msgspec
import structlog
from darkroom_db import libraries, users
from darkroom_events import LibraryScanRequested
from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from darkroom_gateway.announce import announce
from darkroom_gateway.auth import Auth
from darkroom_gateway.deps import Deps
from darkroom_gateway.domain.trash import delete_objects, delete_rows, purge_assets
from darkroom_gateway.errors import BadRequest

log = structlog.get_logger()

Paths = Annotated[list[str], msgspec.Meta(max_length=128)]
Name = Annotated[str, msgspec.Meta(min_length=1)]

#: Exclusions of a library created without any (Immich's defaults, library.service ``create``:
#: NAS thumbnail folders, macOS resource forks, recycle bins, snapshots, and Syncthing's
#: version and marker folders).
DEFAULT_EXCLUSIONS = (
    "**/@eaDir/**",
    "**/._*",
    "**/#recycle/**",
    "**/#snapshot/**",
    "**/.stversions/**",
    "**/.stfolder/**",
)
#: Messages of :func:`validate_import_path` a create still refuses: the path can never be a
#: library folder (Immich's create takes any path; its scan skips these, Darkroom's would not).
_NEVER_VALID = ("Invalid path", "Import path must be absolute", "Cannot use media upload folder")
#: Assets purged per transaction when a library is deleted.
DELETE_BATCH = 500


class CreateLibrary(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: CreateLibraryDto."""

    owner_id: uuid.UUID
    name: Name | None = None
    import_paths: Paths | None = None
    exclusion_patterns: Paths | None = None


class UpdateLibrary(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: UpdateLibraryDto."""

    name: Name | None = None
    import_paths: Paths | None = None
    exclusion_patterns: Paths | None = None


class ValidateLibrary(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: ValidateLibraryDto."""

    import_paths: Paths | None = None
    exclusion_patterns: Paths | None = None


class ImportPathValidation(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: ValidateLibraryImportPathResponseDto."""

    import_path: str
    is_valid: bool
    message: str | msgspec.UnsetType = msgspec.UNSET


class ValidateLibraryResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: ValidateLibraryResponseDto."""

    import_paths: list[ImportPathValidation]


class LibraryResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: LibraryResponseDto."""

    id: str
    owner_id: str
    name: str
    import_paths: list[str]
    exclusion_patterns: list[str]
    asset_count: int
    created_at: datetime
    updated_at: datetime
    refreshed_at: datetime | None


class LibraryStatsResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: LibraryStatsResponseDto (``usage`` in bytes)."""

    photos: int
    videos: int
    total: int
    usage: int


def library_response(library: libraries.Library, asset_count: int) -> LibraryResponse:
    """Map a library row and its asset count to LibraryResponseDto."""
    return LibraryResponse(
        id=str(library.id),
        owner_id=str(library.owner_id),
        name=library.name,
        import_paths=library.import_paths,
        exclusion_patterns=library.exclusion_patterns,
        asset_count=asset_count,
        created_at=library.created_at,
        updated_at=library.updated_at,
        refreshed_at=library.refreshed_at,
    )


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def validate_import_path(path: str, media_root: str | None) -> ImportPathValidation:
    """Check one import path as Immich's ``validateImportPath`` does (blocking: it stats).

    Args:
        path: The path as the admin gave it.
        media_root: The storage root of the filesystem back end (Darkroom's media folder), or
            None (S3: nothing on this machine to protect).

    Returns:
        Valid, or invalid with the reason: not a path (a NUL character), not absolute, the
        media folder (or one holding or inside it), missing, not a directory, not readable by
        the server.
    """
    if "\x00" in path:
        return ImportPathValidation(import_path=path, is_valid=False, message="Invalid path")
    if not os.path.isabs(path):
        return ImportPathValidation(
            import_path=path,
            is_valid=False,
            message=f"Import path must be absolute, try {os.path.abspath(path)}",
        )
    real = os.path.realpath(path)
    if media_root is not None:
        root = os.path.realpath(media_root)
        if _inside(real, root) or _inside(root, real):
            return ImportPathValidation(
                import_path=path,
                is_valid=False,
                message="Cannot use media upload folder for external libraries",
            )
    if not os.path.exists(real):
        return ImportPathValidation(
            import_path=path, is_valid=False, message="Path does not exist (ENOENT)"
        )
    if not os.path.isdir(real):
        return ImportPathValidation(import_path=path, is_valid=False, message="Not a directory")
    if not os.access(real, os.R_OK | os.X_OK):
        return ImportPathValidation(
            import_path=path, is_valid=False, message="Lacking read permission for folder"
        )
    return ImportPathValidation(import_path=path, is_valid=True)


def _media_root(deps: Deps) -> str | None:
    storage = deps.settings.storage
    return storage.root if storage.backend == "filesystem" else None


def _checked_paths(
    deps: Deps, paths: list[str] | None, *, may_be_missing: bool = False
) -> list[str] | None:
    """Normalised import paths, all valid.

    Args:
        deps: The gateway's settings (the media folder).
        paths: The import paths as given; None when the request has none.
        may_be_missing: A create: a folder that is missing, not a directory or not readable
            yet is taken (Immich's ``create`` validates nothing; its update does).

    Raises:
        BadRequest: A path is empty (Immich's ``@IsNotEmpty({ each: true })``), repeats, or is
            invalid (the reason is given).
    """
    if paths is None:
        return None
    if "" in paths:
        raise BadRequest("each value in importPaths should not be empty")
    normalised = [os.path.normpath(p) if os.path.isabs(p) else p for p in paths]
    if len(set(normalised)) != len(normalised):
        raise BadRequest("All importPaths's elements must be unique")
    for path in normalised:
        result = validate_import_path(path, _media_root(deps))
        message = result.message or ""
        if result.is_valid or (may_be_missing and not message.startswith(_NEVER_VALID)):
            continue
        raise BadRequest(f"Invalid import path: {message}")
    return normalised


def _unique(patterns: list[str] | None) -> list[str] | None:
    """The exclusion patterns as given, checked as Immich's library DTOs check them
    (``@IsNotEmpty({ each: true })``, ``@ArrayUnique()``).

    Raises:
        BadRequest: A pattern is empty or repeats.
    """
    if patterns is not None and "" in patterns:
        raise BadRequest("each value in exclusionPatterns should not be empty")
    if patterns is not None and len(set(patterns)) != len(patterns):
        raise BadRequest("All exclusionPatterns's elements must be unique")
    return patterns


async def _library(deps: Deps, library_id: uuid.UUID) -> libraries.Library:
    library = await libraries.get(deps.pool, library_id)
    if library is None:
        raise BadRequest("Library not found")
    return library


async def request_scan(deps: Deps, library_id: uuid.UUID, *, force: bool = False) -> None:
    """Ask ingest to scan one library (a ``darkroom.library.scan.requested`` event)."""
    await announce(
        deps,
        LibraryScanRequested(library_id=str(library_id), scan_id=str(uuid.uuid4()), force=force),
    )
    log.info("library.scan_requested", library_id=str(library_id), force=force)


async def scan_all_libraries(deps: Deps) -> None:
    """Scan every library: the periodic task on ``library.scan.cronExpression`` (system config);
    does nothing while ``library.scan.enabled`` is off."""
    if not deps.config.current.library.scan.enabled:
        return
    for library in await libraries.list_all(deps.pool):
        await request_scan(deps, library.id)


async def start(deps: Deps, force: bool) -> None:
    """Start the ``library`` queue (``PUT /api/jobs/library``): scan every library; ``force``
    (Immich's "all") re-reads every file, not only new and changed ones."""
    for library in await libraries.list_all(deps.pool):
        await request_scan(deps, library.id, force=force)


async def delete_library(deps: Deps, library: libraries.Library) -> int:
    """Purge the library's assets (rows, derived files and their events; the files stay), then
    the library. Returns how many assets went.

    The assets go in batches of :data:`DELETE_BATCH`, each its own commit. A scan may still be
    importing (a redelivered batch, the watcher): the last step locks the library row
    (:func:`darkroom_db.libraries.lock`), which waits for imports in flight and holds off new
    ones, purges what they added and deletes the row in the same commit; an import that waited
    then finds no library and imports nothing.
    """
    removed = 0
    while ids := await libraries.asset_ids(deps.pool, library.id, limit=DELETE_BATCH):
        count = await purge_assets(deps, library.owner_id, ids)
        if count == 0:  # nothing more can go (never expected): the last step below says so
            break
        removed += count
    async with deps.outbox.transaction() as tx:
        await libraries.lock(tx.conn, library.id)
        late = await libraries.asset_ids(tx.conn, library.id)
        deleted = await delete_rows(tx, library.owner_id, late) if late else []
        await libraries.delete(tx.conn, library.id)
    await delete_objects(deps, deleted)
    removed += len(deleted)
    log.info("library.deleted", library_id=str(library.id), assets=removed)
    return removed


class LibraryController(Controller):
    """/api/libraries (every route for admins only, as Immich: each takes ``auth`` so that the
    guard :func:`darkroom_gateway.auth.authorize` checks ``admin`` and ``permission``)."""

    path = "/api/libraries"

    @get("/", admin=True, permission="library.read")
    async def get_all_libraries(
        self, auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> list[LibraryResponse]:
        """Every library, oldest first."""
        found = await libraries.list_all(deps.pool)
        counts = await libraries.asset_counts(deps.pool, [lib.id for lib in found])
        return [library_response(lib, counts.get(lib.id, 0)) for lib in found]

    @post("/", status_code=201, admin=True, permission="library.create")
    async def create_library(
        self,
        data: JSONBody[CreateLibrary],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> LibraryResponse:
        """Create a library for a user; its import paths need not exist yet (Immich's
        ``create`` takes them as given, and its e2e tests make the folders afterwards).

        Raises:
            BadRequest: No such user, a relative or media-folder import path, or a repeated
                path or pattern.
        """
        owner = await users.get_user(deps.pool, data.owner_id)
        if owner is None or owner.deleted_at is not None:
            raise BadRequest("User not found")
        paths = _checked_paths(deps, data.import_paths, may_be_missing=True) or []
        patterns = _unique(data.exclusion_patterns)
        library = await libraries.create(
            deps.pool,
            owner_id=owner.id,
            name=data.name or "New External Library",
            import_paths=paths,
            exclusion_patterns=list(DEFAULT_EXCLUSIONS) if patterns is None else patterns,
        )
        log.info("library.created", library_id=str(library.id), owner_id=str(owner.id))
        return library_response(library, 0)

    @get("/{library_id:uuid}", admin=True, permission="library.read")
    async def get_library(
        self,
        library_id: FromPath[uuid.UUID],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> LibraryResponse:
        """One library."""
        library = await _library(deps, library_id)
        counts = await libraries.asset_counts(deps.pool, [library.id])
        return library_response(library, counts.get(library.id, 0))

    @put("/{library_id:uuid}", admin=True, permission="library.update")
    async def update_library(
        self,
        library_id: FromPath[uuid.UUID],
        data: JSONBody[UpdateLibrary],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> LibraryResponse:
        """Rename a library or change its import paths or exclusions (a scan applies them).

        Raises:
            BadRequest: No such library, or an invalid or repeated import path or pattern.
        """
        await _library(deps, library_id)
        updated = await libraries.update(
            deps.pool,
            library_id,
            name=data.name,
            import_paths=_checked_paths(deps, data.import_paths),
            exclusion_patterns=_unique(data.exclusion_patterns),
        )
        if updated is None:
            raise BadRequest("Library not found")
        counts = await libraries.asset_counts(deps.pool, [updated.id])
        return library_response(updated, counts.get(updated.id, 0))

    @delete("/{library_id:uuid}", status_code=204, admin=True, permission="library.delete")
    async def delete_library(
        self,
        library_id: FromPath[uuid.UUID],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> None:
        """Delete a library and its assets (the files stay where they are)."""
        await delete_library(deps, await _library(deps, library_id))

    @post("/{library_id:uuid}/scan", status_code=204, admin=True, permission="library.update")
    async def scan_library(
        self,
        library_id: FromPath[uuid.UUID],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> None:
        """Queue a scan: new files are imported, changed ones re-read, missing ones go offline."""
        await request_scan(deps, (await _library(deps, library_id)).id)

    @get("/{library_id:uuid}/statistics", admin=True, permission="library.statistics")
    async def get_library_statistics(
        self,
        library_id: FromPath[uuid.UUID],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> LibraryStatsResponse:
        """Photos, videos, total and bytes of the library's assets."""
        library = await _library(deps, library_id)
        stats = await libraries.stats(deps.pool, library.id)
        return LibraryStatsResponse(
            photos=stats.photos, videos=stats.videos, total=stats.total, usage=stats.usage
        )

    @post("/{library_id:uuid}/validate", status_code=200, admin=True)
    async def validate(
        self,
        library_id: FromPath[uuid.UUID],
        data: JSONBody[ValidateLibrary],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> ValidateLibraryResponse:
        """Check import paths (each gets ``isValid`` and, when not, why)."""
        await _library(deps, library_id)
        root = _media_root(deps)
        return ValidateLibraryResponse(
            import_paths=[validate_import_path(p, root) for p in data.import_paths or []]
        )


ROUTES = [LibraryController]
