"""``python -m darkroom_metadata``: consume asset.created, store EXIF/XMP/video metadata."""

from __future__ import annotations

from darkroom_runtime import Context, run_service

from darkroom_metadata.geocode import Geocoder
from darkroom_metadata.handlers import extract_asset_metadata
from darkroom_metadata.settings import MetadataSettings


async def setup(ctx: Context) -> None:
    """Make the process-wide reverse geocoder and load its data (~1.5 s) before consuming."""
    if getattr(ctx.settings, "reverse_geocoding", True):
        geocoder = Geocoder()
        await ctx.run_blocking(geocoder.load)
        ctx.extra["geocoder"] = geocoder


def main() -> None:
    """Run the metadata service until SIGTERM/SIGINT."""
    run_service("metadata", MetadataSettings, handlers=[extract_asset_metadata], setup=setup)


if __name__ == "__main__":
    main()
