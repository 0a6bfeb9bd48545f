"""Where derived images are stored (Immich's thumbs layout, ../shared/ARCHITECTURE.md "Data")."""

from __future__ import annotations

import uuid


def thumbs_key(owner_id: str, asset_id: str, kind: str, extension: str) -> str:
    """``thumbs/<userId>/<ab>/<cd>/<assetId>-<kind>.<ext>``, kind "preview" or "thumbnail"."""
    hex_id = uuid.UUID(asset_id).hex
    return f"thumbs/{owner_id}/{hex_id[:2]}/{hex_id[2:4]}/{asset_id}-{kind}.{extension}"
