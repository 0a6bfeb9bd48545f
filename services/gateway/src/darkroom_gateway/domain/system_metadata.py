"""System metadata (admin only): the admin's onboarding state, the reverse-geocoding data state
and the release-check state, as Immich's /api/system-metadata routes answer them."""

from __future__ import annotations

import msgspec
from darkroom_db import smart_search, system_metadata
from litestar import Controller, get, post, put
from litestar.di import NamedDependency
from litestar.params import JSONBody

from darkroom_gateway.auth import Auth
from darkroom_gateway.deps import Deps

#: ml_model_status task the metadata service reports its reverse-geocoding data under.
_REVERSE_GEOCODING_TASK = "reverse-geocoding"


class AdminOnboarding(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: AdminOnboardingUpdateDto (request of POST, response of GET)."""

    is_onboarded: bool


class ReverseGeocodingStateResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: ReverseGeocodingStateResponseDto."""

    last_import_file_name: str | None
    last_update: str | None


class VersionCheckStateResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: VersionCheckStateResponseDto (Darkroom never checks for releases: both null until
    something stores a check)."""

    checked_at: str | None
    release_version: str | None


class PrivacySettings(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Darkroom's privacy settings (the admin onboarding's privacy step; Immich keeps the same
    choices in system config ``map.enabled`` / ``newVersionCheck.enabled``).

    Attributes:
        map_enabled: Whether the map is offered (its tiles come from an outside tile server);
            ``/api/server/features`` reports it as ``map``.
        version_check_enabled: Always false: Darkroom never contacts a release server.
    """

    map_enabled: bool = True
    version_check_enabled: bool = False


class PrivacyUpdate(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Body of PUT /api/darkroom/privacy: the settings to change."""

    map_enabled: bool | msgspec.UnsetType = msgspec.UNSET


async def privacy_settings(deps: Deps) -> PrivacySettings:
    """The stored privacy settings (system metadata ``darkroom-privacy``) over the defaults."""
    stored = await system_metadata.get(deps.pool, system_metadata.PRIVACY) or {}
    return PrivacySettings(map_enabled=bool(stored.get("mapEnabled", True)))


async def admin_onboarded(deps: Deps) -> bool:
    """Whether the admin finished onboarding (system metadata ``admin-onboarding``; false until
    POST /api/system-metadata/admin-onboarding says otherwise)."""
    stored = await system_metadata.get(deps.pool, system_metadata.ADMIN_ONBOARDING)
    return bool(stored and stored.get("isOnboarded"))


async def version_check_state(deps: Deps) -> VersionCheckStateResponse:
    """The stored release-check state (both null: Darkroom does not phone home)."""
    stored = await system_metadata.get(deps.pool, system_metadata.VERSION_CHECK_STATE) or {}
    return VersionCheckStateResponse(
        checked_at=stored.get("checkedAt"), release_version=stored.get("releaseVersion")
    )


class SystemMetadataController(Controller):
    """/api/system-metadata (admin only)."""

    path = "/api/system-metadata"

    @get("/admin-onboarding", admin=True, permission="systemMetadata.read")
    async def get_admin_onboarding(
        self, auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> AdminOnboarding:
        """Whether the admin finished the first-run onboarding."""
        return AdminOnboarding(is_onboarded=await admin_onboarded(deps))

    @post("/admin-onboarding", status_code=204, admin=True, permission="systemMetadata.update")
    async def update_admin_onboarding(
        self,
        data: JSONBody[AdminOnboarding],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> None:
        """Record that the admin finished (or restarts) onboarding; /api/server/config's
        ``isOnboarded`` follows it."""
        await system_metadata.put(
            deps.pool, system_metadata.ADMIN_ONBOARDING, {"isOnboarded": data.is_onboarded}
        )

    @get("/reverse-geocoding-state", admin=True, permission="systemMetadata.read")
    async def get_reverse_geocoding_state(
        self, auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> ReverseGeocodingStateResponse:
        """When the reverse-geocoding data was last loaded and from which file: what the metadata
        service reported at start-up (both null while it never loaded its data)."""
        status = await smart_search.get_model_status(deps.pool, _REVERSE_GEOCODING_TASK)
        if status is None or not status.ready:
            return ReverseGeocodingStateResponse(last_import_file_name=None, last_update=None)
        return ReverseGeocodingStateResponse(
            last_import_file_name=status.model, last_update=status.updated_at.isoformat()
        )

    @get("/version-check-state", admin=True, permission="systemMetadata.read")
    async def get_version_check_state(
        self, auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> VersionCheckStateResponse:
        """The last release check (Darkroom never checks: both null)."""
        return await version_check_state(deps)


class PrivacyController(Controller):
    """/api/darkroom/privacy (Darkroom's own route, admin only; not an Immich route)."""

    path = "/api/darkroom/privacy"

    @get("/", include_in_schema=False, admin=True, permission="systemConfig.read")
    async def get_privacy(
        self, auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> PrivacySettings:
        """The privacy settings the admin chose (defaults until changed)."""
        return await privacy_settings(deps)

    @put("/", include_in_schema=False, admin=True, permission="systemConfig.update")
    async def update_privacy(
        self,
        data: JSONBody[PrivacyUpdate],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> PrivacySettings:
        """Change the privacy settings (the map on or off)."""
        patch = msgspec.to_builtins(data)
        if patch:
            await system_metadata.merge(deps.pool, system_metadata.PRIVACY, patch)
        return await privacy_settings(deps)


ROUTES = [SystemMetadataController, PrivacyController]
