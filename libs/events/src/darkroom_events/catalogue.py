"""Every event Darkroom publishes, and every request/reply message of its RPCs.

This module is the public contract that integrations subscribe to (see docs/events.md, generated
from :data:`darkroom_events.registry.REGISTRY`). Rules (../shared/STYLE.md):

- every event is a frozen, ``kw_only`` msgspec Struct with a ``version`` field;
- fields are only ever added, with defaults; never renamed or retyped. A breaking change is a new
  type on a new subject, published alongside the old one until consumers move;
- JSON on the wire, field names in snake_case; timestamps are RFC 3339 strings with offset;
- the subject is ``darkroom.<entity>.<past-tense verb>``; the JetStream message id
  (``Nats-Msg-Id``) is ``<subject>:<asset id>`` so that a repeated publish is de-duplicated.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import ClassVar, Literal, Protocol

import msgspec

AssetType = Literal["IMAGE", "VIDEO", "AUDIO", "OTHER"]


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """Base of every event. ``subject`` is the NATS subject it is published on."""

    subject: ClassVar[str]
    version: int = 1

    def dedupe_key(self) -> str:
        """The id that makes a repeated publish of the same fact a duplicate (the asset id)."""
        return str(self.asset_id)


class AssetRow(Protocol):
    """The columns of an asset row an :class:`AssetCreated` is made of (duck-typed, so this
    package needs no database types)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def owner_id(self) -> uuid.UUID: ...
    @property
    def type(self) -> str: ...
    @property
    def original_path(self) -> str: ...
    @property
    def original_file_name(self) -> str: ...
    @property
    def original_mime_type(self) -> str: ...
    @property
    def checksum(self) -> bytes: ...
    @property
    def file_size(self) -> int: ...
    @property
    def file_created_at(self) -> datetime: ...
    @property
    def file_modified_at(self) -> datetime: ...
    @property
    def sidecar_path(self) -> str | None: ...


class AssetCreated(Event, frozen=True, kw_only=True):
    """A new asset exists: its original is stored and its row committed. Published by ingest."""

    subject: ClassVar[str] = "darkroom.asset.created"
    asset_id: str
    owner_id: str
    type: AssetType
    original_key: str
    original_file_name: str
    mime_type: str
    checksum: str  # SHA-1 of the original, hex
    file_size: int  # bytes
    file_created_at: datetime
    file_modified_at: datetime
    sidecar_key: str | None = None

    @classmethod
    def of(cls, asset: AssetRow) -> AssetCreated:
        """The event for an asset row: the upload's, a library import's, or a re-run's.

        Args:
            asset: Anything with the asset row's columns (``darkroom_db.assets.Asset``, the
                jobs admin's re-run rows).

        Returns:
            The event, with the checksum as hex and the storage keys as stored.
        """
        return cls(
            asset_id=str(asset.id),
            owner_id=str(asset.owner_id),
            type=asset.type,  # type: ignore[arg-type]  # the column's CHECK is AssetType
            original_key=asset.original_path,
            original_file_name=asset.original_file_name,
            mime_type=asset.original_mime_type,
            checksum=asset.checksum.hex(),
            file_size=asset.file_size,
            file_created_at=asset.file_created_at,
            file_modified_at=asset.file_modified_at,
            sidecar_key=asset.sidecar_path,
        )


class AssetMetadataExtracted(Event, frozen=True, kw_only=True):
    """EXIF/XMP/video metadata of an asset is stored in asset_exif. Published by metadata."""

    subject: ClassVar[str] = "darkroom.asset.metadata.extracted"
    asset_id: str
    owner_id: str
    type: AssetType
    original_key: str
    mime_type: str
    width: int | None = None
    height: int | None = None
    orientation: int | None = None  # EXIF orientation 1..8
    captured_at: datetime | None = None


class AssetThumbnailGenerated(Event, frozen=True, kw_only=True):
    """The preview (JPEG) and thumbnail (WebP) of an asset are stored. Published by thumbnail."""

    subject: ClassVar[str] = "darkroom.asset.thumbnail.generated"
    asset_id: str
    owner_id: str
    type: AssetType
    preview_key: str
    thumbnail_key: str
    preview_width: int
    preview_height: int


class AssetVideoTranscoded(Event, frozen=True, kw_only=True):
    """A video's playable encoding is stored. Published by transcode."""

    subject: ClassVar[str] = "darkroom.asset.video.transcoded"
    asset_id: str
    owner_id: str
    encoded_key: str


class AssetEmbeddingComputed(Event, frozen=True, kw_only=True):
    """The CLIP embedding of the preview is stored in smart_search. Published by embedding."""

    subject: ClassVar[str] = "darkroom.asset.embedding.computed"
    asset_id: str
    owner_id: str
    model: str


class AssetFacesDetected(Event, frozen=True, kw_only=True):
    """Faces of an asset are detected and stored in asset_faces. Published by face."""

    subject: ClassVar[str] = "darkroom.asset.faces.detected"
    asset_id: str
    owner_id: str
    face_count: int


class AssetFailed(Event, frozen=True, kw_only=True):
    """A processing step gave up on an asset for good (corrupt file, or retries exhausted).

    Published by the bus of whichever service failed; the failure is also recorded in
    job_failures and on the asset's job status.
    """

    subject: ClassVar[str] = "darkroom.asset.failed"
    asset_id: str
    owner_id: str | None = None
    step: str  # the consumer (durable) that failed, e.g. "thumbnail"
    reason: str
    permanent: bool = True  # False when retries were exhausted on a transient error


class AssetDeleted(Event, frozen=True, kw_only=True):
    """An asset and its files were removed for good. Published by ingest."""

    subject: ClassVar[str] = "darkroom.asset.deleted"
    asset_id: str
    owner_id: str


class AssetFacesRecognized(Event, frozen=True, kw_only=True):
    """The faces of an asset went through recognition: ``person_ids`` are the people it shows
    now. Published by face after detection, and again when a later pass (the retry loop or
    "cluster new faces") puts one of its faces on a person; by metadata when it imported the
    faces the file names (system config ``metadata.faces.import``)."""

    subject: ClassVar[str] = "darkroom.asset.faces.recognized"
    asset_id: str
    owner_id: str
    person_ids: list[str] = msgspec.field(default_factory=list)  # sorted
    unassigned: int = 0  # faces of the asset that have no person (yet)

    def dedupe_key(self) -> str:
        """The asset id and its people: the same result again is a duplicate, a new one not."""
        return f"{self.asset_id}:{','.join(self.person_ids)}:{self.unassigned}"


class WebhookRequested(Event, frozen=True, kw_only=True):
    """A workflow queued a webhook call: ``webhook_deliveries`` row ``delivery_id`` (URL,
    body, attempts). Published by the webhook service's workflow runner in the transaction
    that queued it; its ``webhook`` consumer makes the signed request (never carries the
    secret: it stays in the workflow's step config). ``for_asset_id`` is deliberately not
    named ``asset_id``: a dead-lettered webhook is the receiver's failure, not the asset's, so
    the bus must not mark the asset failed."""

    subject: ClassVar[str] = "darkroom.webhook.requested"
    delivery_id: str
    workflow_id: str
    owner_id: str
    for_asset_id: str | None = None

    def dedupe_key(self) -> str:
        """The delivery id (one request per delivery; retries are redeliveries)."""
        return self.delivery_id


class PersonCreated(Event, frozen=True, kw_only=True):
    """Recognition started a new (unnamed) person from a core face (published by face), a
    user made a person without faces (``POST /api/people``, published by the gateway), or a
    file named a person its owner did not have (an XMP face region imported with the system
    config's ``metadata.faces.import``, published by metadata)."""

    subject: ClassVar[str] = "darkroom.person.created"
    person_id: str
    owner_id: str
    face_id: str | None = None  # the face that started it (its feature face)
    asset_id: str | None = None  # the asset that face is on

    def dedupe_key(self) -> str:
        """The person id (a person is created once)."""
        return self.person_id


class _BulkAssetAction(Event, frozen=True, kw_only=True):
    """What an owner did to several assets at once, at ``at`` (the fields shared by
    :class:`AssetsTrashed` and :class:`AssetsRestored`)."""

    owner_id: str
    asset_ids: list[str]
    at: datetime  # when it was done

    def dedupe_key(self) -> str:
        """The owner, the time and the assets (as a SHA-1 of their ids, so that a bulk action
        on thousands of assets keeps a short ``Nats-Msg-Id``): the same request again is a
        duplicate."""
        ids = hashlib.sha1(",".join(self.asset_ids).encode(), usedforsecurity=False)
        return f"{self.owner_id}:{self.at.isoformat()}:{ids.hexdigest()}"


class AssetsTrashed(_BulkAssetAction, frozen=True, kw_only=True):
    """An owner moved assets to the trash. Published by the gateway."""

    subject: ClassVar[str] = "darkroom.asset.trashed"


class AssetsRestored(_BulkAssetAction, frozen=True, kw_only=True):
    """An owner brought assets back from the trash. Published by the gateway."""

    subject: ClassVar[str] = "darkroom.asset.restored"


class AssetUpdated(Event, frozen=True, kw_only=True):
    """An owner edited an asset (favorite, visibility, description, date, place, rating).
    Published by the gateway; and by the metadata service once it named an edited location's
    place (city, state, country)."""

    subject: ClassVar[str] = "darkroom.asset.updated"
    asset_id: str
    owner_id: str
    at: datetime  # when it was edited

    def dedupe_key(self) -> str:
        """The asset and the time of the edit (a later edit is a new event)."""
        return f"{self.asset_id}:{self.at.isoformat()}"


class SessionDeleted(Event, frozen=True, kw_only=True):
    """A login session ended (logout, or deleted from the session list). Published by the
    gateway."""

    subject: ClassVar[str] = "darkroom.session.deleted"
    session_id: str
    user_id: str

    def dedupe_key(self) -> str:
        """The session id (a session ends once)."""
        return self.session_id


# --- request/reply (NATS core, not stored in the stream) ---------------------------------------


class IngestUploadRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Gateway -> ingest: make an asset of a file the gateway streamed to a staging key.

    The staging object is owned by ingest from then on: it is moved into place or deleted.
    """

    subject: ClassVar[str] = "darkroom.rpc.ingest.upload"
    version: int = 1
    owner_id: str
    staging_key: str
    checksum: str  # SHA-1 hex computed while streaming
    file_size: int
    original_file_name: str
    device_asset_id: str
    device_id: str
    file_created_at: datetime
    file_modified_at: datetime
    is_favorite: bool = False
    duration_ms: int | None = None  # as the client reported it
    sidecar_staging_key: str | None = None
    trace_id: str | None = None
    live_photo_video_id: str | None = None  # the motion part, uploaded first (Immich clients)
    #: The new asset's visibility (the upload's ``visibility`` field; Immich's
    #: ``dto.visibility ?? timeline``); a duplicate keeps its own.
    visibility: Literal["archive", "timeline", "hidden", "locked"] = "timeline"


class IngestUploadReply(msgspec.Struct, frozen=True, kw_only=True):
    """Ingest -> gateway. ``status`` is "created" or "duplicate" (then ``asset_id`` is the
    existing asset), or "rejected" with a human-readable ``error``."""

    version: int = 1
    status: Literal["created", "duplicate", "rejected"]
    asset_id: str | None = None
    error: str | None = None


class SearchFilters(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Filters of a search request, as Immich's search DTOs name them (snake_case).

    A nullable place/camera field sent as null matches assets where it is unknown; left out it
    does not filter. Dates are RFC 3339 strings with offset; ids are UUID strings.
    """

    original_file_name: str | None = None
    description: str | None = None
    ocr: str | None = None
    city: str | None | msgspec.UnsetType = msgspec.UNSET
    state: str | None | msgspec.UnsetType = msgspec.UNSET
    country: str | None | msgspec.UnsetType = msgspec.UNSET
    make: str | None | msgspec.UnsetType = msgspec.UNSET
    model: str | None | msgspec.UnsetType = msgspec.UNSET
    lens_model: str | None | msgspec.UnsetType = msgspec.UNSET
    rating: int | None | msgspec.UnsetType = msgspec.UNSET
    type: AssetType | None = None
    is_favorite: bool | None = None
    is_offline: bool | None = None
    is_encoded: bool | None = None
    is_motion: bool | None = None
    is_not_in_album: bool | None = None
    visibility: str | None = None
    with_deleted: bool = False
    album_ids: list[str] = msgspec.field(default_factory=list)
    person_ids: list[str] = msgspec.field(default_factory=list)
    tag_ids: list[str] | None = None
    is_untagged: bool = False  # tagIds sent as null: only assets without any tag (Immich)
    library_id: str | None = None  # only assets of this external library
    taken_after: datetime | None = None
    taken_before: datetime | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    trashed_after: datetime | None = None
    trashed_before: datetime | None = None
    #: The caller's session is unlocked with the PIN code (``visibility: locked`` may match).
    unlocked: bool = False


class SmartSearchRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Gateway -> search: one page of an owner's assets (and their timeline partners',
    ``partner_ids``) nearest to a text query (CLIP), or to an asset's own embedding
    (``query_asset_id``), narrowed by ``filters``."""

    subject: ClassVar[str] = "darkroom.rpc.search.smart"
    version: int = 1
    owner_id: str
    query: str | None = None
    query_asset_id: str | None = None
    language: str | None = None
    filters: SearchFilters = SearchFilters()
    page: int = 1
    size: int = 100
    # Users who share their library with the owner and whom the owner shows in their
    # timeline: their timeline assets are searched too (Immich's getUserIdsToSearch).
    partner_ids: list[str] = msgspec.field(default_factory=list)


class SmartSearchReply(msgspec.Struct, frozen=True, kw_only=True):
    """Search -> gateway. ``status`` "ok" with ``asset_ids`` nearest first (``has_more`` when a
    next page exists), "unavailable" when no CLIP model is loaded, or "invalid" (bad request);
    ``error`` then says why in words a user can act on."""

    version: int = 1
    status: Literal["ok", "unavailable", "invalid"]
    asset_ids: list[str] = msgspec.field(default_factory=list)
    has_more: bool = False
    error: str | None = None


class ReverseGeocodeRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Gateway -> metadata: the place nearest a point (``GET /api/map/reverse-geocode``).

    ``lat``/``lon`` in degrees (WGS 84), -90..90 and -180..180."""

    subject: ClassVar[str] = "darkroom.rpc.metadata.reverse_geocode"
    version: int = 1
    lat: float
    lon: float


class GeocodedPlace(msgspec.Struct, frozen=True, kw_only=True):
    """A named place: GeoNames city, first-level division (state) and English country name."""

    city: str | None = None
    state: str | None = None
    country: str | None = None


class ReverseGeocodeReply(msgspec.Struct, frozen=True, kw_only=True):
    """Metadata -> gateway. ``status`` "ok" with the nearest place in ``places`` (none when no
    known place lies within the geocoder's radius), or "unavailable" when reverse geocoding is
    off or its data failed to load."""

    version: int = 1
    status: Literal["ok", "unavailable"]
    places: list[GeocodedPlace] = msgspec.field(default_factory=list)


# --- realtime fidelity (#13): events whose only consumer so far is the websocket ----------------


class ApiKeyDeleted(Event, frozen=True, kw_only=True):
    """An API key was deleted; it authenticates nothing from now on (the websocket disconnects
    the sockets it opened). Published by the gateway. Carries the key's id, never the key."""

    subject: ClassVar[str] = "darkroom.api_key.deleted"
    api_key_id: str
    user_id: str

    def dedupe_key(self) -> str:
        """The key id (a key is deleted once)."""
        return self.api_key_id


class PersonThumbnailUpdated(Event, frozen=True, kw_only=True):
    """A person's thumbnail was (re-)rendered from its feature face ``face_id`` and stored at
    ``thumbnail_key``. Published by face."""

    subject: ClassVar[str] = "darkroom.person.thumbnail.updated"
    person_id: str
    owner_id: str
    face_id: str
    thumbnail_key: str
    at: datetime  # when it was stored

    def dedupe_key(self) -> str:
        """The person, the face its thumbnail shows and when (the same publish retried is a
        duplicate; a later rendering, even of the same face, is a new event)."""
        return f"{self.person_id}:{self.face_id}:{self.at.isoformat()}"


class AssetHidden(Event, frozen=True, kw_only=True):
    """An asset became hidden from the timeline: the motion part of a live photo, linked to
    its still (by upload, metadata or ``PUT /api/assets/{id}``). Published by ingest, metadata
    and the gateway."""

    subject: ClassVar[str] = "darkroom.asset.hidden"
    asset_id: str
    owner_id: str
    still_id: str | None = None  # the still it is the motion part of


class AssetShown(Event, frozen=True, kw_only=True):
    """A hidden asset shows again: a live photo's motion part unlinked from its still
    (``PUT /api/assets/{id}`` ``livePhotoVideoId: null``; Immich's ``AssetShow``). Published by
    the gateway."""

    subject: ClassVar[str] = "darkroom.asset.shown"
    asset_id: str
    owner_id: str
    still_id: str | None = None  # the still it was the motion part of


class _PartnerChange(Event, frozen=True, kw_only=True):
    """Base of the partner-sharing events: who shares their library with whom, and when."""

    shared_by_id: str  # the user whose library is shared
    shared_with_id: str  # the partner who sees it
    at: datetime  # when it changed

    def dedupe_key(self) -> str:
        """The pair and the time (sharing again later is a new event)."""
        return f"{self.shared_by_id}:{self.shared_with_id}:{self.at.isoformat()}"


class PartnerAdded(_PartnerChange, frozen=True, kw_only=True):
    """A user started sharing their library with a partner (POST /api/partners). Published by
    the gateway."""

    subject: ClassVar[str] = "darkroom.partner.added"


class PartnerRemoved(_PartnerChange, frozen=True, kw_only=True):
    """A user stopped sharing their library with a partner (DELETE /api/partners/{id}); the
    partner's access ended with it. Published by the gateway."""

    subject: ClassVar[str] = "darkroom.partner.removed"


# --- album activity and notifications (#14) -----------------------------------------------------


class ActivityCreated(Event, frozen=True, kw_only=True):
    """A member commented on or liked an album, or an asset in it. Published by the gateway.
    Ids only: the comment's text stays in the database."""

    subject: ClassVar[str] = "darkroom.activity.created"
    activity_id: str
    album_id: str
    asset_id: str | None = None  # None: on the album itself
    user_id: str  # the author
    type: Literal["comment", "like"]

    def dedupe_key(self) -> str:
        """The activity id (an activity is created once)."""
        return self.activity_id


class ActivityDeleted(Event, frozen=True, kw_only=True):
    """A comment or like was removed (by its author or the album's owner). Published by the
    gateway."""

    subject: ClassVar[str] = "darkroom.activity.deleted"
    activity_id: str
    album_id: str
    user_id: str  # who removed it

    def dedupe_key(self) -> str:
        """The activity id (an activity is deleted once)."""
        return self.activity_id


class NotificationCreated(Event, frozen=True, kw_only=True):
    """A user got an in-app notification (websocket ``on_notification``). Published by the
    gateway and by the pipeline services (a job that failed for good notifies the admins)."""

    subject: ClassVar[str] = "darkroom.notification.created"
    notification_id: str
    user_id: str
    type: str  # spec: NotificationType (AlbumInvite, AlbumUpdate, JobFailed, ...)

    def dedupe_key(self) -> str:
        """The notification id."""
        return self.notification_id


class NotificationEmailRequested(Event, frozen=True, kw_only=True):
    """A notification's e-mail is to be sent (SMTP configured and the user's e-mail preference
    on at the time). Consumed by the gateway's mail queue (durable ``gateway-mail``), which
    renders it from the database and sends it once per notification. No address or text here."""

    subject: ClassVar[str] = "darkroom.notification.email.requested"
    notification_id: str
    user_id: str

    def dedupe_key(self) -> str:
        """The notification id (one e-mail per notification)."""
        return self.notification_id


class AlbumShared(Event, frozen=True, kw_only=True):
    """An album owner shared an album with users (new members). Published by the gateway."""

    subject: ClassVar[str] = "darkroom.album.shared"
    album_id: str
    owner_id: str
    user_ids: list[str]  # the new members
    at: datetime

    def dedupe_key(self) -> str:
        """The album, the time and the members."""
        return f"{self.album_id}:{self.at.isoformat()}:{','.join(sorted(self.user_ids))}"


# --- sharing: public shared links ---------------------------------------------------------------


class SharedLinkCreated(Event, frozen=True, kw_only=True):
    """A user made a public shared link to an album or to a set of their assets. Published by
    the gateway. Carries ids and options, never the link's key or password (they open it)."""

    subject: ClassVar[str] = "darkroom.shared_link.created"
    shared_link_id: str
    owner_id: str
    type: Literal["ALBUM", "INDIVIDUAL"]
    album_id: str | None = None
    asset_count: int = 0  # assets of an INDIVIDUAL link when it was made; 0 for an album link
    expires_at: datetime | None = None
    has_password: bool = False
    allow_upload: bool = False
    allow_download: bool = True
    show_metadata: bool = True

    def dedupe_key(self) -> str:
        """The link id (a link is made once)."""
        return self.shared_link_id


class SharedLinkRemoved(Event, frozen=True, kw_only=True):
    """A user deleted a public shared link: it opens nothing from now on. Published by the
    gateway (a link deleted along with its album is not announced here; the album's removal
    says it)."""

    subject: ClassVar[str] = "darkroom.shared_link.removed"
    shared_link_id: str
    owner_id: str
    type: Literal["ALBUM", "INDIVIDUAL"]
    album_id: str | None = None

    def dedupe_key(self) -> str:
        """The link id (a link is removed once)."""
        return self.shared_link_id


# --- system config ------------------------------------------------------------------------------


class ConfigUpdated(Event, frozen=True, kw_only=True):
    """An admin saved the system config (``PUT /api/system-config``). Published by the gateway;
    every replica of every service reloads the config from PostgreSQL on it (each through its
    own core-NATS subscription, not a shared durable consumer, so that all of them see it).
    Names the sections that changed, never a value (SMTP password and OAuth client secret are
    secrets)."""

    subject: ClassVar[str] = "darkroom.config.updated"
    sections: list[str]  # top-level SystemConfigDto keys whose values changed ("image", ...)
    at: datetime

    def dedupe_key(self) -> str:
        """The time of the save (two saves are two facts)."""
        return self.at.isoformat()


# --- stacks (#16) -------------------------------------------------------------------------------


class StackCreated(Event, frozen=True, kw_only=True):
    """A user stacked assets under a primary (through the API, or the metadata service's
    automatic stacking of RAW+JPEG pairs and bursts). Published by the gateway and metadata."""

    subject: ClassVar[str] = "darkroom.stack.created"
    stack_id: str
    owner_id: str
    primary_asset_id: str
    asset_ids: list[str]  # every asset of the stack, the primary first

    def dedupe_key(self) -> str:
        """The stack id (a stack is made once)."""
        return self.stack_id


class StackUpdated(Event, frozen=True, kw_only=True):
    """A stack's primary changed, or assets joined or left it (it still has at least 2).
    Published by the gateway and metadata (automatic stacking adding to a stack)."""

    subject: ClassVar[str] = "darkroom.stack.updated"
    stack_id: str
    owner_id: str
    at: datetime  # when it changed

    def dedupe_key(self) -> str:
        """The stack and the time of the change (a later change is a new event)."""
        return f"{self.stack_id}:{self.at.isoformat()}"


class StackDeleted(Event, frozen=True, kw_only=True):
    """Stacks are gone (unstacked, merged into a new stack, or left with fewer than 2
    assets); their assets stay. Published by the gateway."""

    subject: ClassVar[str] = "darkroom.stack.deleted"
    stack_ids: list[str]
    owner_id: str

    def dedupe_key(self) -> str:
        """The stack ids (a stack is deleted once)."""
        digest = hashlib.sha1(",".join(sorted(self.stack_ids)).encode(), usedforsecurity=False)
        return digest.hexdigest()


# --- memories ("On this day", #16) --------------------------------------------------------------


class _MemoryChange(Event, frozen=True, kw_only=True):
    """A change to a user's memory. Ids only: what the memory shows stays in the database."""

    memory_id: str
    owner_id: str
    at: datetime

    def dedupe_key(self) -> str:
        """The memory and the time of the change."""
        return f"{self.memory_id}:{self.at.isoformat()}"


class MemoryCreated(_MemoryChange, frozen=True, kw_only=True):
    """A memory was made, by its owner or by the daily "on this day" generation. Published by
    the gateway."""

    subject: ClassVar[str] = "darkroom.memory.created"


class MemoryUpdated(_MemoryChange, frozen=True, kw_only=True):
    """A memory's flags, date or assets changed (saved, seen, assets added or removed).
    Published by the gateway."""

    subject: ClassVar[str] = "darkroom.memory.updated"


class MemoryDeleted(_MemoryChange, frozen=True, kw_only=True):
    """A memory was deleted, by its owner or by the clean-up of expired unsaved memories.
    Published by the gateway."""

    subject: ClassVar[str] = "darkroom.memory.deleted"


# --- scheduled tasks (#15 item 4) ---------------------------------------------------------------


class FaceClusteringRequested(Event, frozen=True, kw_only=True):
    """Run "cluster new faces" over every owner's unassigned faces (Immich's nightly facial
    recognition, ``nightlyTasks.clusterNewFaces``). Published by the gateway's nightly scheduler
    (once per scheduled time: :mod:`darkroom_gateway.scheduler`) or an admin's job; handled by
    ONE face replica (a durable consumer shared by the face replicas). The pass is idempotent:
    a repeated request only retries the faces still without a person."""

    subject: ClassVar[str] = "darkroom.face.clustering.requested"
    requested_at: datetime  # when the request was made (the nightly run's start)
    reason: Literal["nightly", "job"] = "nightly"

    def dedupe_key(self) -> str:
        """The time of the request (one pass per request)."""
        return self.requested_at.isoformat()


class StorageTemplateMigrationRequested(Event, frozen=True, kw_only=True):
    """An admin started the storage template migration (Immich's ``storageTemplateMigration``
    job): every managed original is moved to the path the storage template gives it. Published
    by the gateway; handled by ingest, which streams the assets in batches."""

    subject: ClassVar[str] = "darkroom.storage_template.migration.requested"
    run_id: str
    requested_at: datetime

    def dedupe_key(self) -> str:
        """The run: each start is its own job."""
        return self.run_id


# --- database backups and maintenance mode (#15 item 5) -----------------------------------------


class BackupCreated(Event, frozen=True, kw_only=True):
    """A database backup was written to storage ``backups/`` (scheduled, the manual job, or
    ``darkroom backup``). Published by the gateway and the ``darkroom`` command. Its file name
    and size only: the dump itself holds every user's rows and never travels on the bus."""

    subject: ClassVar[str] = "darkroom.backup.created"
    filename: str
    size: int  # bytes
    at: datetime

    def dedupe_key(self) -> str:
        """The file name (one backup per name)."""
        return self.filename


class DatabaseRestored(Event, frozen=True, kw_only=True):
    """The database was replaced by a backup and migrated forward; every process should drop
    what it cached from the old rows (the system config is announced by ``ConfigUpdated``).
    Published by the gateway and the ``darkroom`` command."""

    subject: ClassVar[str] = "darkroom.backup.restored"
    filename: str
    migrations_applied: list[str] = []
    at: datetime

    def dedupe_key(self) -> str:
        """The backup and the time of the restore (one backup may be restored twice)."""
        return f"{self.filename}:{self.at.isoformat()}"


class MaintenanceModeChanged(Event, frozen=True, kw_only=True):
    """Maintenance mode went on or off (Immich's MaintenanceAction). The state itself lives in
    NATS key-value (``darkroom_maintenance``); this tells whoever listens that it changed.
    Published by the gateway. Never carries the maintenance login secret."""

    subject: ClassVar[str] = "darkroom.maintenance.changed"
    active: bool
    action: str  # start, end, select_database_restore, restore_database
    at: datetime

    def dedupe_key(self) -> str:
        """The state and the time of the change."""
        return f"{self.active}:{self.action}:{self.at.isoformat()}"


# --- external libraries (#17) -------------------------------------------------------------------


class LibraryScanRequested(Event, frozen=True, kw_only=True):
    """Scan an external library: walk its import paths and import, refresh or take offline what
    changed. Published by the gateway (``POST /api/libraries/{id}/scan``, the ``library`` queue,
    the nightly schedule); one ingest replica walks the tree and publishes
    :class:`LibraryScanBatch` messages, which every replica shares."""

    subject: ClassVar[str] = "darkroom.library.scan.requested"
    library_id: str
    scan_id: str  # one per request; names its batches
    force: bool = False  # re-read every file, changed or not

    def dedupe_key(self) -> str:
        """The scan id (a scan is requested once)."""
        return self.scan_id


class LibraryScanBatch(Event, frozen=True, kw_only=True):
    """A few hundred paths of an external library for ingest to check: import a new file,
    re-read a changed one, take a missing or excluded one offline, bring a returned one back.
    Published by ingest (the walk of a scan, the file watcher). Handling a batch twice changes
    nothing more than once (a path is imported once per library)."""

    subject: ClassVar[str] = "darkroom.library.scan.batch"
    library_id: str
    scan_id: str
    index: int  # the batch's number within its scan
    paths: list[str]  # absolute paths under the library's import paths
    force: bool = False  # re-read the files even if size and mtime are unchanged

    def dedupe_key(self) -> str:
        """The scan and the batch number (a walk restarted after a crash is de-duplicated)."""
        return f"{self.scan_id}:{self.index}"


class AssetsOffline(_BulkAssetAction, frozen=True, kw_only=True):
    """External-library assets whose file is gone (or now excluded): ``isOffline`` and, as
    Immich, moved to the trash. Published by ingest with :class:`AssetsTrashed`."""

    subject: ClassVar[str] = "darkroom.asset.offline"


class AssetsOnline(_BulkAssetAction, frozen=True, kw_only=True):
    """Offline external-library assets whose file is back: out of the trash again. Published
    by ingest with :class:`AssetsRestored`."""

    subject: ClassVar[str] = "darkroom.asset.online"


class AssetEditsChanged(Event, frozen=True, kw_only=True):
    """An owner saved (PUT) or removed (DELETE) the edits of a photo (crop, rotate, mirror;
    ``/api/assets/{id}/edits``). Published by the gateway; the thumbnail service renders the
    edited preview and thumbnail again from the original with the edits in force when it runs
    (none: the edited renderings are removed)."""

    subject: ClassVar[str] = "darkroom.asset.edits.changed"
    asset_id: str
    owner_id: str
    at: datetime  # when the edits were saved or removed

    def dedupe_key(self) -> str:
        """The asset and the time of the change (a later change is a new event)."""
        return f"{self.asset_id}:{self.at.isoformat()}"


class AssetEditRendered(Event, frozen=True, kw_only=True):
    """The edited renderings of a photo match its edits now (``edited``: they exist; false: its
    edits were removed and so were they). Published by thumbnail; the gateway sends the owner
    ``AssetEditReadyV1``."""

    subject: ClassVar[str] = "darkroom.asset.edit.rendered"
    asset_id: str
    owner_id: str
    edited: bool
    at: datetime  # the AssetEditsChanged this answers

    def dedupe_key(self) -> str:
        """The asset and the time of the change it answers."""
        return f"{self.asset_id}:{self.at.isoformat()}"


# --- integrations (#21): facts the public events need -------------------------------------------


class AlbumCreated(Event, frozen=True, kw_only=True):
    """A user made an album (``POST /api/albums``). Published by the gateway."""

    subject: ClassVar[str] = "darkroom.album.created"
    album_id: str
    owner_id: str
    at: datetime  # when it was made

    def dedupe_key(self) -> str:
        """The album id (an album is made once)."""
        return self.album_id


class AlbumUpdated(Event, frozen=True, kw_only=True):
    """An album's details or assets changed (``PATCH /api/albums/{id}``, assets added or
    removed). Published by the gateway."""

    subject: ClassVar[str] = "darkroom.album.updated"
    album_id: str
    user_id: str  # who changed it (the owner, or an editor adding or removing assets)
    at: datetime  # when it changed

    def dedupe_key(self) -> str:
        """The album and the time of the change (a later change is a new event)."""
        return f"{self.album_id}:{self.at.isoformat()}"


class PersonMerged(Event, frozen=True, kw_only=True):
    """People were merged into ``person_id`` (``POST /api/people/{id}/merge``): their faces
    are its faces now and ``merged_ids`` are gone. Published by the gateway."""

    subject: ClassVar[str] = "darkroom.person.merged"
    person_id: str
    owner_id: str
    merged_ids: list[str]
    at: datetime

    def dedupe_key(self) -> str:
        """The person, the time and the people merged into it."""
        return f"{self.person_id}:{self.at.isoformat()}:{','.join(sorted(self.merged_ids))}"


class UserCreated(Event, frozen=True, kw_only=True):
    """A user account was made (first admin sign-up, an admin, OAuth auto-registration).
    Published by the gateway. Its id only: e-mail and name stay in the database."""

    subject: ClassVar[str] = "darkroom.user.created"
    user_id: str
    at: datetime

    def dedupe_key(self) -> str:
        """The user id (a user is made once)."""
        return self.user_id


class UserDeleted(Event, frozen=True, kw_only=True):
    """A user was deleted: soft (``permanent`` False: they can no longer sign in and may be
    restored within ``user.deleteDelay``) or for good with everything of theirs. Published by
    the gateway."""

    subject: ClassVar[str] = "darkroom.user.deleted"
    user_id: str
    permanent: bool
    at: datetime

    def dedupe_key(self) -> str:
        """The user and which deletion (a soft one, then the removal)."""
        return f"{self.user_id}:{'permanent' if self.permanent else 'soft'}"
