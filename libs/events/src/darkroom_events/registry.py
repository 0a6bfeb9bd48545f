"""The registry: subject -> event type -> producers and consumers.

The bus provisions the stream and the durable consumers from it, and docs/events.md is generated
from it (``python -m darkroom_events.docs``), so the catalogue cannot drift from the code.
"""

from __future__ import annotations

import msgspec

from darkroom_events.catalogue import (
    ActivityCreated,
    ActivityDeleted,
    AlbumCreated,
    AlbumShared,
    AlbumUpdated,
    ApiKeyDeleted,
    AssetCreated,
    AssetDeleted,
    AssetEditRendered,
    AssetEditsChanged,
    AssetEmbeddingComputed,
    AssetFacesDetected,
    AssetFacesRecognized,
    AssetFailed,
    AssetHidden,
    AssetMetadataExtracted,
    AssetShown,
    AssetsOffline,
    AssetsOnline,
    AssetsRestored,
    AssetsTrashed,
    AssetThumbnailGenerated,
    AssetUpdated,
    AssetVideoTranscoded,
    BackupCreated,
    ConfigUpdated,
    DatabaseRestored,
    Event,
    FaceClusteringRequested,
    IngestUploadReply,
    IngestUploadRequest,
    LibraryScanBatch,
    LibraryScanRequested,
    MaintenanceModeChanged,
    MemoryCreated,
    MemoryDeleted,
    MemoryUpdated,
    NotificationCreated,
    NotificationEmailRequested,
    PartnerAdded,
    PartnerRemoved,
    PersonCreated,
    PersonMerged,
    PersonThumbnailUpdated,
    ReverseGeocodeReply,
    ReverseGeocodeRequest,
    SessionDeleted,
    SharedLinkCreated,
    SharedLinkRemoved,
    SmartSearchReply,
    SmartSearchRequest,
    StackCreated,
    StackDeleted,
    StackUpdated,
    StorageTemplateMigrationRequested,
    UserCreated,
    UserDeleted,
    WebhookRequested,
)

#: The one JetStream stream that holds every event (limits retention, 7 days).
STREAM_NAME = "DARKROOM"
#: Subjects the stream captures. RPC subjects (``darkroom.rpc.>``) are deliberately outside it:
#: a stream capturing a request subject would answer the request with its own publish ack.
STREAM_SUBJECTS = (
    "darkroom.asset.>",
    "darkroom.album.>",
    "darkroom.person.>",
    "darkroom.session.>",
    "darkroom.shared_link.>",
    "darkroom.partner.>",
    "darkroom.activity.>",
    "darkroom.notification.>",
    "darkroom.api_key.>",
    "darkroom.config.>",
    "darkroom.stack.>",
    "darkroom.memory.>",
    "darkroom.face.>",
    "darkroom.storage_template.>",
    "darkroom.job.>",
    "darkroom.backup.>",
    "darkroom.maintenance.>",
    "darkroom.library.>",
    "darkroom.user.>",
    "darkroom.webhook.>",
)
#: Seconds a message id is remembered for de-duplication (JetStream duplicate_window).
DUPLICATE_WINDOW_S = 120.0
#: Maximum age of events in the stream, seconds (7 days).
MAX_AGE_S = 7 * 24 * 3600.0


class EventSpec(msgspec.Struct, frozen=True, kw_only=True):
    """One entry of the registry."""

    type: type[Event]
    producers: tuple[str, ...]
    consumers: tuple[str, ...]
    description: str


class RpcSpec(msgspec.Struct, frozen=True, kw_only=True):
    """One request/reply endpoint (NATS core request, queue group = the serving service)."""

    subject: str
    request: type[msgspec.Struct]
    reply: type[msgspec.Struct]
    server: str
    clients: tuple[str, ...]
    description: str


REGISTRY: tuple[EventSpec, ...] = (
    EventSpec(
        type=AssetCreated,
        producers=("ingest",),
        consumers=("metadata", "webhook"),
        description="A new asset's original is stored and its row committed.",
    ),
    EventSpec(
        type=AssetMetadataExtracted,
        producers=("metadata",),
        consumers=("thumbnail", "transcode", "ingest", "webhook"),
        description="EXIF/XMP/video metadata is in asset_exif; capture time is known.",
    ),
    EventSpec(
        type=AssetThumbnailGenerated,
        producers=("thumbnail",),
        consumers=("embedding", "face", "gateway", "thumbnail"),
        description="Preview (1440 px JPEG), thumbnail (250 px WebP) and thumbhash stored.",
    ),
    EventSpec(
        type=AssetVideoTranscoded,
        producers=("transcode",),
        consumers=(),
        description="A video's H.264/AAC MP4 encoding is stored.",
    ),
    EventSpec(
        type=AssetEmbeddingComputed,
        producers=("embedding",),
        consumers=(),
        description="The CLIP embedding of the preview is in smart_search.",
    ),
    EventSpec(
        type=AssetFacesDetected,
        producers=("face",),
        consumers=(),
        description="Faces are detected and stored in asset_faces.",
    ),
    EventSpec(
        type=AssetFailed,
        producers=("metadata", "thumbnail", "transcode", "embedding", "face"),
        consumers=(),
        description="A processing step gave up on an asset (see job_failures).",
    ),
    EventSpec(
        type=AssetDeleted,
        producers=("ingest", "gateway"),
        consumers=("gateway",),
        description="An asset and its files were removed for good.",
    ),
    EventSpec(
        type=AssetFacesRecognized,
        producers=("face",),
        consumers=("webhook",),
        description="An asset's faces went through recognition; the people it shows now.",
    ),
    EventSpec(
        type=PersonCreated,
        producers=("face", "gateway"),
        consumers=(),
        description="Recognition started a new unnamed person from a core face, or a user "
        "made a person (POST /api/people).",
    ),
    EventSpec(
        type=AssetsTrashed,
        producers=("gateway",),
        consumers=("gateway",),
        description="An owner moved assets to the trash (websocket on_asset_trash).",
    ),
    EventSpec(
        type=AssetsRestored,
        producers=("gateway",),
        consumers=("gateway",),
        description="An owner brought assets back from the trash (websocket on_asset_restore).",
    ),
    EventSpec(
        type=AssetUpdated,
        producers=("gateway", "metadata", "webhook"),
        consumers=("gateway", "metadata"),
        description="An owner edited an asset (websocket on_asset_update); the metadata service "
        "names the place of an edited location and publishes it again.",
    ),
    EventSpec(
        type=SessionDeleted,
        producers=("gateway",),
        consumers=("gateway",),
        description="A login session ended (websocket on_session_delete).",
    ),
    EventSpec(
        type=ApiKeyDeleted,
        producers=("gateway",),
        consumers=("gateway",),
        description="An API key was deleted (the websocket closes the sockets it opened).",
    ),
    EventSpec(
        type=PersonThumbnailUpdated,
        producers=("face",),
        consumers=("gateway",),
        description="A person's thumbnail was rendered (websocket on_person_thumbnail).",
    ),
    EventSpec(
        type=AssetHidden,
        producers=("ingest", "metadata", "gateway"),
        consumers=("gateway",),
        description="A live photo's motion part was hidden (websocket on_asset_hidden).",
    ),
    EventSpec(
        type=AssetShown,
        producers=("gateway",),
        consumers=("gateway",),
        description="A live photo's motion part was unlinked and shows again (websocket "
        "on_upload_success, AssetUploadReadyV1/V2).",
    ),
    EventSpec(
        type=PartnerAdded,
        producers=("gateway",),
        consumers=(),
        description="A user shared their library with a partner (sharedBy, sharedWith).",
    ),
    EventSpec(
        type=PartnerRemoved,
        producers=("gateway",),
        consumers=(),
        description="A user stopped sharing their library with a partner (sharedBy, sharedWith).",
    ),
    EventSpec(
        type=ActivityCreated,
        producers=("gateway",),
        consumers=(),
        description="A comment or like on an album or an album asset (ids only).",
    ),
    EventSpec(
        type=ActivityDeleted,
        producers=("gateway",),
        consumers=(),
        description="A comment or like was removed.",
    ),
    EventSpec(
        type=NotificationCreated,
        producers=("gateway", "ingest", "metadata", "thumbnail", "transcode", "embedding", "face"),
        consumers=("gateway",),
        description="A user got an in-app notification (websocket on_notification).",
    ),
    EventSpec(
        type=NotificationEmailRequested,
        producers=("gateway",),
        consumers=("gateway",),
        description="Send a notification's e-mail (the gateway's durable mail queue).",
    ),
    EventSpec(
        type=AlbumShared,
        producers=("gateway",),
        consumers=(),
        description="An album was shared with new members.",
    ),
    EventSpec(
        type=SharedLinkCreated,
        producers=("gateway",),
        consumers=(),
        description="A user made a public shared link (ids and options, never key/password).",
    ),
    EventSpec(
        type=SharedLinkRemoved,
        producers=("gateway",),
        consumers=(),
        description="A user deleted a public shared link; it opens nothing any more.",
    ),
    EventSpec(
        type=ConfigUpdated,
        producers=("gateway",),
        consumers=(),
        description="An admin saved the system config (changed sections; every replica reloads).",
    ),
    EventSpec(
        type=StackCreated,
        producers=("gateway", "metadata"),
        consumers=("gateway",),
        description="Assets were stacked under a primary (by a user, or automatically).",
    ),
    EventSpec(
        type=StackUpdated,
        producers=("gateway", "metadata"),
        consumers=("gateway",),
        description="A stack's primary changed or assets left it.",
    ),
    EventSpec(
        type=StackDeleted,
        producers=("gateway",),
        consumers=("gateway",),
        description="Stacks were removed; their assets stay, unstacked.",
    ),
    EventSpec(
        type=MemoryCreated,
        producers=("gateway",),
        consumers=(),
        description="A memory was made (by its owner or the daily on-this-day generation).",
    ),
    EventSpec(
        type=MemoryUpdated,
        producers=("gateway",),
        consumers=(),
        description="A memory's flags, date or assets changed.",
    ),
    EventSpec(
        type=MemoryDeleted,
        producers=("gateway",),
        consumers=(),
        description="A memory was deleted (by its owner or the clean-up of expired ones).",
    ),
    EventSpec(
        type=FaceClusteringRequested,
        producers=("gateway",),
        consumers=("face",),
        description="Run the clustering pass over unassigned faces (the nightly task).",
    ),
    EventSpec(
        type=StorageTemplateMigrationRequested,
        producers=("gateway",),
        consumers=("ingest",),
        description="Move every managed original to its storage-template path (a job run).",
    ),
    EventSpec(
        type=BackupCreated,
        producers=("gateway", "darkroom"),
        consumers=(),
        description="A database backup was written to storage backups/ (name and size).",
    ),
    EventSpec(
        type=DatabaseRestored,
        producers=("gateway", "darkroom"),
        consumers=(),
        description="The database was restored from a backup and migrated forward.",
    ),
    EventSpec(
        type=MaintenanceModeChanged,
        producers=("gateway",),
        consumers=(),
        description="Maintenance mode went on or off (the state is in NATS key-value).",
    ),
    EventSpec(
        type=LibraryScanRequested,
        producers=("gateway",),
        consumers=("ingest",),
        description="Scan an external library (on demand, on its schedule, the library queue).",
    ),
    EventSpec(
        type=LibraryScanBatch,
        producers=("ingest",),
        consumers=("ingest",),
        description="Paths of an external library to import, refresh or take offline.",
    ),
    EventSpec(
        type=AssetsOffline,
        producers=("ingest",),
        consumers=(),
        description="External-library assets whose file is gone: offline and in the trash.",
    ),
    EventSpec(
        type=AssetsOnline,
        producers=("ingest",),
        consumers=(),
        description="Offline external-library assets whose file is back.",
    ),
    EventSpec(
        type=AssetEditsChanged,
        producers=("gateway",),
        consumers=("thumbnail",),
        description="An owner saved or removed a photo's edits (crop, rotate, mirror).",
    ),
    EventSpec(
        type=AssetEditRendered,
        producers=("thumbnail",),
        consumers=("gateway",),
        description="A photo's edited preview/thumbnail match its edits (AssetEditReadyV1).",
    ),
    EventSpec(
        type=AlbumCreated,
        producers=("gateway",),
        consumers=(),
        description="A user made an album (public: darkroom.public.album.created.v1).",
    ),
    EventSpec(
        type=AlbumUpdated,
        producers=("gateway", "webhook"),
        consumers=(),
        description="An album's details or assets changed.",
    ),
    EventSpec(
        type=PersonMerged,
        producers=("gateway",),
        consumers=(),
        description="People were merged into one (the others are gone).",
    ),
    EventSpec(
        type=UserCreated,
        producers=("gateway",),
        consumers=(),
        description="A user account was made (its id only).",
    ),
    EventSpec(
        type=UserDeleted,
        producers=("gateway",),
        consumers=(),
        description="A user was deleted: soft (restorable) or for good.",
    ),
    EventSpec(
        type=WebhookRequested,
        producers=("webhook",),
        consumers=("webhook",),
        description="A workflow queued a signed webhook call (a webhook_deliveries row).",
    ),
)

RPCS: tuple[RpcSpec, ...] = (
    RpcSpec(
        subject=IngestUploadRequest.subject,
        request=IngestUploadRequest,
        reply=IngestUploadReply,
        server="ingest",
        clients=("gateway",),
        description="Create an asset from a file streamed to a staging key.",
    ),
    RpcSpec(
        subject=SmartSearchRequest.subject,
        request=SmartSearchRequest,
        reply=SmartSearchReply,
        server="search",
        clients=("gateway",),
        description="Smart search: an owner's assets nearest to a text query (CLIP), filtered.",
    ),
    RpcSpec(
        subject=ReverseGeocodeRequest.subject,
        request=ReverseGeocodeRequest,
        reply=ReverseGeocodeReply,
        server="metadata",
        clients=("gateway",),
        description="Reverse geocoding: the place (city, state, country) nearest a point.",
    ),
)


def spec_for(event_type: type[Event]) -> EventSpec:
    """The registry entry of ``event_type``.

    Raises:
        KeyError: The type is not registered.
    """
    for spec in REGISTRY:
        if spec.type is event_type:
            return spec
    raise KeyError(f"{event_type.__name__} is not in the event registry")


def type_for_subject(subject: str) -> type[Event]:
    """The event type published on ``subject``.

    Raises:
        KeyError: No registered event has that subject.
    """
    for spec in REGISTRY:
        if spec.type.subject == subject:
            return spec.type
    raise KeyError(f"no event is registered for subject {subject!r}")
