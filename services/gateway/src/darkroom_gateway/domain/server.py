"""Server discovery and facts: ping, version(s), features, config, media types, about, storage,
statistics, licence and /.well-known/immich."""

from __future__ import annotations

import asyncio
import platform
import shutil
import uuid
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path

import msgspec
from darkroom_db import smart_search, system_metadata, users
from darkroom_media.types import server_media_types
from litestar import Controller, delete, get, put
from litestar.di import NamedDependency
from litestar.params import JSONBody

from darkroom_gateway.auth import Auth
from darkroom_gateway.deps import Deps
from darkroom_gateway.domain.licenses import (
    LicenseKey,
    LicenseResponse,
    forget_license,
    read_license,
    store_license,
)
from darkroom_gateway.domain.system_metadata import (
    VersionCheckStateResponse,
    admin_onboarded,
    privacy_settings,
    version_check_state,
)

#: The Immich API version whose spec the gateway implements (shared/reference, info.version).
API_VERSION = (3, 1, 0)
#: Map styles the web and mobile apps load (Immich's defaults, map.lightStyle / map.darkStyle).
MAP_LIGHT_STYLE_URL = "https://tiles.immich.cloud/v1/style/light.json"
MAP_DARK_STYLE_URL = "https://tiles.immich.cloud/v1/style/dark.json"
#: Fixed id of the one version-history entry: the uuid5 of the version in the URL namespace,
#: with the version bits set to 4 (the spec's ``id`` pattern accepts only version-4 UUIDs).
_VERSION_HISTORY_ID = uuid.UUID(
    bytes=uuid.uuid5(uuid.NAMESPACE_URL, "darkroom:immich-api:3.1.0").bytes, version=4
)


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


class ServerVersionHistoryResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: ServerVersionHistoryResponseDto."""

    id: str
    created_at: datetime
    version: str


class ServerFeaturesResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: ServerFeaturesDto: what this server can do, so clients hide what it cannot."""

    config_file: bool = False
    duplicate_detection: bool = False
    email: bool = False
    facial_recognition: bool = False
    import_faces: bool = False
    map: bool = True
    oauth: bool = False
    oauth_auto_launch: bool = False
    ocr: bool = False
    password_login: bool = True
    realtime_transcoding: bool = False
    reverse_geocoding: bool = False
    search: bool = True
    sidecar: bool = True
    smart_search: bool = False
    trash: bool = True


class ServerConfigResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: ServerConfigDto, exactly (no Darkroom-only field: strict clients refuse them).

    ``mapDarkStyleUrl``/``mapLightStyleUrl`` are MapLibre style URLs for the mobile apps; the web
    app draws raster tiles from ``GET /api/darkroom/map`` (``DARKROOM_MAP_TILE_URL``) instead.
    """

    external_domain: str
    is_initialized: bool
    is_onboarded: bool
    login_page_message: str
    maintenance_mode: bool
    map_dark_style_url: str
    map_light_style_url: str
    min_faces: int
    oauth_button_text: str
    public_users: bool
    trash_days: int
    user_delete_delay: int


class ServerAboutResponse(
    msgspec.Struct, frozen=True, kw_only=True, rename="camel", omit_defaults=True
):
    """Spec: ServerAboutResponseDto (required: ``version``, ``versionUrl``, ``licensed``).

    Every optional field Darkroom can fill truthfully is filled; the others are left out, as
    the spec allows: ``nodejs`` and ``imagemagick`` (software Darkroom does not run),
    ``sourceCommit``, ``buildUrl`` and ``buildImageUrl`` (Darkroom is not built by a CI that
    publishes them), the bug/support/documentation URLs (Darkroom has none of Immich's) and,
    while ``DARKROOM_SOURCE_URL`` is unset, the source URLs.
    """

    version: str
    version_url: str
    licensed: bool
    build: str | None = None
    build_image: str | None = None
    repository: str | None = None
    repository_url: str | None = None
    source_ref: str | None = None
    source_url: str | None = None
    libvips: str | None = None
    ffmpeg: str | None = None
    exiftool: str | None = None
    third_party_source_url: str | None = None


class ServerApkLinksResponse(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: ServerApkLinksDto."""

    arm64v8a: str
    armeabiv7a: str
    universal: str
    x86_64: str


class ServerThemeResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Immich's ServerThemeDto (older clients): the admin's custom CSS (none in Darkroom)."""

    custom_css: str


#: Immich's release assets the APK links point to (its GitHub release of the API version).
_APK_URL = "https://github.com/immich-app/immich/releases/download/{version}/app-{abi}-release.apk"


class UsageByUserResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: UsageByUserDto."""

    user_id: str
    user_name: str
    photos: int
    videos: int
    usage: int
    usage_photos: int
    usage_videos: int
    quota_size_in_bytes: int | None


class ServerStatsResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: ServerStatsResponseDto."""

    photos: int
    videos: int
    usage: int
    usage_photos: int
    usage_videos: int
    usage_by_user: list[UsageByUserResponse]


class ServerStorageResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: ServerStorageResponseDto (sizes in bytes, and human-readable)."""

    disk_size: str
    disk_use: str
    disk_available: str
    disk_size_raw: int
    disk_use_raw: int
    disk_available_raw: int
    disk_usage_percentage: float


def human_bytes(n: int) -> str:
    """``n`` bytes in binary units with one decimal, as Immich shows sizes ("1.5 GiB").

    Args:
        n: Bytes (>= 0).
    """
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024 or unit == "PiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _disk_usage(root: str) -> shutil._ntuple_diskusage:
    """``shutil.disk_usage`` of ``root``, or of its nearest existing parent (blocking)."""
    path = Path(root).resolve()
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path)


def _version_string() -> str:
    major, minor, patch = API_VERSION
    return f"v{major}.{minor}.{patch}"


def _source_urls(source_url: str) -> dict[str, str]:
    """The about page's source fields for ``DARKROOM_SOURCE_URL`` (none while it is empty):
    Darkroom's own source, never Immich's."""
    if not source_url:
        return {}
    return {
        "repository_url": source_url,
        "source_url": source_url,
        "third_party_source_url": source_url,
    }


def _dist_version(name: str) -> str | None:
    try:
        return package_version(name)
    except PackageNotFoundError:
        return None


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

    @get("/version-history")
    async def version_history(
        self, deps: NamedDependency[Deps]
    ) -> list[ServerVersionHistoryResponse]:
        """The versions this server has run: the one it runs, since it was set up."""
        since = await users.first_user_created_at(deps.pool) or datetime.now(UTC)
        return [
            ServerVersionHistoryResponse(
                id=str(_VERSION_HISTORY_ID), created_at=since, version=_version_string()[1:]
            )
        ]

    @get("/features")
    async def features(self, deps: NamedDependency[Deps]) -> ServerFeaturesResponse:
        """Features on this server, as the services last reported them at start-up.

        Each service records in ``ml_model_status`` whether its capability works (settings
        and loaded models/data); a capability no service has reported is off:
        ``smartSearch``/``duplicateDetection`` (embedding, task ``clip``),
        ``facialRecognition`` (face), ``ocr`` (embedding, task ``ocr``) and
        ``reverseGeocoding`` (metadata, task ``reverse-geocoding``), each also off while the
        system config turns it off (``machineLearning.*.enabled``, ``reverseGeocoding``).
        ``map`` is system config ``map.enabled`` and the admin's privacy choice
        (``/api/darkroom/privacy``, on by default); ``passwordLogin``, ``trash`` and ``email``
        (SMTP on) and ``realtimeTranscoding`` (``ffmpeg.realtime.enabled``: the
        ``/video/stream`` HLS routes, :mod:`.hls`) follow the system config; ``configFile``
        says ``DARKROOM_CONFIG_FILE`` locks it.
        ``oauth``/``oauthAutoLaunch`` are system config ``oauth.enabled``/``oauth.autoLaunch``
        (as Immich reports them; the sign-in itself is :mod:`darkroom_gateway.domain.oauth`).
        """
        reported = {
            task: await smart_search.get_model_status(deps.pool, task)
            for task in ("clip", "facial-recognition", "ocr", "reverse-geocoding")
        }
        ready = {task: status is not None and status.ready for task, status in reported.items()}
        clip = reported["clip"]
        config = deps.config.current
        ml = config.machine_learning
        return ServerFeaturesResponse(
            config_file=deps.config.source.locked,
            email=config.notifications.smtp.enabled,
            map=config.map.enabled and (await privacy_settings(deps)).map_enabled,
            password_login=config.password_login.enabled,
            oauth=config.oauth.enabled,
            oauth_auto_launch=config.oauth.enabled and config.oauth.auto_launch,
            trash=config.trash.enabled,
            realtime_transcoding=config.ffmpeg.realtime.enabled,
            facial_recognition=ml.enabled
            and ml.facial_recognition.enabled
            and ready["facial-recognition"],
            ocr=ml.enabled and ml.ocr.enabled and ready["ocr"],
            reverse_geocoding=config.reverse_geocoding.enabled and ready["reverse-geocoding"],
            smart_search=ml.enabled and ml.clip.enabled and ready["clip"],
            duplicate_detection=ml.enabled
            and ml.duplicate_detection.enabled
            and clip is not None
            and clip.ready
            and bool(clip.options.get("duplicate_detection", True)),
        )

    @get("/config")
    async def config(self, deps: NamedDependency[Deps]) -> ServerConfigResponse:
        """Public server configuration the login page and apps read before signing in: from the
        system config in force (``server.*``, ``trash.days``, ``user.deleteDelay``, ``map.*``,
        ``machineLearning.facialRecognition.minFaces``)."""
        initialized = await users.count_users(deps.pool) > 0
        config = deps.config.current
        return ServerConfigResponse(
            external_domain=config.server.external_domain,
            is_initialized=initialized,
            is_onboarded=await admin_onboarded(deps),
            login_page_message=config.server.login_page_message,
            maintenance_mode=(await deps.maintenance.get()).active,
            map_dark_style_url=config.map.dark_style,
            map_light_style_url=config.map.light_style,
            min_faces=config.machine_learning.facial_recognition.min_faces,
            oauth_button_text=config.oauth.button_text,
            public_users=config.server.public_users,
            trash_days=config.trash.days,
            user_delete_delay=config.user.delete_delay,
        )

    @get("/about", permission="server.about")
    async def about(
        self, auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> ServerAboutResponse:
        """Which software this is and the versions of its components.

        ``libvips``, ``ffmpeg`` and ``exiftool`` are what the pipeline services reported at
        start-up (system metadata ``component-versions``; exiv2 stands in for ExifTool, which
        Darkroom does not use, when no ExifTool was found); ``buildImage`` names the runtime
        and servers: Python, PostgreSQL with pgvector, and the NATS server the gateway is
        connected to (the spec has no fields of their own for them). ``version`` is the
        Immich API version served (clients compare it), so ``versionUrl`` is that Immich
        release's notes; the source URLs are Darkroom's own (``DARKROOM_SOURCE_URL``).
        """
        components = await system_metadata.get(deps.pool, system_metadata.COMPONENT_VERSIONS) or {}
        postgres, pgvector = await system_metadata.database_versions(deps.pool)
        nats = deps.bus.nc.connected_server_version
        runtime = [
            f"Python {platform.python_version()}",
            f"PostgreSQL {postgres}",
            f"pgvector {pgvector or 'absent'}",
            f"NATS {nats.major}.{nats.minor}.{nats.patch}" if nats.major else "NATS (unknown)",
        ]
        exiftool = components.get("exiftool") or (
            f"exiv2 {components['exiv2']}" if components.get("exiv2") else None
        )
        licensed = await system_metadata.get_server_license(deps.pool) is not None
        return ServerAboutResponse(
            version=_version_string(),
            version_url="https://github.com/immich-app/immich/releases/tag/" + _version_string(),
            licensed=licensed,
            build=_dist_version("darkroom-gateway"),
            build_image="darkroom (" + ", ".join(runtime) + ")",
            repository="darkroom",
            source_ref=_dist_version("darkroom-gateway"),
            libvips=components.get("libvips"),
            ffmpeg=components.get("ffmpeg"),
            exiftool=exiftool,
            **_source_urls(deps.settings.source_url),
        )

    @get("/apk-links", permission="server.apkLinks")
    async def apk_links(self, auth: NamedDependency[Auth]) -> ServerApkLinksResponse:
        """Where the Android app of the implemented API version is downloaded (Immich's
        release assets: Darkroom serves Immich's own app)."""
        version = _version_string()
        return ServerApkLinksResponse(
            **{
                key: _APK_URL.format(version=version, abi=abi)
                for key, abi in (
                    ("arm64v8a", "arm64-v8a"),
                    ("armeabiv7a", "armeabi-v7a"),
                    ("universal", "universal"),
                    ("x86_64", "x86_64"),
                )
            }
        )

    @get("/theme", include_in_schema=False)
    async def theme(self) -> ServerThemeResponse:
        """The custom CSS older Immich clients fetch before login (not in the 3.1.0 spec,
        which moved it to system config ``theme.customCss``): Darkroom has none."""
        return ServerThemeResponse(custom_css="")

    @get("/version-check", permission="server.versionCheck")
    async def version_check(
        self, auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> VersionCheckStateResponse:
        """Release check state: Darkroom does not phone home, so nothing was ever checked."""
        return await version_check_state(deps)

    @get("/storage", permission="server.storage")
    async def storage(
        self, auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> ServerStorageResponse:
        """Disk use of the storage. Filesystem back end: the filesystem holding the storage root
        (``shutil.disk_usage``). S3: the bucket's size is not knowable cheaply, so ``diskUse`` is
        the bytes Darkroom stored (originals and derived files, from the database) and the size,
        availability and percentage are 0 (unknown)."""
        settings = deps.settings.storage
        if settings.backend == "filesystem":
            usage = await asyncio.to_thread(_disk_usage, settings.root)
            size, used, free = usage.total, usage.used, usage.free
            percent = round(used / size * 100, 2) if size else 0.0
        else:
            used = await users.stored_bytes(deps.pool)
            size, free, percent = 0, 0, 0.0
        return ServerStorageResponse(
            disk_size=human_bytes(size),
            disk_use=human_bytes(used),
            disk_available=human_bytes(free),
            disk_size_raw=size,
            disk_use_raw=used,
            disk_available_raw=free,
            disk_usage_percentage=percent,
        )

    @get("/statistics", admin=True, permission="server.statistics")
    async def statistics(
        self, auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> ServerStatsResponse:
        """Photos, videos and bytes per user and in total (admin only), counted as Immich
        counts them (:func:`darkroom_db.users.usage_by_user`: not the trash, not hidden motion
        parts, no bytes for external library files)."""
        rows = await users.usage_by_user(deps.pool)
        per_user = [
            UsageByUserResponse(
                user_id=str(r.user_id),
                user_name=r.user_name,
                photos=r.photos,
                videos=r.videos,
                usage=r.usage,
                usage_photos=r.usage_photos,
                usage_videos=r.usage_videos,
                quota_size_in_bytes=r.quota_size_in_bytes,
            )
            for r in rows
        ]
        return ServerStatsResponse(
            photos=sum(r.photos for r in rows),
            videos=sum(r.videos for r in rows),
            usage=sum(r.usage for r in rows),
            usage_photos=sum(r.usage_photos for r in rows),
            usage_videos=sum(r.usage_videos for r in rows),
            usage_by_user=per_user,
        )

    @get("/license", admin=True, permission="serverLicense.read")
    async def get_license(
        self, auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> LicenseResponse:
        """The stored server licence (admin only); 404 while none is stored, as Immich answers."""
        return await read_license(deps, None)

    @put("/license", admin=True, permission="serverLicense.update")
    async def set_license(
        self, data: JSONBody[LicenseKey], auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> LicenseResponse:
        """Store the server licence key (admin only, ``IMSV-`` keys) as given: no activation
        call; ``/api/server/about`` then reports ``licensed``."""
        return await store_license(deps, None, data)

    @delete("/license", status_code=204, admin=True, permission="serverLicense.delete")
    async def delete_license(
        self, auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> None:
        """Forget the server licence (admin only; nothing happens when none is stored)."""
        await forget_license(deps, None)


@get("/.well-known/immich", include_in_schema=True)
async def well_known() -> WellKnown:
    """Tells clients that the API lives under /api."""
    return WellKnown(api=WellKnownApi(endpoint="/api"))


ROUTES = [ServerController, well_known]
