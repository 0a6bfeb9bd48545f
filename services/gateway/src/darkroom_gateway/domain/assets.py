"""Assets: upload (streamed), bulk upload check, asset info, original and thumbnail downloads;
edits, trash/delete, statistics and video playback (helpers in ``asset_edits`` and ``trash``)."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Annotated, Literal, cast, get_args

import msgspec
import structlog
from darkroom_bus import RpcError, RpcTransient
from darkroom_db import (
    albums,
    asset_edits,
    asset_metadata,
    assets,
    exif,
    partners,
    people,
    shared_links,
    stacks,
    tags,
    users,
)
from darkroom_events import (
    AssetHidden,
    AssetShown,
    AssetsTrashed,
    AssetUpdated,
    IngestUploadReply,
    IngestUploadRequest,
)
from darkroom_media.types import (
    WEB_IMAGE_MIME_TYPES,
    extension_of,
    is_sidecar,
    media_type_for,
)
from darkroom_storage import NotFound as StorageNotFound
from litestar import Controller, Request, Response, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, QueryParameter
from litestar.response import Stream

from darkroom_gateway.announce import announce
from darkroom_gateway.auth import Auth
from darkroom_gateway.deps import Deps
from darkroom_gateway.domain import storage_template
from darkroom_gateway.domain.asset_edits import (
    UNSET,
    AssetStats,
    BulkDelete,
    BulkUpdate,
    UpdateAsset,
    Visibility,
    apply_edits,
)
from darkroom_gateway.domain.asset_metadata import parse_upload_metadata
from darkroom_gateway.domain.people import PersonResponse, person_response
from darkroom_gateway.domain.tags import TagResponse, tag_response
from darkroom_gateway.domain.trash import purge_assets, require_owned
from darkroom_gateway.domain.users import UserResponse, check_quota, user_response
from darkroom_gateway.errors import ApiError, BadRequest, NotFound, Unauthorized
from darkroom_gateway.media import serve_object
from darkroom_gateway.permissions import Permission, require_access
from darkroom_gateway.shared_access import link_asset
from darkroom_gateway.upload import MAX_SIDECAR_BYTES, stream_upload

log = structlog.get_logger()

#: Original types browsers display as they are (served for size=fullsize).
WEB_IMAGE_TYPES = WEB_IMAGE_MIME_TYPES


class AssetMediaResponse(msgspec.Struct, frozen=True):
    """Spec: AssetMediaResponseDto."""

    id: str
    status: Literal["created", "duplicate"]


class BulkUploadCheckItem(msgspec.Struct, frozen=True):
    """Spec: AssetBulkUploadCheckItem (checksum is hex or base64 SHA-1)."""

    id: str
    checksum: str


class BulkUploadCheck(msgspec.Struct, frozen=True):
    """Spec: AssetBulkUploadCheckDto."""

    assets: list[BulkUploadCheckItem]


class BulkUploadCheckResult(
    msgspec.Struct, frozen=True, kw_only=True, rename="camel", omit_defaults=True
):
    """Spec: AssetBulkUploadCheckResult."""

    id: str
    action: Literal["accept", "reject"]
    reason: Literal["duplicate", "unsupported-format"] | None = None
    asset_id: str | None = None
    is_trashed: bool | None = None


class BulkUploadCheckResponse(msgspec.Struct, frozen=True):
    """Spec: AssetBulkUploadCheckResponseDto."""

    results: list[BulkUploadCheckResult]


class ExifResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: ExifResponseDto."""

    make: str | None = None
    model: str | None = None
    exif_image_width: int | None = None
    exif_image_height: int | None = None
    file_size_in_byte: int | None = None
    orientation: str | None = None
    date_time_original: datetime | None = None
    modify_date: datetime | None = None
    time_zone: str | None = None
    lens_model: str | None = None
    f_number: float | None = msgspec.field(default=None, name="fNumber")
    focal_length: float | None = None
    iso: int | None = None
    exposure_time: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    description: str | None = None
    projection_type: str | None = None
    rating: int | None = None


class AssetStackResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: AssetStackResponseDto (the stack an asset is in; ``assetCount`` leaves out assets
    in the trash)."""

    id: str
    primary_asset_id: str
    asset_count: int


class AssetResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: AssetResponseDto (the fields Darkroom has so far)."""

    id: str
    owner_id: str
    type: str
    checksum: str
    original_file_name: str
    original_mime_type: str
    original_path: str
    file_created_at: datetime
    file_modified_at: datetime
    local_date_time: datetime
    created_at: datetime
    updated_at: datetime
    duration: int | None
    width: int | None
    height: int | None
    thumbhash: str | None
    is_favorite: bool
    is_archived: bool
    is_trashed: bool
    is_offline: bool
    is_edited: bool
    has_metadata: bool
    visibility: str
    live_photo_video_id: str | None
    duplicate_id: str | None = None
    #: The external library the asset comes from (spec: deprecated, still sent), else null.
    library_id: str | None = None
    exif_info: ExifResponse | None = None
    #: Deprecated in the spec; Immich's ``mapAsset`` always sends true.
    resized: bool = True
    people: list[PersonResponse] = msgspec.field(default_factory=list)
    tags: list[TagResponse] = msgspec.field(default_factory=list)
    #: Filled where Immich fills it (``GET /api/assets/{id}``: the stack or null), else absent.
    stack: AssetStackResponse | None | msgspec.UnsetType = msgspec.UNSET
    #: The owner, where Immich loads it (``GET`` and ``PUT /api/assets/{id}``), else absent.
    owner: UserResponse | msgspec.UnsetType = msgspec.UNSET


class SanitizedAssetResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: SanitizedAssetResponseDto: an asset as a shared link that hides metadata shows it
    (Immich's ``mapAsset(asset, { stripMetadata: true })``): no file name, path, owner,
    checksum, EXIF or dates but the local one."""

    id: str
    type: str
    thumbhash: str | None
    original_mime_type: str
    local_date_time: datetime
    duration: int | None
    live_photo_video_id: str | None
    has_metadata: bool = False
    width: int | None
    height: int | None


def parse_checksum(value: str) -> bytes:
    """A SHA-1 given as 40 hex digits or as base64 -> 20 raw bytes.

    Raises:
        BadRequest: Neither form decodes to 20 bytes.
    """
    value = value.strip()
    try:
        raw = bytes.fromhex(value) if len(value) == 40 else base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise BadRequest(f"Invalid checksum {value!r}") from exc
    if len(raw) != 20:
        raise BadRequest(f"Invalid checksum {value!r}: not a SHA-1")
    return raw


def require_upload_names(asset_name: str, sidecar_name: str | None) -> None:
    """Refuse an upload whose file names are not of an accepted type, as Immich does.

    Immich's ``AssetMediaService.canUploadFile`` (server/src/services/asset-media.service.ts)
    checks the name before the bytes are stored: ``assetData`` must name an image or video
    type (the ``filename`` field when given, else the part's own name), ``sidecarData`` must be
    ``.xmp``. The content is still sniffed afterwards, so a file misnamed as a JPEG is refused
    by ingest. Unlike Immich, the sidecar is judged by its own part name, never by the
    ``filename`` field (Immich would refuse any sidecar sent with a ``filename``).

    An ``.svg``, which Immich takes but Darkroom deliberately does not (see
    :mod:`darkroom_media.types`), is left to ingest, whose refusal says why.

    Args:
        asset_name: The name the asset is uploaded under.
        sidecar_name: The ``sidecarData`` part's name, or None when there is none.

    Raises:
        BadRequest: "Unsupported file type <name>".
    """
    if media_type_for(asset_name) is None and extension_of(asset_name) != ".svg":
        raise BadRequest(f"Unsupported file type {asset_name}")
    if sidecar_name is not None and not is_sidecar(sidecar_name):
        raise BadRequest(f"Unsupported file type {sidecar_name}")


def parse_date(fields: dict[str, str], name: str) -> datetime:
    """An ISO 8601 date-time form field, timezone-aware.

    Raises:
        BadRequest: Missing or not a date-time.
    """
    raw = fields.get(name)
    if not raw:
        raise BadRequest(f"{name} must be a Date instance")
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadRequest(f"{name} must be a Date instance") from exc
    return value if value.tzinfo else value.replace(tzinfo=datetime.now().astimezone().tzinfo)


def _uuid_field(fields: dict[str, str], name: str) -> str | None:
    """An optional UUID form field, normalised.

    Raises:
        BadRequest: Present but not a UUID.
    """
    raw = fields.get(name, "").strip()
    if not raw:
        return None
    try:
        return str(uuid.UUID(raw))
    except ValueError as exc:
        raise BadRequest(f"{name} must be a UUID") from exc


def _bool(fields: dict[str, str], name: str) -> bool:
    return fields.get(name, "").strip().lower() in ("true", "1")


def _upload_visibility(fields: dict[str, str]) -> Visibility:
    """The ``visibility`` form field of an upload (spec: AssetMediaCreateDto), ``timeline``
    when absent or empty, as Immich's ``AssetMediaService`` creates the asset with
    ``dto.visibility ?? AssetVisibility.Timeline`` (immich-go sends ``archive`` for an item
    archived in Google Photos).

    Raises:
        BadRequest: Not one of the AssetVisibility values.
    """
    raw = fields.get("visibility", "").strip()
    if not raw:
        return "timeline"
    if raw not in get_args(Visibility):
        raise BadRequest(f"visibility must be one of {', '.join(get_args(Visibility))}")
    return cast(Visibility, raw)


def asset_response(
    asset: assets.Asset,
    exif_row: exif.Exif | None,
    shown: list[people.Person] | None = None,
    tagged: list[tags.Tag] | None = None,
) -> AssetResponse:
    """Map an asset row (and its EXIF row, if extracted) to AssetResponseDto.

    Args:
        asset: The asset row (``duplicate_id`` becomes ``duplicateId``).
        exif_row: Its EXIF row, or None when not extracted: ``exifInfo`` is then the file size
            alone (every other member null), as Immich's upload stores an EXIF row holding
            ``fileSizeInByte`` before metadata extraction runs (``AssetMediaService.create``;
            jobs.e2e-spec.ts reads ``exifInfo.make`` as null with extraction paused).
        shown: The people in it (``people``; only for its owner), sorted here by name.
        tagged: Its tags (``tags``; only for its owner, by value).
    """
    exif_info = ExifResponse(file_size_in_byte=asset.file_size)
    if exif_row is not None:
        exif_info = ExifResponse(
            make=exif_row.make,
            model=exif_row.model,
            exif_image_width=exif_row.exif_image_width,
            exif_image_height=exif_row.exif_image_height,
            file_size_in_byte=exif_row.file_size_in_byte,
            orientation=exif_row.orientation,
            date_time_original=exif_row.date_time_original,
            modify_date=exif_row.modify_date,
            time_zone=exif_row.time_zone,
            lens_model=exif_row.lens_model,
            f_number=exif_row.f_number,
            focal_length=exif_row.focal_length,
            iso=exif_row.iso,
            exposure_time=exif_row.exposure_time,
            latitude=exif_row.latitude,
            longitude=exif_row.longitude,
            city=exif_row.city,
            state=exif_row.state,
            country=exif_row.country,
            description=exif_row.description,
            projection_type=exif_row.projection_type,
            rating=exif_row.rating,
        )
    return AssetResponse(
        id=str(asset.id),
        owner_id=str(asset.owner_id),
        type=asset.type,
        checksum=base64.b64encode(asset.checksum).decode(),
        original_file_name=asset.original_file_name,
        original_mime_type=asset.original_mime_type,
        original_path=asset.original_path,
        file_created_at=asset.file_created_at,
        file_modified_at=asset.file_modified_at,
        local_date_time=asset.local_date_time,
        created_at=asset.created_at,
        updated_at=asset.updated_at,
        duration=asset.duration_ms,
        width=asset.width,
        height=asset.height,
        thumbhash=base64.b64encode(asset.thumbhash).decode() if asset.thumbhash else None,
        is_favorite=asset.is_favorite,
        is_archived=asset.visibility == "archive",
        is_trashed=asset.status == "trashed",
        is_offline=asset.is_offline,
        is_edited=False,
        has_metadata=exif_row is not None,
        visibility=asset.visibility,
        live_photo_video_id=str(asset.live_photo_video_id) if asset.live_photo_video_id else None,
        duplicate_id=str(asset.duplicate_id) if asset.duplicate_id else None,
        library_id=str(asset.library_id) if asset.library_id else None,
        exif_info=exif_info,
        people=[
            person_response(p)
            for p in sorted(shown or [], key=lambda p: (p.name == "", p.name, str(p.id)))
        ],
        tags=[tag_response(t) for t in tagged or []],
    )


async def _owner(deps: Deps, owner_id: uuid.UUID) -> UserResponse | msgspec.UnsetType:
    """The asset owner's UserResponseDto (what any user may see of another), for the routes
    where Immich loads the owner with the asset; absent if the row is gone (never expected)."""
    user = await users.get_user(deps.pool, owner_id)
    return user_response(user) if user is not None else msgspec.UNSET


def for_link(response: AssetResponse, link: shared_links.SharedLink | None) -> AssetResponse:
    """An asset response as a shared-link visitor gets it: never the storage path or the
    people; when the link's ``showMetadata`` is off, only the SanitizedAssetResponseDto
    members (Immich's ``mapAsset(..., { stripMetadata: true })``: no EXIF, location, file
    name, owner or dates but ``localDateTime``).

    The sanitized one is typed as the AssetResponse it stands for, as the spec has it (its
    routes answer AssetResponseDto): msgspec, and so the gateway's OpenAPI document, cannot
    describe a union of two untagged Structs; it is only ever encoded, never read.

    Args:
        response: The owner's view of the asset.
        link: The caller's link, or None for a user (``response`` is returned unchanged).

    Returns:
        The response to send.
    """
    if link is None:
        return response
    if link.show_metadata:
        return msgspec.structs.replace(response, original_path="", people=[])
    sanitized = SanitizedAssetResponse(
        id=response.id,
        type=response.type,
        thumbhash=response.thumbhash,
        original_mime_type=response.original_mime_type,
        local_date_time=response.local_date_time,
        duration=response.duration,
        live_photo_video_id=response.live_photo_video_id,
        width=response.width,
        height=response.height,
    )
    return cast(AssetResponse, sanitized)


async def serve_original(
    request: Request, deps: Deps, asset: assets.Asset, *, named: bool
) -> Response[bytes] | Stream:
    """Stream an asset's original (Range, ETag = its SHA-1); when ``named``, with its file
    name inline (``Content-Disposition: inline; filename*=...``, as Immich's ``sendFile`` for
    ``downloadOriginal``). An original the storage template moved after the row was loaded is
    served from its new key (:func:`storage_template.moved_key`)."""

    async def serve(key: str) -> Response[bytes] | Stream:
        return await serve_object(
            request,
            deps.storage,
            key,
            media_type=asset.original_mime_type,
            size=asset.file_size,
            etag=asset.checksum.hex(),
            filename=asset.original_file_name if named else None,
            disposition="inline",
        )

    try:
        return await serve(asset.original_path)
    except StorageNotFound:
        moved = await storage_template.moved_key(deps, asset)
        if moved is None:
            raise
        return await serve(moved)


async def serve_file(
    request: Request, deps: Deps, file: assets.AssetFile, filename: str | None = None
) -> Response[bytes] | Stream:
    """Stream a derived file (preview, thumbnail, encoded video), named inline ``filename``
    when given; its ETag changes whenever the file is regenerated (type, update time in ms,
    size)."""
    assert file.size is not None
    etag = f"{file.type}-{int(file.updated_at.timestamp() * 1000)}-{file.size}"
    return await serve_object(
        request,
        deps.storage,
        file.path,
        media_type=file.mime_type,
        size=file.size,
        etag=etag,
        filename=filename,
        disposition="inline",
    )


def media_name(
    asset: assets.Asset, file: assets.AssetFile, link: shared_links.SharedLink | None
) -> str:
    """The file name a rendering is served under, as Immich's ``viewThumbnail`` names it:
    ``<original name without extension>_<size><extension of the rendering>`` (``gen.jpg`` ->
    ``gen_thumbnail.webp``), the asset id for the name through a link that hides metadata;
    an edited rendering is named as the plain one."""
    hidden = link is not None and not link.show_metadata
    base = str(asset.id) if hidden else PurePosixPath(asset.original_file_name).stem
    return f"{base}_{file.type.removeprefix('edited_')}{PurePosixPath(file.path).suffix}"


async def viewer_asset_response(
    deps: Deps, asset: assets.Asset, exif_row: exif.Exif | None, *, as_owner: bool
) -> AssetResponse:
    """``asset`` as one viewer sees it (Immich's ``getAssetInfo``): its owner with the people in
    it and the favourite flag; anyone else (an album member, a partner, a link visitor) with
    ``people`` empty and ``isFavorite`` false, which are the owner's alone. Everyone sees its
    tags (Immich's ``AssetService.get`` loads them for any reader and ``mapAsset`` maps them).
    Used by the REST route and by the websocket's ``on_asset_update``."""
    shown = await people.asset_people(deps.pool, asset.owner_id, asset.id) if as_owner else []
    tagged = await tags.tags_of_asset(deps.pool, asset.id)
    response = asset_response(asset, exif_row, shown, tagged)
    if await asset_edits.edited_ids(deps.pool, [asset.id]):  # non-destructive edits (#19)
        response = msgspec.structs.replace(response, is_edited=True)
    return response if as_owner else msgspec.structs.replace(response, is_favorite=False)


async def asset_stack(deps: Deps, asset: assets.Asset) -> AssetStackResponse | None:
    """The AssetStackResponseDto of the stack ``asset`` is in, or None."""
    if asset.stack_id is None:
        return None
    info = (await stacks.info_of_assets(deps.pool, [asset.id])).get(asset.id)
    if info is None:
        return None
    return AssetStackResponse(
        id=str(info.id), primary_asset_id=str(info.primary_asset_id), asset_count=info.asset_count
    )


async def _own_asset(
    deps: Deps, auth: Auth, asset_id: uuid.UUID, permission: Permission
) -> assets.Asset:
    """One of the caller's own assets.

    Raises:
        NoAccess: There is no such asset of the caller's (``permission`` is named).
    """
    found = await assets.get_asset(deps.pool, auth.user.id, asset_id)
    return require_access(found, permission, unlocked=auth.elevated)


async def viewable_asset(
    deps: Deps, auth: Auth, asset_id: uuid.UUID, permission: Permission
) -> assets.Asset:
    """An asset the caller owns, sees through an album they own or are a member of, or sees
    as a partner of its owner (:func:`_partner_asset`); for a caller through a shared link,
    one of the link's assets (:func:`link_asset`).

    Raises:
        NoAccess: The caller sees no such asset (``permission`` is named).
    """
    if auth.shared_link is not None:
        return await link_asset(deps, auth.shared_link, asset_id, permission)
    asset = await albums.get_viewable_asset(deps.pool, auth.user.id, asset_id)
    if asset is None:
        asset = await _partner_asset(deps, auth, asset_id)
    own = asset is not None and asset.owner_id == auth.user.id
    return require_access(asset, permission, unlocked=own and auth.elevated)


async def _check_motion_video(deps: Deps, auth: Auth, video_id: uuid.UUID) -> None:
    """Refuse to link ``video_id`` as a live photo's motion part unless it is one of the
    caller's videos, with Immich's messages (``onBeforeLink``, server/src/utils/asset.util.ts).

    Raises:
        BadRequest: "Live photo video not found", "... must be a video" or "... does not
            belong to the user".
    """
    video = await assets.get_asset_for_worker(deps.pool, video_id)
    if video is None or video.status == "deleted":
        raise BadRequest("Live photo video not found")
    if video.type != "VIDEO":
        raise BadRequest("Live photo video must be a video")
    if video.owner_id != auth.user.id:
        raise BadRequest("Live photo video does not belong to the user")


async def _partner_asset(deps: Deps, auth: Auth, asset_id: uuid.UUID) -> assets.Asset | None:
    """An asset of a user who shares their library with the caller (read, view and download
    only: the update and delete routes go through :func:`_own_asset`), or None."""
    return await partners.get_partner_asset(deps.pool, auth.user.id, asset_id)


async def _add_to_link(
    deps: Deps, link: shared_links.SharedLink | None, asset_id: uuid.UUID
) -> None:
    """Put an asset uploaded through ``link`` where the link shows it: its album, or the link
    itself (INDIVIDUAL). Nothing without a link."""
    if link is None:
        return
    if link.album_id is not None:
        await albums.add_assets(deps.pool, [link.album_id], [asset_id])
    else:
        await shared_links.add_assets(deps.pool, link.id, [asset_id])


#: The edited rendering served for each ``size`` of ``GET /api/assets/{id}/thumbnail``; any other
#: size gets the edited full size (which carries no EXIF).
_EDITED_KINDS: dict[str, assets.FileType] = {
    "thumbnail": "edited_thumbnail",
    "preview": "edited_preview",
}


class AssetController(Controller):
    """/api/assets."""

    path = "/api/assets"

    @post(
        "/",
        status_code=201,
        request_max_body_size=None,
        permission="asset.upload",
        shared_link=True,
    )
    async def upload_asset(
        self,
        request: Request,
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
        x_immich_checksum: Annotated[
            str | None, HeaderParameter(name="x-immich-checksum", required=False)
        ] = None,
    ) -> Response[AssetMediaResponse]:
        """Upload an original (multipart ``assetData``), streamed to storage while hashing.

        201 with the new asset's id, or 200 ``duplicate`` with the existing one's when the
        caller already has a file with the same SHA-1. File parts: one ``assetData`` and at
        most one ``sidecarData`` (an XMP sidecar of at most 10 MiB, ``MAX_SIDECAR_BYTES``);
        any other file part is refused before it is stored. A ``visibility`` field other than
        ``timeline`` (immich-go sends ``archive``) is given to the new asset, not to a duplicate.
        Fields the spec no longer lists (``deviceAssetId``, ``deviceId``, ``assetType``,
        ``isArchived``, ``isReadOnly``, ``fileExtension``, an ``HH:MM:SS`` ``duration``) are
        accepted and, but for the device ids, ignored, as Immich strips unknown fields.

        Through a shared link with ``allowUpload`` the asset is the link owner's (counted to
        their quota) and goes into the link's album, or into the link for an INDIVIDUAL one
        (duplicates too), as Immich's ``AssetMediaService`` does.

        Raises:
            BadRequest: Malformed multipart, a missing ``assetData``, an unexpected or repeated
                file part, bad form fields, or a file ingest rejects.
            PayloadTooLarge: The sidecar is over 10 MiB (413).
            Unauthorized: A shared link without ``allowUpload`` (Immich's
                ``requireUploadAccess``).
        """
        link = auth.shared_link
        if link is not None and not link.allow_upload:
            raise Unauthorized("Unauthorized")
        if x_immich_checksum:
            found = await assets.find_by_checksum(
                deps.pool, auth.user.id, parse_checksum(x_immich_checksum)
            )
            if found is not None:
                await _add_to_link(deps, link, found[0])
                return Response(
                    AssetMediaResponse(id=str(found[0]), status="duplicate"), status_code=200
                )
        parsed = await stream_upload(
            request.stream(),
            request.headers.get("content-type", ""),
            deps.storage,
            files={"assetData": None, "sidecarData": MAX_SIDECAR_BYTES},
            staging_prefix=f"staging/{auth.user.id}",
            queue_chunks=deps.settings.upload_queue_chunks,
        )
        staged = [f.key for f in parsed.files.values()]
        try:
            data = parsed.files.get("assetData")
            if data is None:
                raise BadRequest("assetData is required")
            fields = parsed.fields
            sidecar = parsed.files.get("sidecarData")
            file_name = fields.get("filename") or data.filename or "upload"
            require_upload_names(file_name, sidecar.filename if sidecar else None)
            await check_quota(deps.pool, auth.user.id, data.size)
            metadata = parse_upload_metadata(fields.get("metadata"))
            visibility = _upload_visibility(fields)
            duration = fields.get("duration", "")
            request_msg = IngestUploadRequest(
                owner_id=str(auth.user.id),
                staging_key=data.key,
                checksum=data.sha1,
                file_size=data.size,
                original_file_name=file_name,
                device_asset_id=fields.get("deviceAssetId") or f"web-{data.sha1}",
                device_id=fields.get("deviceId") or "WEB",
                file_created_at=parse_date(fields, "fileCreatedAt"),
                file_modified_at=parse_date(fields, "fileModifiedAt"),
                is_favorite=_bool(fields, "isFavorite"),
                duration_ms=int(duration) if duration.isdigit() else None,
                sidecar_staging_key=sidecar.key if sidecar else None,
                live_photo_video_id=_uuid_field(fields, "livePhotoVideoId"),
                visibility=visibility,
            )
            try:
                reply = await deps.bus.request(
                    IngestUploadRequest.subject,
                    request_msg,
                    IngestUploadReply,
                    timeout=deps.settings.rpc_timeout_s,
                )
            except RpcTransient:
                raise  # ingest or its database is down for now: 503 + Retry-After (errors.py)
            except RpcError as exc:
                log.error("upload.ingest_failed", error=str(exc))
                raise ApiError("The server could not store the upload; try again") from exc
            staged = []  # ingest owns the staged objects now
        finally:
            for key in staged:
                await deps.storage.delete(key)
        if reply.status == "rejected" or reply.asset_id is None:
            raise BadRequest(reply.error or "Upload rejected")
        if metadata and reply.status == "created":
            asset_id = uuid.UUID(reply.asset_id)
            await asset_metadata.upsert(deps.pool, auth.user.id, [(asset_id, *m) for m in metadata])
        await _add_to_link(deps, link, uuid.UUID(reply.asset_id))
        code = 201 if reply.status == "created" else 200
        return Response(
            AssetMediaResponse(id=reply.asset_id, status=reply.status), status_code=code
        )

    @post("/bulk-upload-check", status_code=200, permission="asset.upload")
    async def check_bulk_upload(
        self,
        data: JSONBody[BulkUploadCheck],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> BulkUploadCheckResponse:
        """Which of these files (by SHA-1) the caller already has."""
        checksums = [parse_checksum(item.checksum) for item in data.assets]
        existing = await assets.find_by_checksums(deps.pool, auth.user.id, checksums)
        results = []
        for item, checksum in zip(data.assets, checksums, strict=True):
            hit = existing.get(checksum)
            if hit is None:
                results.append(BulkUploadCheckResult(id=item.id, action="accept"))
            else:
                results.append(
                    BulkUploadCheckResult(
                        id=item.id,
                        action="reject",
                        reason="duplicate",
                        asset_id=str(hit[0]),
                        is_trashed=hit[1],
                    )
                )
        return BulkUploadCheckResponse(results=results)

    @get("/{asset_id:uuid}", permission="asset.read", shared_link=True)
    async def get_asset_info(
        self,
        asset_id: FromPath[uuid.UUID],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
        key: Annotated[str | None, QueryParameter(name="key", required=False)] = None,
        slug: Annotated[str | None, QueryParameter(name="slug", required=False)] = None,
    ) -> AssetResponse:
        """An asset the caller owns or sees in an album or as a partner, with its EXIF once
        extracted. People and the favourite flag are the owner's alone: another viewer gets
        ``people`` empty and ``isFavorite`` false (Immich's ``mapAsset``/``getAssetInfo``).
        A link visitor gets no owner, and only the sanitized asset from a link that hides
        metadata (:func:`for_link`)."""
        asset = await viewable_asset(deps, auth, asset_id, "asset.read")
        link = auth.shared_link
        owner = asset.owner_id == auth.user.id and link is None
        exif_row = await exif.get_exif(deps.pool, asset.owner_id, asset_id)
        response = await viewer_asset_response(deps, asset, exif_row, as_owner=owner)
        if link is None or link.show_metadata:  # Immich's getAssetInfo maps it withStack
            response = msgspec.structs.replace(response, stack=await asset_stack(deps, asset))
        if link is None:
            response = msgspec.structs.replace(response, owner=await _owner(deps, asset.owner_id))
        return for_link(response, link)

    @get("/{asset_id:uuid}/original", permission="asset.download", shared_link=True)
    async def download_asset(
        self,
        asset_id: FromPath[uuid.UUID],
        request: Request,
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
        edited: FromQuery[bool] = False,
        key: Annotated[str | None, QueryParameter(name="key", required=False)] = None,
        slug: Annotated[str | None, QueryParameter(name="slug", required=False)] = None,
    ) -> Response[bytes] | Stream:
        """The original file, byte for byte (Range and ETag supported), named inline; with
        ``edited`` and edits saved, the full-size rendering with the edits applied
        (:mod:`.edits`), named after the original with the rendering's extension. A shared
        link visitor always gets the edited one when there is one (Immich's
        ``downloadOriginal`` sets ``edited`` for a shared link)."""
        asset = await viewable_asset(deps, auth, asset_id, "asset.download")
        if edited or auth.shared_link is not None:
            file = await assets.get_file(deps.pool, asset.owner_id, asset_id, "edited_fullsize")
            if file is not None and file.size is not None:
                stem = PurePosixPath(asset.original_file_name).stem
                return await serve_file(
                    request, deps, file, f"{stem}{PurePosixPath(file.path).suffix}"
                )
        return await serve_original(request, deps, asset, named=True)

    @get("/{asset_id:uuid}/thumbnail", permission="asset.view", shared_link=True)
    async def view_asset(
        self,
        asset_id: FromPath[uuid.UUID],
        request: Request,
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
        size: FromQuery[Literal["original", "fullsize", "preview", "thumbnail"]] = "thumbnail",
        edited: FromQuery[bool] = False,
        key: Annotated[str | None, QueryParameter(name="key", required=False)] = None,
        slug: Annotated[str | None, QueryParameter(name="slug", required=False)] = None,
    ) -> Response[bytes] | Stream:
        """The thumbnail (WebP, 250 px), preview (JPEG, 1440 px) or full-size image of an asset,
        named inline ``<name>_<size>.<ext>`` (:func:`media_name`).

        ``fullsize`` gives the original when browsers can show it; for other photos (HEIC,
        RAW, TIFF...) the full-size rendering the thumbnail service keeps when
        ``image.fullsize.enabled`` (:mod:`darkroom_thumbnail.fullsize`), else the preview, as
        Immich's ``viewThumbnail`` downgrades to the preview when there is no full-size file.
        The original only through a shared link with ``allowDownload`` (it carries its EXIF
        and location: a link that hides them or refuses downloads gets the preview).
        With ``edited`` (spec: "Return edited asset if available"), the rendering with the
        asset's edits applied when there is one (:mod:`.edits`); a shared link visitor always
        gets that one (Immich's ``viewThumbnail`` sets ``edited`` for a shared link).

        Raises:
            BadRequest: ``size=original`` (Immich: "May not request original file").
        """
        asset = await viewable_asset(deps, auth, asset_id, "asset.view")
        if size == "original":
            raise BadRequest("May not request original file")
        link = auth.shared_link
        edited = edited or link is not None
        originals_ok = link is None or link.allow_download
        full = size == "fullsize" and originals_ok
        kind: Literal["thumbnail", "preview"] = "thumbnail" if size == "thumbnail" else "preview"
        edited_kind = _EDITED_KINDS.get(size, "edited_fullsize")
        # every file this answer may come from, in one query (the web app's tiles ask `edited`:
        # the edited rendering first, then the plain one)
        wanted: list[assets.FileType] = [kind]
        if edited:
            wanted.append(edited_kind)
        if full:
            wanted.append("fullsize")
        files = await assets.get_files(deps.pool, asset.owner_id, asset_id, wanted)
        stored = {t: f for t, f in files.items() if f.size is not None}  # written, not pending
        if edited and edited_kind in stored:
            file = stored[edited_kind]
        elif full and asset.original_mime_type in WEB_IMAGE_TYPES:
            # Immich redirects to the original's route, which names it as it was uploaded
            return await serve_original(request, deps, asset, named=True)
        elif full and "fullsize" in stored:
            file = stored["fullsize"]
        elif kind in stored:
            file = stored[kind]
        else:
            raise NotFound("Asset media not found")
        return await serve_file(request, deps, file, media_name(asset, file, link))

    @put("/{asset_id:uuid}", permission="asset.update")
    async def update_asset(
        self,
        asset_id: FromPath[uuid.UUID],
        data: JSONBody[UpdateAsset],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> AssetResponse:
        """Edit one of the caller's assets; the asset as it is now. Moving it into the locked
        folder needs a session unlocked with the PIN code (401 otherwise); a locked asset is
        only found through one (400 otherwise). ``livePhotoVideoId: null`` unlinks the motion
        video, which shows again with the still's visibility; its owner's clients are told as
        of a new upload (``AssetShown``: ``on_upload_success``, ``AssetUploadReadyV1/V2``), as
        Immich's ``onAfterUnlink`` (server/src/utils/asset.util.ts) emits ``AssetShow``."""
        if data.visibility == "locked":
            auth.require_elevated()
        before = await _own_asset(deps, auth, asset_id, "asset.update")
        if isinstance(data.live_photo_video_id, uuid.UUID):  # before any edit, as Immich
            await _check_motion_video(deps, auth, data.live_photo_video_id)
        await apply_edits(
            deps,
            auth.user.id,
            [asset_id],
            is_favorite=data.is_favorite,
            visibility=data.visibility,
            description=data.description,
            date_time_original=data.date_time_original,
            time_zone=UNSET,
            shift_minutes=UNSET,
            latitude=data.latitude,
            longitude=data.longitude,
            rating=data.rating,
        )
        if data.live_photo_video_id is not UNSET:
            async with deps.pool.acquire() as conn, conn.transaction():
                if not await assets.set_live_photo_video(
                    conn, auth.user.id, asset_id, data.live_photo_video_id
                ):
                    raise BadRequest("livePhotoVideoId must be one of your videos")
            if data.live_photo_video_id is not None:  # the motion part is hidden now
                hidden = AssetHidden(
                    asset_id=str(data.live_photo_video_id),
                    owner_id=str(auth.user.id),
                    still_id=str(asset_id),
                )
                await announce(deps, hidden)
            elif before.live_photo_video_id is not None:  # unlinked: the video shows again
                shown = AssetShown(
                    asset_id=str(before.live_photo_video_id),
                    owner_id=str(auth.user.id),
                    still_id=str(asset_id),
                )
                await announce(deps, shown)
        asset = await _own_asset(deps, auth, asset_id, "asset.update")
        await announce(
            deps,
            AssetUpdated(asset_id=str(asset_id), owner_id=str(auth.user.id), at=datetime.now(UTC)),
        )
        response = asset_response(
            asset,
            await exif.get_exif(deps.pool, auth.user.id, asset_id),
            await people.asset_people(deps.pool, auth.user.id, asset_id),
            await tags.tags_of_asset(deps.pool, asset_id),
        )
        return msgspec.structs.replace(response, owner=await _owner(deps, asset.owner_id))

    @put("/", status_code=204, permission="asset.update")
    async def update_assets(
        self, data: JSONBody[BulkUpdate], auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> None:
        """Edit many of the caller's assets at once (400 when one is not theirs, or locked
        without an unlocked session, or ``duplicateId`` is not a UUID; moving into the locked
        folder needs one: 401)."""
        if data.visibility == "locked":
            auth.require_elevated()
        duplicate_id: uuid.UUID | None = None
        if isinstance(data.duplicate_id, str):
            try:
                duplicate_id = uuid.UUID(data.duplicate_id)
            except ValueError as exc:
                raise BadRequest("duplicateId must be a UUID") from exc
        await require_owned(deps, auth, data.ids, "asset.update")
        if not data.ids:
            return
        if data.duplicate_id is None or duplicate_id is not None:  # sent: a group, or null
            # Immich's bulk update writes it as given: the web app dismisses a group with null
            await assets.set_duplicate_id(deps.pool, auth.user.id, data.ids, duplicate_id)
        await apply_edits(
            deps,
            auth.user.id,
            data.ids,
            is_favorite=data.is_favorite,
            visibility=data.visibility,
            description=data.description,
            date_time_original=data.date_time_original,
            time_zone=data.time_zone,
            shift_minutes=data.date_time_relative,
            latitude=data.latitude,
            longitude=data.longitude,
            rating=data.rating,
        )
        now = datetime.now(UTC)
        for asset_id in data.ids:
            await announce(
                deps, AssetUpdated(asset_id=str(asset_id), owner_id=str(auth.user.id), at=now)
            )

    @delete("/", status_code=204, permission="asset.delete")
    async def delete_assets(
        self, data: JSONBody[BulkDelete], auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> None:
        """Move assets to the trash, or with ``force`` delete them and their files for good."""
        await require_owned(deps, auth, data.ids, "asset.delete")
        if data.force:
            await purge_assets(deps, auth.user.id, data.ids)
        elif await assets.trash_assets(deps.pool, auth.user.id, data.ids):
            await announce(
                deps,
                AssetsTrashed(
                    owner_id=str(auth.user.id),
                    asset_ids=[str(i) for i in data.ids],
                    at=datetime.now(UTC),
                ),
            )

    @get("/statistics", permission="asset.statistics")
    async def get_asset_statistics(
        self,
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
        is_favorite: Annotated[bool | None, QueryParameter(name="isFavorite")] = None,
        is_trashed: Annotated[bool | None, QueryParameter(name="isTrashed")] = None,
        visibility: FromQuery[Visibility | None] = None,
    ) -> AssetStats:
        """How many images and videos the caller has (trash, favourites, visibility filters;
        the locked ones only through an unlocked session: 401 otherwise, as Immich)."""
        if visibility == "locked":
            auth.require_elevated()
        images, videos, total = await assets.statistics(
            deps.pool,
            auth.user.id,
            is_favorite=is_favorite,
            is_trashed=is_trashed,
            visibility=visibility,
        )
        return AssetStats(images=images, videos=videos, total=total)

    @get("/{asset_id:uuid}/video/playback", permission="asset.view", shared_link=True)
    async def play_asset_video(
        self,
        asset_id: FromPath[uuid.UUID],
        request: Request,
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
        key: Annotated[str | None, QueryParameter(name="key", required=False)] = None,
        slug: Annotated[str | None, QueryParameter(name="slug", required=False)] = None,
    ) -> Response[bytes] | Stream:
        """A video for the player: the transcoded MP4 once there is one, else the original.

        Range requests are answered with 206 (players seek with them). Album members play the
        album's videos and the motion of its live photos, as they see their thumbnails.

        Raises:
            NoAccess: Neither the caller's asset nor one they see through an album.
            BadRequest: The asset is not a video.
        """
        asset = await viewable_asset(deps, auth, asset_id, "asset.view")
        if asset.type != "VIDEO":
            raise BadRequest("Asset is not a video")
        encoded = await assets.get_file(deps.pool, asset.owner_id, asset_id, "encoded_video")
        if encoded is not None and encoded.size is not None:
            return await serve_file(request, deps, encoded)
        return await serve_original(request, deps, asset, named=False)


ROUTES = [AssetController]
