"""The public event catalogue: every event type, its subject and who produces/consumes it."""

from __future__ import annotations

from darkroom_events.catalogue import (
    AssetCreated,
    AssetDeleted,
    AssetEmbeddingComputed,
    AssetFacesDetected,
    AssetFacesRecognized,
    AssetFailed,
    AssetMetadataExtracted,
    AssetThumbnailGenerated,
    AssetType,
    AssetVideoTranscoded,
    Event,
    IngestUploadReply,
    IngestUploadRequest,
    PersonCreated,
)
from darkroom_events.registry import (
    DUPLICATE_WINDOW_S,
    MAX_AGE_S,
    REGISTRY,
    RPCS,
    STREAM_NAME,
    STREAM_SUBJECTS,
    EventSpec,
    RpcSpec,
    spec_for,
    type_for_subject,
)

__all__ = [
    "DUPLICATE_WINDOW_S",
    "MAX_AGE_S",
    "REGISTRY",
    "RPCS",
    "STREAM_NAME",
    "STREAM_SUBJECTS",
    "AssetCreated",
    "AssetDeleted",
    "AssetEmbeddingComputed",
    "AssetFacesDetected",
    "AssetFacesRecognized",
    "AssetFailed",
    "AssetMetadataExtracted",
    "AssetThumbnailGenerated",
    "AssetType",
    "AssetVideoTranscoded",
    "Event",
    "EventSpec",
    "IngestUploadReply",
    "IngestUploadRequest",
    "PersonCreated",
    "RpcSpec",
    "spec_for",
    "type_for_subject",
]
