"""``python -m darkroom_metadata``: consume asset.created, store EXIF/XMP/video metadata; consume
asset.updated, name the place of an edited location; answer ``darkroom.rpc.metadata.
reverse_geocode`` (the gateway's ``GET /api/map/reverse-geocode``) with the same geocoder."""

from __future__ import annotations

import structlog
from darkroom_db import smart_search, system_metadata
from darkroom_events.catalogue import GeocodedPlace, ReverseGeocodeReply, ReverseGeocodeRequest
from darkroom_runtime import Context, run_service

from darkroom_metadata.exiftool import ExifTool, find_executable
from darkroom_metadata.geocode import Geocoder
from darkroom_metadata.handlers import extract_asset_metadata, geocode_edited_location
from darkroom_metadata.settings import MetadataSettings

log = structlog.get_logger()

#: The task name under which the service reports reverse geocoding in ``ml_model_status`` (read
#: by the gateway's ``GET /api/server/features``, ``reverseGeocoding``).
REVERSE_GEOCODING_TASK = "reverse-geocoding"

#: What the reported "model" is: the offline gazetteer (see :mod:`darkroom_metadata.geocode`).
GEOCODER_DATA = "geonames-cities1000"


async def setup(ctx: Context) -> None:
    """Start ExifTool in stay-open mode (``ctx.extra["exiftool"]``), then load the reverse
    geocoder's data (~1.5 s) when it is on, and report whether it works.

    With ``DARKROOM_REVERSE_GEOCODING=false``, or data that fails to load (then the service goes
    on without places), ``ready = false`` is recorded with the reason, so the server's features
    say ``reverseGeocoding: false``.
    """
    reader = ExifTool(
        find_executable(getattr(ctx.settings, "exiftool", "")),
        timeout_s=getattr(ctx.settings, "exiftool_timeout_s", 60.0),
    )
    version = await ctx.run_blocking(reader.version)  # starts it; fails loudly when missing
    log.info("exiftool.ready", version=version, executable=reader.executable)
    ctx.extra["exiftool"] = reader
    # the about page's exiftool version (the vendored one is not on PATH for the runtime's report)
    await system_metadata.merge(ctx.pool, system_metadata.COMPONENT_VERSIONS, {"exiftool": version})
    if not getattr(ctx.settings, "reverse_geocoding", True):
        await _report(ctx, ready=False, reason="turned off (DARKROOM_REVERSE_GEOCODING=false)")
        return
    geocoder = Geocoder()
    try:
        await ctx.run_blocking(geocoder.load)
    except Exception as exc:  # noqa: BLE001 - run without places rather than not at all
        log.warning("geocoder.unavailable", error=str(exc))
        await _report(ctx, ready=False, reason=f"geocoder data failed to load: {exc}")
        return
    ctx.extra["geocoder"] = geocoder
    await _report(ctx, ready=True)


async def _report(ctx: Context, *, ready: bool, reason: str = "") -> None:
    await smart_search.set_model_status(
        ctx.pool, task=REVERSE_GEOCODING_TASK, model=GEOCODER_DATA, ready=ready, reason=reason
    )


async def reverse_geocode(ctx: Context, req: ReverseGeocodeRequest) -> ReverseGeocodeReply:
    """The place nearest ``req``'s point, by the geocoder the service names assets' places with.

    Returns:
        "ok" with one place, or none when no known place is within the geocoder's radius (or
        the point is out of range); "unavailable" when reverse geocoding is off or its data
        did not load.
    """
    geocoder: Geocoder | None = ctx.extra.get("geocoder")
    if geocoder is None:
        return ReverseGeocodeReply(status="unavailable")
    place = await ctx.run_blocking(geocoder.place, req.lat, req.lon)
    if place is None:
        return ReverseGeocodeReply(status="ok")
    found = GeocodedPlace(city=place.city, state=place.state, country=place.country)
    return ReverseGeocodeReply(status="ok", places=[found])


async def register_rpc(ctx: Context) -> None:
    """Answer reverse geocoding requests; replicas share them in the "metadata" queue group."""

    async def handle(req: ReverseGeocodeRequest) -> ReverseGeocodeReply:
        return await reverse_geocode(ctx, req)

    await ctx.bus.serve(
        ReverseGeocodeRequest.subject, handle, ReverseGeocodeRequest, queue="metadata"
    )


def main() -> None:
    """Run the metadata service until SIGTERM/SIGINT."""
    run_service(
        "metadata",
        MetadataSettings,
        handlers=[extract_asset_metadata, geocode_edited_location],
        setup=setup,
        rpc=register_rpc,
    )


if __name__ == "__main__":
    main()
