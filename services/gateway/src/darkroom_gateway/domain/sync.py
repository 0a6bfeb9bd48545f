"""Mobile sync (/api/sync): a JSON-lines stream of changes since each type's checkpoint, and the
checkpoints themselves (acks).

The mobile app asks for request types (``SyncRequestType``: ``AssetsV1``, ``AlbumsV1``, ...);
each is answered with lines of one or more entity types (``SyncEntityType``: deletions first,
then upserts), one JSON object per line: ``{"type": ..., "data": {...}, "ack": "..."}``. The
ack is ``"<entity type>|<position>|<row key>"``; the app posts the last ack of each type it has
stored to POST /api/sync/ack and the next stream resumes after it. The stream ends with a
``SyncCompleteV1`` line. A session marked ``isPendingSyncReset``, or whose checkpoints are older
than the retained deletion audit (:func:`darkroom_db.sync.needs_reset`), gets one
``SyncResetV1`` line (and nothing else) until it acks that line or streams with ``reset:
true``; either forgets its checkpoints.

Sync state belongs to a session, so API keys are refused (403), as in Immich. Positions,
visibility and why no change is ever skipped: :mod:`darkroom_db.sync` and migration
``0005_sync.sql``. What is served and what is not yet: docs/sync.md.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import date
from typing import Any, Literal

import msgspec
import structlog
from darkroom_db import sync
from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.response import Stream

from darkroom_gateway.auth import Auth
from darkroom_gateway.deps import Deps
from darkroom_gateway.errors import BadRequest, Forbidden
from darkroom_gateway.http import immich_dates

log = structlog.get_logger()

#: Rows fetched per query while streaming.
PAGE_SIZE = 500
MEDIA_TYPE = "application/jsonlines+json"

SyncRequestType = Literal[
    "AlbumsV1",
    "AlbumsV2",
    "AlbumUsersV1",
    "AlbumToAssetsV1",
    "AlbumAssetsV1",
    "AlbumAssetsV2",
    "AlbumAssetExifsV1",
    "AssetsV1",
    "AssetsV2",
    "AssetExifsV1",
    "AssetEditsV1",
    "AssetMetadataV1",
    "AssetOcrV1",
    "AuthUsersV1",
    "MemoriesV1",
    "MemoryToAssetsV1",
    "PartnersV1",
    "PartnerAssetsV1",
    "PartnerAssetsV2",
    "PartnerAssetExifsV1",
    "PartnerStacksV1",
    "StacksV1",
    "UsersV1",
    "PeopleV1",
    "AssetFacesV1",
    "AssetFacesV2",
    "UserMetadataV1",
]

#: Spec: SyncEntityType (every value; acks must name one).
ENTITY_TYPES = frozenset(
    {
        "AuthUserV1", "UserV1", "UserDeleteV1", "AssetV1", "AssetV2", "AssetDeleteV1",
        "AssetExifV1", "AssetEditV1", "AssetEditDeleteV1", "AssetMetadataV1",
        "AssetMetadataDeleteV1", "AssetOcrV1", "AssetOcrDeleteV1", "PartnerV1",
        "PartnerDeleteV1", "PartnerAssetV1", "PartnerAssetV2", "PartnerAssetBackfillV1",
        "PartnerAssetBackfillV2", "PartnerAssetDeleteV1", "PartnerAssetExifV1",
        "PartnerAssetExifBackfillV1", "PartnerStackBackfillV1", "PartnerStackDeleteV1",
        "PartnerStackV1", "AlbumV1", "AlbumV2", "AlbumDeleteV1", "AlbumUserV1",
        "AlbumUserBackfillV1", "AlbumUserDeleteV1", "AlbumAssetCreateV1", "AlbumAssetCreateV2",
        "AlbumAssetUpdateV1", "AlbumAssetUpdateV2", "AlbumAssetBackfillV1",
        "AlbumAssetBackfillV2", "AlbumAssetExifCreateV1", "AlbumAssetExifUpdateV1",
        "AlbumAssetExifBackfillV1", "AlbumToAssetV1", "AlbumToAssetDeleteV1",
        "AlbumToAssetBackfillV1", "MemoryV1", "MemoryDeleteV1", "MemoryToAssetV1",
        "MemoryToAssetDeleteV1", "StackV1", "StackDeleteV1", "PersonV1", "PersonDeleteV1",
        "AssetFaceV1", "AssetFaceV2", "AssetFaceDeleteV1", "UserMetadataV1",
        "UserMetadataDeleteV1", "SyncAckV1", "SyncResetV1", "SyncCompleteV1",
    }
)  # fmt: skip

#: Served request types, in the order they are streamed: Immich's ``SYNC_TYPES_ORDER``
#: (server/src/services/sync.service.ts), whatever order the request lists them in. Album assets
#: come before the albums that point at them (``thumbnailAssetId``), EXIF after the assets,
#: faces after people. Each maps to the entity types it produces (deletions first).
SERVED: dict[str, tuple[str, ...]] = {
    "AuthUsersV1": ("AuthUserV1",),
    "UsersV1": ("UserDeleteV1", "UserV1"),
    "PartnersV1": ("PartnerDeleteV1", "PartnerV1"),
    "AssetsV1": ("AssetDeleteV1", "AssetV1"),
    "AssetsV2": ("AssetDeleteV1", "AssetV2"),
    "StacksV1": ("StackDeleteV1", "StackV1"),  # stacks (#16)
    "PartnerAssetsV1": ("PartnerAssetDeleteV1", "PartnerAssetBackfillV1", "PartnerAssetV1"),
    "PartnerAssetsV2": ("PartnerAssetDeleteV1", "PartnerAssetBackfillV2", "PartnerAssetV2"),
    "PartnerStacksV1": ("PartnerStackDeleteV1", "PartnerStackBackfillV1", "PartnerStackV1"),
    "AlbumAssetsV1": ("AlbumAssetCreateV1",),
    "AlbumAssetsV2": ("AlbumAssetCreateV2",),
    "AlbumsV1": ("AlbumDeleteV1", "AlbumV1"),
    "AlbumsV2": ("AlbumDeleteV1", "AlbumV2"),
    "AlbumUsersV1": ("AlbumUserDeleteV1", "AlbumUserV1"),
    "AlbumToAssetsV1": ("AlbumToAssetDeleteV1", "AlbumToAssetV1"),
    "AssetExifsV1": ("AssetExifV1",),
    "AlbumAssetExifsV1": ("AlbumAssetExifCreateV1",),
    "AssetOcrV1": ("AssetOcrDeleteV1", "AssetOcrV1"),
    "PartnerAssetExifsV1": ("PartnerAssetExifBackfillV1", "PartnerAssetExifV1"),
    "MemoriesV1": ("MemoryDeleteV1", "MemoryV1"),
    "MemoryToAssetsV1": ("MemoryToAssetDeleteV1", "MemoryToAssetV1"),
    "PeopleV1": ("PersonDeleteV1", "PersonV1"),
    "AssetFacesV1": ("AssetFaceDeleteV1", "AssetFaceV1"),
    "AssetFacesV2": ("AssetFaceDeleteV1", "AssetFaceV2"),
    "UserMetadataV1": ("UserMetadataDeleteV1", "UserMetadataV1"),
    "AssetMetadataV1": ("AssetMetadataDeleteV1", "AssetMetadataV1"),
    "AssetEditsV1": ("AssetEditDeleteV1", "AssetEditV1"),  # non-destructive edits (#19)
}


#: Backfill entity type -> the upsert type whose checkpoint bounds it (``upto`` of
#: :func:`darkroom_db.sync.changes`). As Immich's sync.service: a session with no upsert
#: checkpoint gets no backfill (its upserts send everything); otherwise each partnership made
#: after that checkpoint is back-filled with the sharer's rows up to it, before the upserts, and
#: closed by a ``SyncAckV1`` line whose ack marks that backfill done.
BACKFILL_OF = {
    "PartnerAssetBackfillV1": "PartnerAssetV1",
    "PartnerAssetBackfillV2": "PartnerAssetV2",
    "PartnerAssetExifBackfillV1": "PartnerAssetExifV1",
    "PartnerStackBackfillV1": "PartnerStackV1",
}


class SyncStream(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: SyncStreamDto."""

    types: list[SyncRequestType]
    reset: bool = False


class SyncAckSet(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: SyncAckSetDto (at most 1000 acks)."""

    acks: list[str]


class SyncAckDelete(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: SyncAckDeleteDto (no ``types``: every type)."""

    types: list[str] | None = None


class SyncAck(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: SyncAckDto."""

    type: str
    ack: str


# --- line data (field names as the spec's Sync*V1 schemas) ------------------------------------


def _duration(ms: int | None) -> str | None:
    """Milliseconds -> Immich's duration string ``H:MM:SS.ffffff`` (SyncAssetV1.duration)."""
    if ms is None:
        return None
    seconds, millis = divmod(ms, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}.{millis * 1000:06d}"


def _user(row: dict[str, Any]) -> dict[str, Any]:
    """SyncUserV1. ``avatarColor`` is the stored colour, null when the user never chose one
    (Immich's ``columns.syncUser`` selects it as stored; the REST API's fallback colour is not
    sent, and the app shows ``primary`` for null)."""
    return {
        "id": row["id"],
        "name": row["name"],
        "email": row["email"],
        "avatarColor": row["avatar_color"],
        "deletedAt": row["deleted_at"],
        "hasProfileImage": bool(row["profile_image_path"]),
        "profileChangedAt": row["profile_changed_at"],
    }


#: What SyncAuthUserV1 ``pinCode`` carries when the user has a PIN code. Immich sends the
#: stored hash and the app only tests it for null; Darkroom never sends a secret's hash (a
#: six-digit PIN's bcrypt hash is guessed offline), so a fixed marker stands in for it.
PIN_CODE_SET = "set"


def _auth_user(row: dict[str, Any]) -> dict[str, Any]:
    """SyncAuthUserV1 (``pinCode``: :data:`PIN_CODE_SET` or null, never the hash)."""
    return _user(row) | {
        "isAdmin": row["is_admin"],
        "oauthId": row["oauth_id"],
        "pinCode": PIN_CODE_SET if row.get("has_pin_code") else None,
        "quotaSizeInBytes": row["quota_size_in_bytes"],
        "quotaUsageInBytes": row["quota_usage_in_bytes"],
        "storageLabel": row["storage_label"],
    }


def _asset(row: dict[str, Any], *, v2: bool = False) -> dict[str, Any]:
    """SyncAssetV1 (``duration`` a string) or SyncAssetV2 (``duration`` in milliseconds)."""
    thumbhash: bytes | None = row["thumbhash"]
    return {
        "id": row["id"],
        "ownerId": row["owner_id"],
        "originalFileName": row["original_file_name"],
        "thumbhash": base64.b64encode(thumbhash).decode() if thumbhash else None,
        "checksum": base64.b64encode(row["checksum"]).decode(),
        "fileCreatedAt": row["file_created_at"],
        "fileModifiedAt": row["file_modified_at"],
        "localDateTime": row["local_date_time"],
        "createdAt": row["created_at"],
        "deletedAt": row["deleted_at"],
        "duration": row["duration_ms"] if v2 else _duration(row["duration_ms"]),
        "type": row["type"],
        "visibility": row["visibility"],
        "isFavorite": row["is_favorite"],
        "isEdited": bool(row.get("is_edited", False)),
        "livePhotoVideoId": row["live_photo_video_id"],
        "stackId": row.get("stack_id"),
        "libraryId": row.get("library_id"),  # the external library's (migration 0027)
        "width": row["width"],
        "height": row["height"],
    }


def _exif(row: dict[str, Any]) -> dict[str, Any]:
    """SyncAssetExifV1 (``profileDescription`` is not extracted: null)."""
    return {
        "assetId": row["asset_id"],
        "description": row["description"],
        "exifImageWidth": row["exif_image_width"],
        "exifImageHeight": row["exif_image_height"],
        "fileSizeInByte": row["file_size_in_byte"],
        "orientation": row["orientation"],
        "dateTimeOriginal": row["date_time_original"],
        "modifyDate": row["modify_date"],
        "timeZone": row["time_zone"],
        "latitude": row["latitude"],
        "longitude": row["longitude"],
        "projectionType": row["projection_type"],
        "city": row["city"],
        "state": row["state"],
        "country": row["country"],
        "make": row["make"],
        "model": row["model"],
        "lensModel": row["lens_model"],
        "fNumber": row["f_number"],
        "focalLength": row["focal_length"],
        "iso": row["iso"],
        "exposureTime": row["exposure_time"],
        "profileDescription": None,
        "rating": row["rating"],
        "fps": row["fps"],
    }


def _album(row: dict[str, Any], *, v2: bool = False) -> dict[str, Any]:
    """SyncAlbumV1, or SyncAlbumV2 (the same without ``ownerId``)."""
    data = {
        "id": row["id"],
        "name": row["album_name"],
        "description": row["description"],
        "createdAt": row["created_at"],
        "updatedAt": row["updated_at"],
        "thumbnailAssetId": row["album_thumbnail_asset_id"],
        "isActivityEnabled": row["is_activity_enabled"],
        "order": row["order"],
    }
    if not v2:
        data["ownerId"] = row["owner_id"]
    return data


def _person(row: dict[str, Any]) -> dict[str, Any]:
    """SyncPersonV1. ``birthDate`` is a date-time in the spec: midnight UTC of the date,
    written as Immich's ``JSON.stringify`` writes the ``Date`` its driver makes of a ``date``
    column (``1990-05-01T00:00:00.000Z``; the stream's rewrite of instants knows only the REST
    API's date-time fields, where ``birthDate`` is a plain date)."""
    birth: date | None = row["birth_date"]
    return {
        "id": row["id"],
        "ownerId": row["owner_id"],
        "name": row["name"],
        "birthDate": None if birth is None else f"{birth.isoformat()}T00:00:00.000Z",
        "isHidden": row["is_hidden"],
        "isFavorite": row["is_favorite"],
        "color": row["color"],
        "faceAssetId": None if row["face_asset_id"] is None else str(row["face_asset_id"]),
        "createdAt": row["created_at"],
        "updatedAt": row["updated_at"],
    }


def _face(row: dict[str, Any], *, v2: bool = False) -> dict[str, Any]:
    """SyncAssetFaceV1, or SyncAssetFaceV2 (plus ``deletedAt``, set on a face deleted without
    ``force``, and ``isVisible``: Darkroom has no hidden faces). As Immich's AssetFaceSync, a
    soft-deleted face is an upsert; V1 leaves ``deletedAt`` out (``syncAssetFaceV2ToV1``)."""
    data = {
        "id": row["id"],
        "assetId": row["asset_id"],
        "personId": None if row["person_id"] is None else str(row["person_id"]),
        "imageWidth": row["image_width"],
        "imageHeight": row["image_height"],
        "boundingBoxX1": row["bounding_box_x1"],
        "boundingBoxY1": row["bounding_box_y1"],
        "boundingBoxX2": row["bounding_box_x2"],
        "boundingBoxY2": row["bounding_box_y2"],
        "sourceType": row["source_type"],
    }
    if v2:
        data |= {"deletedAt": row["deleted_at"], "isVisible": True}
    return data


def _ocr(row: dict[str, Any]) -> dict[str, Any]:
    """SyncAssetOcrV1: the box's four corners (0..1 of the preview, clockwise from top-left).
    Darkroom keeps one recognition score per line, sent as both ``boxScore`` and
    ``textScore``."""
    x1, y1, x2, y2, x3, y3, x4, y4 = (float(v) for v in row["box"])
    score = float(row["score"])
    return {
        "id": row["uid"],
        "assetId": row["asset_id"],
        "text": row["text"],
        "x1": x1, "y1": y1, "x2": x2, "y2": y2, "x3": x3, "y3": y3, "x4": x4, "y4": y4,
        "boxScore": score,
        "textScore": score,
        "isVisible": True,
    }  # fmt: skip


def _metadata(owner: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """SyncAssetMetadataV1 (``owner`` = "assetId") or SyncUserMetadataV1 ("userId")."""
    column = "asset_id" if owner == "assetId" else "user_id"
    return lambda row: {
        owner: row[column],
        "key": row["metadata_key"],
        "value": msgspec.Raw(row["value"].encode()),
    }


def _edit(row: dict[str, Any]) -> dict[str, Any]:
    """SyncAssetEditV1 (``parameters`` as stored: the spec's Crop/Rotate/MirrorParameters)."""
    return {
        "id": row["id"],
        "assetId": row["asset_id"],
        "action": row["action"],
        "parameters": msgspec.Raw(row["parameters"].encode()),
        "sequence": row["sequence"],
    }


def _stack(row: dict[str, Any]) -> dict[str, Any]:
    """SyncStackV1."""
    return {
        "id": row["id"],
        "ownerId": row["owner_id"],
        "primaryAssetId": row["primary_asset_id"],
        "createdAt": row["created_at"],
        "updatedAt": row["updated_at"],
    }


def _memory(row: dict[str, Any]) -> dict[str, Any]:
    """SyncMemoryV1 (Darkroom deletes memories for good: ``deletedAt`` is always null)."""
    return {
        "id": row["id"],
        "ownerId": row["owner_id"],
        "type": row["type"],
        "data": msgspec.Raw(row["data"].encode()),
        "memoryAt": row["memory_at"],
        "showAt": row["show_at"],
        "hideAt": row["hide_at"],
        "seenAt": row["seen_at"],
        "isSaved": row["is_saved"],
        "createdAt": row["created_at"],
        "updatedAt": row["updated_at"],
        "deletedAt": None,
    }


def _fields(**names: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A line builder copying row columns to camelCase fields (``albumId="album_id"``)."""
    return lambda row: {field: row[column] for field, column in names.items()}


#: Entity type -> (repository source, line data builder).
ENTITIES: dict[str, tuple[str, Callable[[dict[str, Any]], dict[str, Any]]]] = {
    "AuthUserV1": ("AuthUserV1", _auth_user),
    "UserDeleteV1": ("UserDeleteV1", _fields(userId="user_id")),
    "UserV1": ("UserV1", _user),
    "AssetDeleteV1": ("AssetDeleteV1", _fields(assetId="asset_id")),
    "AssetV1": ("AssetV1", _asset),
    "AssetV2": ("AssetV1", lambda row: _asset(row, v2=True)),
    "AssetExifV1": ("AssetExifV1", _exif),
    "AlbumDeleteV1": ("AlbumDeleteV1", _fields(albumId="album_id")),
    "AlbumV1": ("AlbumV1", _album),
    "AlbumV2": ("AlbumV1", lambda row: _album(row, v2=True)),
    "AlbumUserDeleteV1": ("AlbumUserDeleteV1", _fields(albumId="album_id", userId="user_id")),
    "AlbumUserV1": ("AlbumUserV1", _fields(albumId="album_id", userId="user_id", role="role")),
    "AlbumAssetCreateV1": ("AlbumAssetCreateV1", _asset),
    "AlbumAssetCreateV2": ("AlbumAssetCreateV1", lambda row: _asset(row, v2=True)),
    "AlbumAssetExifCreateV1": ("AlbumAssetExifCreateV1", _exif),
    "AlbumToAssetDeleteV1": (
        "AlbumToAssetDeleteV1",
        _fields(albumId="album_id", assetId="asset_id"),
    ),
    "AlbumToAssetV1": ("AlbumToAssetV1", _fields(albumId="album_id", assetId="asset_id")),
    "PartnerDeleteV1": (
        "PartnerDeleteV1",
        _fields(sharedById="shared_by_id", sharedWithId="shared_with_id"),
    ),
    "PartnerV1": (
        "PartnerV1",
        _fields(sharedById="shared_by_id", sharedWithId="shared_with_id", inTimeline="in_timeline"),
    ),
    "PartnerAssetDeleteV1": ("PartnerAssetDeleteV1", _fields(assetId="asset_id")),
    "PartnerAssetV1": ("PartnerAssetV1", _asset),
    "PartnerAssetV2": ("PartnerAssetV1", lambda row: _asset(row, v2=True)),
    "PartnerAssetBackfillV1": ("PartnerAssetBackfillV1", _asset),
    "PartnerAssetBackfillV2": ("PartnerAssetBackfillV1", lambda row: _asset(row, v2=True)),
    "PartnerAssetExifV1": ("PartnerAssetExifV1", _exif),
    "PartnerAssetExifBackfillV1": ("PartnerAssetExifBackfillV1", _exif),
    "PersonDeleteV1": ("PersonDeleteV1", _fields(personId="person_id")),
    "PersonV1": ("PersonV1", _person),
    "AssetFaceDeleteV1": ("AssetFaceDeleteV1", _fields(assetFaceId="asset_face_id")),
    "AssetFaceV1": ("AssetFaceV1", _face),
    "AssetFaceV2": ("AssetFaceV1", lambda row: _face(row, v2=True)),
    "AssetOcrDeleteV1": (
        "AssetOcrDeleteV1",
        _fields(id="ocr_id", assetId="asset_id", deletedAt="deleted_at"),
    ),
    "AssetOcrV1": ("AssetOcrV1", _ocr),
    "AssetMetadataDeleteV1": (
        "AssetMetadataDeleteV1",
        _fields(assetId="asset_id", key="metadata_key"),
    ),
    "AssetMetadataV1": ("AssetMetadataV1", _metadata("assetId")),
    "UserMetadataDeleteV1": ("UserMetadataDeleteV1", _fields(userId="user_id", key="metadata_key")),
    "UserMetadataV1": ("UserMetadataV1", _metadata("userId")),
    # non-destructive edits (#19): SyncAssetEditV1 / SyncAssetEditDeleteV1
    "AssetEditDeleteV1": ("AssetEditDeleteV1", _fields(editId="edit_id")),
    "AssetEditV1": ("AssetEditV1", _edit),
    # stacks (#16): SyncStackV1 / SyncStackDeleteV1
    "StackDeleteV1": ("StackDeleteV1", _fields(stackId="stack_id")),
    "StackV1": ("StackV1", _stack),
    "PartnerStackDeleteV1": ("PartnerStackDeleteV1", _fields(stackId="stack_id")),
    "PartnerStackV1": ("PartnerStackV1", _stack),
    "PartnerStackBackfillV1": ("PartnerStackBackfillV1", _stack),
    "MemoryDeleteV1": ("MemoryDeleteV1", _fields(memoryId="memory_id")),
    "MemoryV1": ("MemoryV1", _memory),
    "MemoryToAssetDeleteV1": (
        "MemoryToAssetDeleteV1",
        _fields(memoryId="memory_id", assetId="asset_id"),
    ),
    "MemoryToAssetV1": ("MemoryToAssetV1", _fields(memoryId="memory_id", assetId="asset_id")),
}


# --- acks ------------------------------------------------------------------------------------


#: The ack of the ``SyncResetV1`` line, as Immich's ``toAck`` writes it (``ids: ['reset']``):
#: the app posts it back to start over.
RESET_ACK = "SyncResetV1|reset"


def encode_ack(entity_type: str, position: sync.Position) -> str:
    """The ack of a line: ``"<entity type>|<position>|<row key>"``."""
    return f"{entity_type}|{position.pos}|{position.key}"


def parse_ack(ack: str) -> tuple[str, sync.Position]:
    """Split an ack made by :func:`encode_ack` (or :data:`RESET_ACK`).

    Returns:
        (entity type, position).

    Raises:
        BadRequest: Not an ack this server made.
    """
    if ack == RESET_ACK:
        return "SyncResetV1", sync.Position(0, "reset")
    parts = ack.split("|", 2)
    if (
        len(parts) != 3
        or parts[0] not in ENTITY_TYPES
        or not parts[1].isascii()
        or not parts[1].isdigit()
        or int(parts[1]) >= 2**63  # positions are bigint
    ):
        raise BadRequest(f"Invalid ack: {ack}")
    return parts[0], sync.Position(int(parts[1]), parts[2])


def _line(encoder: msgspec.json.Encoder, entity_type: str, data: object, ack: str) -> bytes:
    return encoder.encode({"type": entity_type, "data": data, "ack": ack}) + b"\n"


def _session_id(auth: Auth) -> uuid.UUID:
    """The caller's session.

    Raises:
        Forbidden: The caller used an API key (sync state lives in a session).
    """
    if auth.session is None:
        raise Forbidden("Sync endpoints cannot be used with API keys")
    return auth.session.id


async def _pages(
    deps: Deps,
    encoder: msgspec.json.Encoder,
    entity_type: str,
    user_id: uuid.UUID,
    after: sync.Position,
    below: int,
    counts: dict[str, int],
    upto: int = 0,
) -> AsyncIterator[bytes]:
    """The lines of one entity type strictly after ``after`` and below ``below``, a page of
    :data:`PAGE_SIZE` rows at a time (``upto``: see :func:`darkroom_db.sync.changes`)."""
    source, build = ENTITIES[entity_type]
    while True:
        rows = await sync.changes(
            deps.pool, source, user_id, after=after, below=below, limit=PAGE_SIZE, upto=upto
        )
        lines = []
        for row in rows:
            after = sync.Position(row["pos"], row["key"])
            lines.append(_line(encoder, entity_type, build(row), encode_ack(entity_type, after)))
        if lines:  # a page at once; dates as Immich's JSON.stringify writes them
            yield immich_dates(b"".join(lines))
        counts[entity_type] = counts.get(entity_type, 0) + len(rows)
        if len(rows) < PAGE_SIZE:
            return


async def _skip_backfills(
    deps: Deps,
    session_id: uuid.UUID,
    user_id: uuid.UUID,
    entity_type: str,
    after: sync.Position,
    below: int,
) -> None:
    """Mark the backfills of the caller's partnerships done for a session with no upsert
    checkpoint (its upserts send every row of the sharers), as Immich's sync.service
    ``upsertBackfillCheckpoint`` does: a later stream back-fills only partnerships made after."""
    created = await sync.partnerships_to_backfill(deps.pool, user_id, after=after, below=below)
    if created:
        done = sync.Position(created[-1], sync.BACKFILL_DONE)
        await sync.save_checkpoints(
            deps.pool, session_id, {entity_type: encode_ack(entity_type, done)}
        )


async def stream_changes(
    deps: Deps, user_id: uuid.UUID, session_id: uuid.UUID, requested: set[str]
) -> AsyncIterator[bytes]:
    """Yield the JSON lines of ``user_id``'s changes of the ``requested`` types.

    Each served entity type resumes after the session's checkpoint of that type and stops at a
    cut-off taken once at the start (:func:`darkroom_db.sync.cutoff`); a last ``SyncCompleteV1``
    line carries the cut-off.
    """
    encoder = msgspec.json.Encoder()
    checkpoints = {
        c.type: parse_ack(c.ack)[1] for c in await sync.list_checkpoints(deps.pool, session_id)
    }
    below = await sync.cutoff(deps.pool)
    counts: dict[str, int] = {}
    for request_type, entity_types in SERVED.items():
        if request_type not in requested:
            continue
        for entity_type in entity_types:
            after = checkpoints.get(entity_type, sync.START)
            if entity_type not in BACKFILL_OF:
                async for page in _pages(deps, encoder, entity_type, user_id, after, below, counts):
                    yield page
                continue
            upsert = checkpoints.get(BACKFILL_OF[entity_type])
            if upsert is None:  # the upserts send everything: no backfill due, now or later
                await _skip_backfills(deps, session_id, user_id, entity_type, after, below)
                continue
            since = max(after, sync.Position(upsert.pos, sync.BACKFILL_DONE))
            for created in await sync.partnerships_to_backfill(
                deps.pool, user_id, after=since, below=below
            ):
                start = max(after, sync.Position(created, ""))
                async for page in _pages(
                    deps, encoder, entity_type, user_id, start, created + 1, counts, upsert.pos
                ):
                    yield page
                done = sync.Position(created, sync.BACKFILL_DONE)
                yield _line(encoder, "SyncAckV1", {}, encode_ack(entity_type, done))
    yield _line(
        encoder, "SyncCompleteV1", {}, encode_ack("SyncCompleteV1", sync.Position(below, ""))
    )
    log.info("sync.streamed", user_id=str(user_id), session_id=str(session_id), lines=counts)


async def _reset_line() -> AsyncIterator[bytes]:
    yield _line(msgspec.json.Encoder(), "SyncResetV1", {}, RESET_ACK)


class SyncController(Controller):
    """/api/sync."""

    path = "/api/sync"

    @post("/stream", status_code=200, permission="sync.stream")
    async def get_sync_stream(
        self, data: JSONBody[SyncStream], auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> Stream:
        """Stream the caller's changes as JSON lines (``application/jsonlines+json``).

        Raises:
            Forbidden: Called with an API key.
        """
        session_id = _session_id(auth)
        if data.reset:
            await sync.reset_session(deps.pool, session_id)
        if await sync.is_pending_reset(deps.pool, session_id):
            log.info("sync.reset_requested", session_id=str(session_id))
            return Stream(_reset_line(), media_type=MEDIA_TYPE)
        if await sync.needs_reset(deps.pool, session_id):
            log.info("sync.reset_checkpoint_too_old", session_id=str(session_id))
            return Stream(_reset_line(), media_type=MEDIA_TYPE)
        return Stream(
            stream_changes(deps, auth.user.id, session_id, set(data.types)),
            media_type=MEDIA_TYPE,
        )

    @get("/ack", permission="syncCheckpoint.read")
    async def get_sync_ack(
        self, auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> list[SyncAck]:
        """The session's checkpoints, one per entity type."""
        checkpoints = await sync.list_checkpoints(deps.pool, _session_id(auth))
        return [SyncAck(type=c.type, ack=c.ack) for c in checkpoints]

    @post("/ack", status_code=204, permission="syncCheckpoint.update")
    async def send_sync_ack(
        self, data: JSONBody[SyncAckSet], auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> None:
        """Store acks as the session's checkpoints (the furthest one per type in this request).

        A ``SyncResetV1`` ack instead starts the session's sync over (its checkpoints forgotten,
        its pending reset cleared) and the request's other acks are dropped, as Immich's
        ``SyncService.setAcks``: the app acks the reset line, then streams again without
        ``reset``, and that stream must be a full one.

        Raises:
            BadRequest: More than 1000 acks, or one this server did not make.
        """
        session_id = _session_id(auth)
        if len(data.acks) > 1000:
            raise BadRequest("acks must contain no more than 1000 elements")
        parsed = [(*parse_ack(ack), ack) for ack in data.acks]
        if any(entity_type == "SyncResetV1" for entity_type, _, _ in parsed):
            await sync.reset_session(deps.pool, session_id)
            log.info("sync.reset_acked", session_id=str(session_id))
            return
        best: dict[str, tuple[sync.Position, str]] = {}
        for entity_type, position, ack in parsed:
            if entity_type not in best or best[entity_type][0] < position:
                best[entity_type] = (position, ack)
        await sync.save_checkpoints(deps.pool, session_id, {t: a for t, (_, a) in best.items()})

    @delete("/ack", status_code=204, permission="syncCheckpoint.delete")
    async def delete_sync_ack(
        self,
        data: JSONBody[SyncAckDelete],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> None:
        """Forget the session's checkpoints of ``types`` (all when none are given).

        Raises:
            BadRequest: An unknown entity type.
        """
        session_id = _session_id(auth)
        unknown = [t for t in data.types or [] if t not in ENTITY_TYPES]
        if unknown:
            raise BadRequest(f"Invalid sync entity type: {unknown[0]}")
        await sync.delete_checkpoints(deps.pool, session_id, data.types)


ROUTES = [SyncController]
