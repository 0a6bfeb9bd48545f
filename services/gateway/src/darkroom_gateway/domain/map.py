"""The map: /api/map/markers, every geotagged asset the caller sees on their map.

Scope (Immich's ``getMapMarkers``): the caller's own active assets, plus with
``withSharedAlbums=true`` the active assets of every album they own or are a member of. Nobody
else's assets show otherwise, except with ``withPartners=true`` the timeline assets of the
users who share their library with the caller and whom the caller shows in their timeline
(Immich's ``getMyPartnerIds(timelineEnabled: true)``).

``GET /api/map/reverse-geocode`` (``reverseGeocode``, permission ``map.search``) names the place
nearest a point: the gateway asks the metadata service (``darkroom.rpc.metadata.reverse_geocode``),
whose offline GeoNames geocoder names assets' places, so a point gets the same city, state and
country its photos would; ``[]`` where no known place lies within its radius (25 km, as Immich).
Out-of-range or missing coordinates are 400; reverse geocoding turned off is 503.

``GET /api/darkroom/map`` is Darkroom's own (not in Immich's API): the raster tiles the web
app's map draws (``DARKROOM_MAP_TILE_URL``, ``DARKROOM_MAP_ATTRIBUTION``). Immich's DTOs carry no
Darkroom-only field, so the setting is not in ``/api/server/config``; the mobile apps read
``mapLightStyleUrl``/``mapDarkStyleUrl`` (MapLibre styles) from there as with Immich.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated

import msgspec
import structlog
from darkroom_db import map as map_db
from darkroom_db import partners
from darkroom_events.catalogue import ReverseGeocodeReply, ReverseGeocodeRequest
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from darkroom_gateway.auth import Auth
from darkroom_gateway.deps import Deps
from darkroom_gateway.domain.albums import MapMarkerResponse
from darkroom_gateway.domain.search import ServiceUnavailable
from darkroom_gateway.errors import BadRequest

log = structlog.get_logger()


class DarkroomMapResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """The web map's raster tiles (Darkroom only).

    Attributes:
        tile_url: Leaflet tile URL template (``{z}/{x}/{y}``).
        attribution: HTML credit shown in the map's corner.
    """

    tile_url: str
    attribution: str


#: Seconds the gateway waits for the metadata service's answer (a k-d tree query: milliseconds;
#: the margin is for a loaded machine).
REVERSE_GEOCODE_TIMEOUT_S = 30.0


class MapReverseGeocodeResponse(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: MapReverseGeocodeResponseDto (every field present, null when unknown)."""

    city: str | None
    state: str | None
    country: str | None


def _coordinate(value: str, name: str, limit: float) -> float:
    """A finite number in ``-limit..limit`` (:class:`BadRequest` otherwise)."""
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not (math.isfinite(number) and -limit <= number <= limit):
        raise BadRequest(f"{name} must be a number from {-limit:g} to {limit:g}")
    return number


class MapController(Controller):
    """/api/map."""

    path = "/api/map"

    @get("/markers", permission="map.read")
    async def get_map_markers(
        self,
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
        file_created_after: Annotated[
            datetime | None, QueryParameter(name="fileCreatedAfter", required=False)
        ] = None,
        file_created_before: Annotated[
            datetime | None, QueryParameter(name="fileCreatedBefore", required=False)
        ] = None,
        is_archived: Annotated[
            bool | None, QueryParameter(name="isArchived", required=False)
        ] = None,
        is_favorite: Annotated[
            bool | None, QueryParameter(name="isFavorite", required=False)
        ] = None,
        with_partners: Annotated[
            bool | None, QueryParameter(name="withPartners", required=False)
        ] = None,
        with_shared_albums: Annotated[
            bool | None, QueryParameter(name="withSharedAlbums", required=False)
        ] = None,
    ) -> list[MapMarkerResponse]:
        """Latitude and longitude of every asset with location data (Spec: getMapMarkers).

        ``isArchived=true`` adds archived assets to the timeline ones; ``isFavorite`` keeps
        favourites (true) or the others (false); ``fileCreatedAfter``/``fileCreatedBefore``
        bound ``fileCreatedAt`` (inclusive).
        """
        found = await map_db.markers(
            deps.pool,
            auth.user.id,
            is_archived=is_archived,
            is_favorite=is_favorite,
            created_after=file_created_after,
            created_before=file_created_before,
            with_shared_albums=bool(with_shared_albums),
            partner_ids=(
                await partners.sharer_ids(deps.pool, auth.user.id, in_timeline=True)
                if with_partners
                else ()
            ),
        )
        return [
            MapMarkerResponse(
                id=str(m.id), lat=m.lat, lon=m.lon, city=m.city, state=m.state, country=m.country
            )
            for m in found
        ]

    @get("/reverse-geocode", permission="map.search")
    async def reverse_geocode(
        self,
        auth: NamedDependency[Auth],  # taking it is what makes the route authenticated
        deps: NamedDependency[Deps],
        lat: Annotated[str, QueryParameter(name="lat")],
        lon: Annotated[str, QueryParameter(name="lon")],
    ) -> list[MapReverseGeocodeResponse]:
        """The place nearest ``lat``/``lon`` (degrees), as a list of none or one.

        Raises:
            BadRequest: A coordinate is not a number in range.
            ServiceUnavailable: Reverse geocoding is off (or the metadata service is away).
        """
        req = ReverseGeocodeRequest(
            lat=_coordinate(lat, "lat", 90), lon=_coordinate(lon, "lon", 180)
        )
        reply = await deps.bus.request(
            ReverseGeocodeRequest.subject,
            req,
            ReverseGeocodeReply,
            timeout=REVERSE_GEOCODE_TIMEOUT_S,
        )
        if reply.status != "ok":
            raise ServiceUnavailable("Reverse geocoding is not available")
        return [
            MapReverseGeocodeResponse(city=p.city, state=p.state, country=p.country)
            for p in reply.places
        ]


class DarkroomMapController(Controller):
    """/api/darkroom/map (Darkroom's own route)."""

    path = "/api/darkroom/map"

    @get("/", permission="map.read")
    async def get_darkroom_map(
        self, auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> DarkroomMapResponse:
        """The raster tile URL template and its credit, as the gateway is configured."""
        return DarkroomMapResponse(
            tile_url=deps.settings.map_tile_url, attribution=deps.settings.map_attribution
        )


ROUTES = [MapController, DarkroomMapController]
