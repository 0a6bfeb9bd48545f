"""Server discovery and facts: ping, version, supported media types, /.well-known/immich."""

from __future__ import annotations

import msgspec
from darkroom_media.types import server_media_types
from litestar import Controller, get

#: The Immich API version whose spec the gateway implements (shared/reference, info.version).
API_VERSION = (3, 1, 0)


class ServerPingResponse(msgspec.Struct, frozen=True):
    """Spec: ServerPingResponse."""

    res: str


class ServerVersionResponse(msgspec.Struct, frozen=True):
    """Spec: ServerVersionResponseDto."""

    major: int
    minor: int
    patch: int
    prerelease: int | None = None


class ServerMediaTypesResponse(msgspec.Struct, frozen=True):
    """Spec: ServerMediaTypesResponseDto (extensions with the leading dot)."""

    image: list[str]
    video: list[str]
    sidecar: list[str]


class WellKnownApi(msgspec.Struct, frozen=True):
    """The ``api`` member of /.well-known/immich."""

    endpoint: str


class WellKnown(msgspec.Struct, frozen=True):
    """Where clients find the API, relative to the server URL they were given."""

    api: WellKnownApi


class ServerController(Controller):
    """/api/server (public routes)."""

    path = "/api/server"

    @get("/ping")
    async def ping(self) -> ServerPingResponse:
        """Liveness of the API, as Immich's clients check it ("pong")."""
        return ServerPingResponse(res="pong")

    @get("/version")
    async def version(self) -> ServerVersionResponse:
        """The Immich API version implemented."""
        major, minor, patch = API_VERSION
        return ServerVersionResponse(major=major, minor=minor, patch=patch)

    @get("/media-types")
    async def media_types(self) -> ServerMediaTypesResponse:
        """File extensions the server accepts, by kind."""
        return msgspec.convert(server_media_types(), ServerMediaTypesResponse)


@get("/.well-known/immich", include_in_schema=True)
async def well_known() -> WellKnown:
    """Tells clients that the API lives under /api."""
    return WellKnown(api=WellKnownApi(endpoint="/api"))


ROUTES = [ServerController, well_known]
