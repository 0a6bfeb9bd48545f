"""Where originals are stored (Immich's upload layout, ../shared/ARCHITECTURE.md "Data")."""

from __future__ import annotations

import uuid


def original_key(owner_id: uuid.UUID, asset_id: uuid.UUID, extension: str) -> str:
    """``upload/<userId>/<ab>/<cd>/<assetId><ext>``: ab/cd are the id's first hex digits, which
    spread a large library over many folders.

    Args:
        owner_id: The owner's id.
        asset_id: The new asset's id.
        extension: With its dot, e.g. ``".jpg"``.
    """
    hex_id = asset_id.hex
    return f"upload/{owner_id}/{hex_id[:2]}/{hex_id[2:4]}/{asset_id}{extension}"


def sidecar_key(original: str) -> str:
    """The XMP sidecar stored beside an original: ``<original>.xmp``."""
    return f"{original}.xmp"
