"""Public events: the documented, versioned subset of events integrations may read.

Internal events (:mod:`darkroom_events.catalogue`) carry what the services need: storage keys,
checksums as hex, internal steps. Integrations get a *twin* of some of them on
``darkroom.public.<entity>.<verb>.v<N>`` in the separate stream :data:`PUBLIC_STREAM_NAME`,
carrying only ids the Immich REST API understands (asset, user, person, album and shared link
UUIDs) and facts the API also shows; never a storage key, an internal path, a key or a password.

The twin is written by the transactional outbox in the same transaction as its internal event
(:meth:`darkroom_runtime.outbox.OutboxTransaction.add` calls :func:`public_twin`), so it is
committed exactly when the change is, and published at least once (de-duplicated by its
``Nats-Msg-Id`` ``<public subject>:<internal dedupe key>`` within the duplicate window).

Contract rules (docs/asyncapi.yaml is generated from :data:`PUBLIC_EVENTS`; tests/test_asyncapi.py
compares it with the last published snapshot, docs/public-events.snapshot.json): a field is
never removed, renamed or retyped; new fields come with defaults; a breaking change is a new
type on the subject ending ``.v<N+1>``, published alongside the old one.
"""

from __future__ import annotations

import base64
import builtins
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal

import msgspec

from darkroom_events.catalogue import (
    AlbumCreated,
    AlbumShared,
    AlbumUpdated,
    AssetCreated,
    AssetDeleted,
    AssetFacesRecognized,
    AssetMetadataExtracted,
    AssetsRestored,
    AssetsTrashed,
    AssetThumbnailGenerated,
    AssetType,
    AssetUpdated,
    Event,
    PersonCreated,
    PersonMerged,
    SharedLinkCreated,
    UserCreated,
    UserDeleted,
)

#: The stream of public events, apart from the internal ``DARKROOM`` stream, so that an
#: integration credential can be allowed to read it and nothing else.
PUBLIC_STREAM_NAME = "DARKROOM_PUBLIC"
#: Subject prefix of every public event.
PUBLIC_PREFIX = "darkroom.public"
#: Subjects the public stream captures.
PUBLIC_STREAM_SUBJECTS = (f"{PUBLIC_PREFIX}.>",)


#: An id as the REST API shows it (a UUID string: ``/api/assets/{id}``, ``/api/people/{id}``...).
ApiId = Annotated[str, msgspec.Meta(extra_json_schema={"format": "uuid"})]
#: A moment, RFC 3339 with offset.
Timestamp = Annotated[datetime, msgspec.Meta(extra_json_schema={"format": "date-time"})]


class PublicEvent(msgspec.Struct, frozen=True, kw_only=True):
    """Base of every public event; ``subject`` is ``darkroom.public.<entity>.<verb>.v<N>`` and
    ``version`` repeats its ``N``."""

    subject: ClassVar[str]
    version: int = 1


class AssetUploadedV1(PublicEvent, frozen=True, kw_only=True):
    """A new asset exists (an upload, or an import of an external library's file)."""

    subject: ClassVar[str] = f"{PUBLIC_PREFIX}.asset.uploaded.v1"
    asset_id: ApiId
    owner_id: ApiId
    type: AssetType
    original_file_name: str
    original_mime_type: str
    checksum: str  # SHA-1 of the original, base64, as the API's AssetResponseDto.checksum
    file_size: int  # bytes
    file_created_at: Timestamp
    file_modified_at: Timestamp


class AssetUpdatedV1(PublicEvent, frozen=True, kw_only=True):
    """An owner edited an asset (favorite, visibility, description, date, place, rating)."""

    subject: ClassVar[str] = f"{PUBLIC_PREFIX}.asset.updated.v1"
    asset_id: ApiId
    owner_id: ApiId
    updated_at: Timestamp


class AssetsTrashedV1(PublicEvent, frozen=True, kw_only=True):
    """An owner moved assets to the trash."""

    subject: ClassVar[str] = f"{PUBLIC_PREFIX}.asset.trashed.v1"
    owner_id: ApiId
    asset_ids: list[ApiId]
    trashed_at: Timestamp


class AssetsRestoredV1(PublicEvent, frozen=True, kw_only=True):
    """An owner brought assets back from the trash."""

    subject: ClassVar[str] = f"{PUBLIC_PREFIX}.asset.restored.v1"
    owner_id: ApiId
    asset_ids: list[ApiId]
    restored_at: Timestamp


class AssetDeletedV1(PublicEvent, frozen=True, kw_only=True):
    """An asset and its files were removed for good."""

    subject: ClassVar[str] = f"{PUBLIC_PREFIX}.asset.deleted.v1"
    asset_id: ApiId
    owner_id: ApiId


class AssetMetadataReadyV1(PublicEvent, frozen=True, kw_only=True):
    """An asset's EXIF/XMP/video metadata was read (``GET /api/assets/{id}`` shows it now)."""

    subject: ClassVar[str] = f"{PUBLIC_PREFIX}.asset.metadata_ready.v1"
    asset_id: ApiId
    owner_id: ApiId
    type: AssetType
    width: int | None = None  # pixels, as stored (before orientation)
    height: int | None = None
    captured_at: Timestamp | None = None  # the API's localDateTime/dateTimeOriginal source


class AssetThumbnailReadyV1(PublicEvent, frozen=True, kw_only=True):
    """An asset's preview and thumbnail exist (``GET /api/assets/{id}/thumbnail``)."""

    subject: ClassVar[str] = f"{PUBLIC_PREFIX}.asset.thumbnail_ready.v1"
    asset_id: ApiId
    owner_id: ApiId
    type: AssetType
    preview_width: int  # pixels
    preview_height: int


class AssetFacesRecognizedV1(PublicEvent, frozen=True, kw_only=True):
    """An asset's faces went through recognition: the people (``/api/people/{id}``) it shows."""

    subject: ClassVar[str] = f"{PUBLIC_PREFIX}.asset.faces_recognized.v1"
    asset_id: ApiId
    owner_id: ApiId
    person_ids: list[ApiId] = msgspec.field(default_factory=list)
    unassigned_faces: int = 0


class PersonCreatedV1(PublicEvent, frozen=True, kw_only=True):
    """A person exists: started by recognition from a face, or made by its owner."""

    subject: ClassVar[str] = f"{PUBLIC_PREFIX}.person.created.v1"
    person_id: ApiId
    owner_id: ApiId
    asset_id: ApiId | None = None  # the asset its first face is on


class AlbumSharedV1(PublicEvent, frozen=True, kw_only=True):
    """An album was shared with users (its new members)."""

    subject: ClassVar[str] = f"{PUBLIC_PREFIX}.album.shared.v1"
    album_id: ApiId
    owner_id: ApiId
    user_ids: list[ApiId]
    shared_at: Timestamp


class SharedLinkCreatedV1(PublicEvent, frozen=True, kw_only=True):
    """A user made a public shared link (its id and options; never its key or password)."""

    subject: ClassVar[str] = f"{PUBLIC_PREFIX}.shared_link.created.v1"
    shared_link_id: ApiId
    owner_id: ApiId
    type: Literal["ALBUM", "INDIVIDUAL"]  # the API's SharedLinkType
    album_id: ApiId | None = None
    expires_at: Timestamp | None = None
    has_password: bool = False
    allow_upload: bool = False
    allow_download: bool = True
    show_metadata: bool = True


class PersonMergedV1(PublicEvent, frozen=True, kw_only=True):
    """People were merged into ``person_id``; ``merged_person_ids`` no longer exist."""

    subject: ClassVar[str] = f"{PUBLIC_PREFIX}.person.merged.v1"
    person_id: ApiId
    owner_id: ApiId
    merged_person_ids: list[ApiId]
    merged_at: Timestamp


class AlbumCreatedV1(PublicEvent, frozen=True, kw_only=True):
    """A user made an album."""

    subject: ClassVar[str] = f"{PUBLIC_PREFIX}.album.created.v1"
    album_id: ApiId
    owner_id: ApiId
    created_at: Timestamp


class AlbumUpdatedV1(PublicEvent, frozen=True, kw_only=True):
    """An album's details or assets changed."""

    subject: ClassVar[str] = f"{PUBLIC_PREFIX}.album.updated.v1"
    album_id: ApiId
    updated_by: ApiId  # the owner, or an editor who added or removed assets
    updated_at: Timestamp


class UserCreatedV1(PublicEvent, frozen=True, kw_only=True):
    """A user account was made (``/api/admin/users/{id}`` shows it)."""

    subject: ClassVar[str] = f"{PUBLIC_PREFIX}.user.created.v1"
    user_id: ApiId
    created_at: Timestamp


class UserDeletedV1(PublicEvent, frozen=True, kw_only=True):
    """A user was deleted: soft (``permanent`` false: restorable for a while) or for good."""

    subject: ClassVar[str] = f"{PUBLIC_PREFIX}.user.deleted.v1"
    user_id: ApiId
    permanent: bool
    deleted_at: Timestamp


def _checksum_b64(hex_sha1: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_sha1)).decode()


class PublicSpec(msgspec.Struct, frozen=True, kw_only=True):
    """One public event: its type, the internal event it twins and how it is made of it.

    Attributes:
        type: The public event type.
        source: The internal event it is made of.
        make: Builds the public event of an internal one.
        description: One line for docs/asyncapi.yaml.
        example: A complete example payload (decoded by a test, shown in the AsyncAPI file).
    """

    type: builtins.type[PublicEvent]
    source: builtins.type[Event]
    make: Callable[[Any], PublicEvent]
    description: str
    example: PublicEvent


_T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
_A = "9c2b5e4a-1d3f-4c6b-8a7e-2f1d0c9b8a76"
_U = "5f3e2d1c-0b9a-4877-9665-544332211000"
_P = "1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d"
_L = "7e6d5c4b-3a29-4817-8f6e-5d4c3b2a1908"

#: Every public event, in documentation order.
PUBLIC_EVENTS: tuple[PublicSpec, ...] = (
    PublicSpec(
        type=AssetUploadedV1,
        source=AssetCreated,
        make=lambda e: AssetUploadedV1(
            asset_id=e.asset_id,
            owner_id=e.owner_id,
            type=e.type,
            original_file_name=e.original_file_name,
            original_mime_type=e.mime_type,
            checksum=_checksum_b64(e.checksum),
            file_size=e.file_size,
            file_created_at=e.file_created_at,
            file_modified_at=e.file_modified_at,
        ),
        description="A new asset exists: an upload, or an external library's new file.",
        example=AssetUploadedV1(
            asset_id=_A,
            owner_id=_U,
            type="IMAGE",
            original_file_name="IMG_0001.jpg",
            original_mime_type="image/jpeg",
            checksum="2jmj7l5rSw0yVb/vlWAYkK/YBwk=",
            file_size=2_481_152,
            file_created_at=_T0,
            file_modified_at=_T0,
        ),
    ),
    PublicSpec(
        type=AssetUpdatedV1,
        source=AssetUpdated,
        make=lambda e: AssetUpdatedV1(asset_id=e.asset_id, owner_id=e.owner_id, updated_at=e.at),
        description="An owner edited an asset (favorite, visibility, description, date, place).",
        example=AssetUpdatedV1(asset_id=_A, owner_id=_U, updated_at=_T0),
    ),
    PublicSpec(
        type=AssetsTrashedV1,
        source=AssetsTrashed,
        make=lambda e: AssetsTrashedV1(
            owner_id=e.owner_id, asset_ids=list(e.asset_ids), trashed_at=e.at
        ),
        description="An owner moved assets to the trash.",
        example=AssetsTrashedV1(owner_id=_U, asset_ids=[_A], trashed_at=_T0),
    ),
    PublicSpec(
        type=AssetsRestoredV1,
        source=AssetsRestored,
        make=lambda e: AssetsRestoredV1(
            owner_id=e.owner_id, asset_ids=list(e.asset_ids), restored_at=e.at
        ),
        description="An owner brought assets back from the trash.",
        example=AssetsRestoredV1(owner_id=_U, asset_ids=[_A], restored_at=_T0),
    ),
    PublicSpec(
        type=AssetDeletedV1,
        source=AssetDeleted,
        make=lambda e: AssetDeletedV1(asset_id=e.asset_id, owner_id=e.owner_id),
        description="An asset and its files were removed for good.",
        example=AssetDeletedV1(asset_id=_A, owner_id=_U),
    ),
    PublicSpec(
        type=AssetMetadataReadyV1,
        source=AssetMetadataExtracted,
        make=lambda e: AssetMetadataReadyV1(
            asset_id=e.asset_id,
            owner_id=e.owner_id,
            type=e.type,
            width=e.width,
            height=e.height,
            captured_at=e.captured_at,
        ),
        description="An asset's metadata (EXIF/XMP/video) was read.",
        example=AssetMetadataReadyV1(
            asset_id=_A, owner_id=_U, type="IMAGE", width=4032, height=3024, captured_at=_T0
        ),
    ),
    PublicSpec(
        type=AssetThumbnailReadyV1,
        source=AssetThumbnailGenerated,
        make=lambda e: AssetThumbnailReadyV1(
            asset_id=e.asset_id,
            owner_id=e.owner_id,
            type=e.type,
            preview_width=e.preview_width,
            preview_height=e.preview_height,
        ),
        description="An asset's preview and thumbnail exist.",
        example=AssetThumbnailReadyV1(
            asset_id=_A, owner_id=_U, type="IMAGE", preview_width=1440, preview_height=1080
        ),
    ),
    PublicSpec(
        type=AssetFacesRecognizedV1,
        source=AssetFacesRecognized,
        make=lambda e: AssetFacesRecognizedV1(
            asset_id=e.asset_id,
            owner_id=e.owner_id,
            person_ids=list(e.person_ids),
            unassigned_faces=e.unassigned,
        ),
        description="An asset's faces went through recognition; the people it shows.",
        example=AssetFacesRecognizedV1(
            asset_id=_A, owner_id=_U, person_ids=[_P], unassigned_faces=1
        ),
    ),
    PublicSpec(
        type=PersonCreatedV1,
        source=PersonCreated,
        make=lambda e: PersonCreatedV1(
            person_id=e.person_id, owner_id=e.owner_id, asset_id=e.asset_id
        ),
        description="A person was made: by recognition from a face, or by its owner.",
        example=PersonCreatedV1(person_id=_P, owner_id=_U, asset_id=_A),
    ),
    PublicSpec(
        type=PersonMergedV1,
        source=PersonMerged,
        make=lambda e: PersonMergedV1(
            person_id=e.person_id,
            owner_id=e.owner_id,
            merged_person_ids=list(e.merged_ids),
            merged_at=e.at,
        ),
        description="People were merged into one; the others no longer exist.",
        example=PersonMergedV1(person_id=_P, owner_id=_U, merged_person_ids=[_A], merged_at=_T0),
    ),
    PublicSpec(
        type=AlbumCreatedV1,
        source=AlbumCreated,
        make=lambda e: AlbumCreatedV1(album_id=e.album_id, owner_id=e.owner_id, created_at=e.at),
        description="A user made an album.",
        example=AlbumCreatedV1(album_id=_L, owner_id=_U, created_at=_T0),
    ),
    PublicSpec(
        type=AlbumUpdatedV1,
        source=AlbumUpdated,
        make=lambda e: AlbumUpdatedV1(album_id=e.album_id, updated_by=e.user_id, updated_at=e.at),
        description="An album's details or assets changed.",
        example=AlbumUpdatedV1(album_id=_L, updated_by=_U, updated_at=_T0),
    ),
    PublicSpec(
        type=AlbumSharedV1,
        source=AlbumShared,
        make=lambda e: AlbumSharedV1(
            album_id=e.album_id, owner_id=e.owner_id, user_ids=list(e.user_ids), shared_at=e.at
        ),
        description="An album was shared with users (its new members).",
        example=AlbumSharedV1(album_id=_L, owner_id=_U, user_ids=[_P], shared_at=_T0),
    ),
    PublicSpec(
        type=SharedLinkCreatedV1,
        source=SharedLinkCreated,
        make=lambda e: SharedLinkCreatedV1(
            shared_link_id=e.shared_link_id,
            owner_id=e.owner_id,
            type=e.type,
            album_id=e.album_id,
            expires_at=e.expires_at,
            has_password=e.has_password,
            allow_upload=e.allow_upload,
            allow_download=e.allow_download,
            show_metadata=e.show_metadata,
        ),
        description="A user made a public shared link (never its key or password).",
        example=SharedLinkCreatedV1(shared_link_id=_L, owner_id=_U, type="ALBUM", album_id=_L),
    ),
    PublicSpec(
        type=UserCreatedV1,
        source=UserCreated,
        make=lambda e: UserCreatedV1(user_id=e.user_id, created_at=e.at),
        description="A user account was made.",
        example=UserCreatedV1(user_id=_U, created_at=_T0),
    ),
    PublicSpec(
        type=UserDeletedV1,
        source=UserDeleted,
        make=lambda e: UserDeletedV1(user_id=e.user_id, permanent=e.permanent, deleted_at=e.at),
        description="A user was deleted: soft (restorable for a while) or for good.",
        example=UserDeletedV1(user_id=_U, permanent=False, deleted_at=_T0),
    ),
)


def public_twin(event: Event) -> tuple[PublicEvent, str] | None:
    """The public twin of an internal event, with its message id, or None when it has none.

    Args:
        event: An internal event about to be written to the outbox.

    Returns:
        The public event and its ``Nats-Msg-Id`` (``<public subject>:<event.dedupe_key()>``,
        so a repeated internal publish repeats the same public id), or None.
    """
    for spec in PUBLIC_EVENTS:
        if type(event) is spec.source:
            twin = spec.make(event)
            return twin, f"{twin.subject}:{event.dedupe_key()}"
    return None
