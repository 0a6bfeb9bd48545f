"""The map: /api/map/markers, every geotagged asset the caller sees on their map.

Scope (Immich's ``getMapMarkers``): the caller's own active assets, plus with
``withSharedAlbums=true`` the active assets of every album they own or are a member of. Nobody
else's assets show otherwise. Darkroom has no partner sharing yet, so ``withPartners`` is
accepted and adds nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import structlog
from darkroom_db import map as map_db
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from darkroom_gateway.auth import Auth
from darkroom_gateway.deps import Deps
from darkroom_gateway.domain.albums import MapMarkerResponse

log = structlog.get_logger()


class MapController(Controller):
    """/api/map."""

    path = "/api/map"

    @get("/markers")
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
        auth.require("map.read")
        found = await map_db.markers(
            deps.pool,
            auth.user.id,
            is_archived=is_archived,
            is_favorite=is_favorite,
            created_after=file_created_after,
            created_before=file_created_before,
            with_shared_albums=bool(with_shared_albums),
        )
        return [
            MapMarkerResponse(
                id=str(m.id), lat=m.lat, lon=m.lon, city=m.city, state=m.state, country=m.country
            )
            for m in found
        ]


ROUTES = [MapController]
