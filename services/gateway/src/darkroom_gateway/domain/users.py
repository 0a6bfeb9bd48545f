"""Users: the caller's account, preferences, onboarding and profile image; other users' public
profiles (for sharing pickers); the upload quota check."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import asyncpg
import msgspec
import structlog
from darkroom_db import system_metadata, user_metadata, users
from darkroom_media.types import extension_of, media_type_for
from litestar import Controller, Request, Response, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.response import Stream

from darkroom_gateway.auth import Auth, hash_password
from darkroom_gateway.deps import Deps
from darkroom_gateway.domain.licenses import (
    LicenseKey,
    LicenseResponse,
    forget_license,
    license_response,
    read_license,
    store_license,
)
from darkroom_gateway.errors import BadRequest, NotFound
from darkroom_gateway.media import serve_object
from darkroom_gateway.upload import stream_upload

log = structlog.get_logger()

PROFILE_IMAGE_EXTENSIONS = frozenset(
    {".avif", ".dng", ".heic", ".heif", ".jpeg", ".jpg", ".png", ".webp"}
)
"""Names a profile picture may have: Immich's ``profileExtensions``
(server/src/utils/mime-types.ts), checked by ``AssetMediaService.canUploadFile``."""

AvatarColor = Literal[
    "primary", "pink", "red", "yellow", "blue", "green", "purple", "orange", "gray", "amber"
]
AVATAR_COLORS: tuple[str, ...] = (
    "primary",
    "pink",
    "red",
    "yellow",
    "blue",
    "green",
    "purple",
    "orange",
    "gray",
    "amber",
)


class UserAdminResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: UserAdminResponseDto."""

    id: str
    email: str
    name: str
    avatar_color: str
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    is_admin: bool
    license: LicenseResponse | None  # spec: UserLicense (the stored key; no activation call)
    oauth_id: str
    profile_changed_at: datetime
    profile_image_path: str
    quota_size_in_bytes: int | None
    quota_usage_in_bytes: int | None
    should_change_password: bool
    status: str
    storage_label: str | None


class UserResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: UserResponseDto (what any user may see of another)."""

    id: str
    email: str
    name: str
    avatar_color: str
    profile_changed_at: datetime
    profile_image_path: str


class UserUpdateMe(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: UserUpdateMeDto. ``password`` (deprecated in the spec) is still honoured, as
    Immich's ``updateMe``: the web's and the mobile app's forced first-login change send it."""

    email: str | msgspec.UnsetType = msgspec.UNSET
    name: str | msgspec.UnsetType = msgspec.UNSET
    avatar_color: AvatarColor | None | msgspec.UnsetType = msgspec.UNSET
    password: str | msgspec.UnsetType = msgspec.UNSET


class CreateProfileImageResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: CreateProfileImageResponseDto."""

    user_id: str
    profile_changed_at: datetime
    profile_image_path: str


class Onboarding(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: OnboardingDto / OnboardingResponseDto."""

    is_onboarded: bool


# --- preferences (spec: UserPreferencesResponseDto / UserPreferencesUpdateDto) -----------------


class _Unset(msgspec.Struct, kw_only=True, rename="camel", omit_defaults=True):
    """Base of the update DTOs: every field optional, absent ones are not stored."""


class AlbumsUpdate(_Unset):
    default_asset_order: Literal["asc", "desc"] | msgspec.UnsetType = msgspec.UNSET


class AvatarUpdate(_Unset):
    color: AvatarColor | msgspec.UnsetType = msgspec.UNSET


class CastUpdate(_Unset):
    g_cast_enabled: bool | msgspec.UnsetType = msgspec.UNSET


class DownloadUpdate(_Unset):
    archive_size: int | msgspec.UnsetType = msgspec.UNSET
    include_embedded_videos: bool | msgspec.UnsetType = msgspec.UNSET


class EmailNotificationsUpdate(_Unset):
    album_invite: bool | msgspec.UnsetType = msgspec.UNSET
    album_update: bool | msgspec.UnsetType = msgspec.UNSET
    enabled: bool | msgspec.UnsetType = msgspec.UNSET


class SidebarUpdate(_Unset):
    enabled: bool | msgspec.UnsetType = msgspec.UNSET
    sidebar_web: bool | msgspec.UnsetType = msgspec.UNSET


class MemoriesUpdate(_Unset):
    duration: int | msgspec.UnsetType = msgspec.UNSET
    enabled: bool | msgspec.UnsetType = msgspec.UNSET


class PeopleUpdate(_Unset):
    enabled: bool | msgspec.UnsetType = msgspec.UNSET
    minimum_faces: int | msgspec.UnsetType = msgspec.UNSET
    sidebar_web: bool | msgspec.UnsetType = msgspec.UNSET


class PurchaseUpdate(_Unset):
    hide_buy_button_until: str | msgspec.UnsetType = msgspec.UNSET
    show_support_badge: bool | msgspec.UnsetType = msgspec.UNSET


class EnabledUpdate(_Unset):
    enabled: bool | msgspec.UnsetType = msgspec.UNSET


class SidebarOnlyUpdate(_Unset):
    sidebar_web: bool | msgspec.UnsetType = msgspec.UNSET


class UserPreferencesUpdate(_Unset):
    """Spec: UserPreferencesUpdateDto (``avatar.color`` sets the user's avatar colour)."""

    albums: AlbumsUpdate | msgspec.UnsetType = msgspec.UNSET
    avatar: AvatarUpdate | msgspec.UnsetType = msgspec.UNSET
    cast: CastUpdate | msgspec.UnsetType = msgspec.UNSET
    download: DownloadUpdate | msgspec.UnsetType = msgspec.UNSET
    email_notifications: EmailNotificationsUpdate | msgspec.UnsetType = msgspec.UNSET
    folders: SidebarUpdate | msgspec.UnsetType = msgspec.UNSET
    memories: MemoriesUpdate | msgspec.UnsetType = msgspec.UNSET
    people: PeopleUpdate | msgspec.UnsetType = msgspec.UNSET
    purchase: PurchaseUpdate | msgspec.UnsetType = msgspec.UNSET
    ratings: EnabledUpdate | msgspec.UnsetType = msgspec.UNSET
    recently_added: SidebarOnlyUpdate | msgspec.UnsetType = msgspec.UNSET
    shared_links: SidebarUpdate | msgspec.UnsetType = msgspec.UNSET
    tags: SidebarUpdate | msgspec.UnsetType = msgspec.UNSET


class AlbumsPrefs(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    default_asset_order: Literal["asc", "desc"] = "desc"


class CastPrefs(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    g_cast_enabled: bool = False


class DownloadPrefs(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    archive_size: int = 4 << 30
    include_embedded_videos: bool = False


class EmailNotificationsPrefs(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    album_invite: bool = True
    album_update: bool = True
    enabled: bool = True


class FoldersPrefs(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    enabled: bool = False
    sidebar_web: bool = False


class MemoriesPrefs(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    duration: int = 5
    enabled: bool = True


class PeoplePrefs(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    enabled: bool = True
    minimum_faces: int = 3  # Immich's default (the same as ServerConfigDto.minFaces)
    sidebar_web: bool = False


class PurchasePrefs(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    # Immich's default: ``new Date(2022, 1, 12).toISOString()`` on a UTC server
    hide_buy_button_until: str = "2022-02-12T00:00:00.000Z"
    show_support_badge: bool = True


class RatingsPrefs(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    enabled: bool = False


class RecentlyAddedPrefs(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    sidebar_web: bool = False


class SharedLinksPrefs(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    enabled: bool = True
    sidebar_web: bool = False


class TagsPrefs(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    enabled: bool = False
    sidebar_web: bool = False


class UserPreferencesResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: UserPreferencesResponseDto. The defaults are what a new user sees (Immich's
    ``getDefaultPreferences`` in server/src/utils/preferences.ts: newest first, 4 GiB download
    archives, memories on, 5 s per memory, "recently added" off the sidebar...)."""

    albums: AlbumsPrefs = AlbumsPrefs()
    cast: CastPrefs = CastPrefs()
    download: DownloadPrefs = DownloadPrefs()
    email_notifications: EmailNotificationsPrefs = EmailNotificationsPrefs()
    folders: FoldersPrefs = FoldersPrefs()
    memories: MemoriesPrefs = MemoriesPrefs()
    people: PeoplePrefs = PeoplePrefs()
    purchase: PurchasePrefs = PurchasePrefs()
    ratings: RatingsPrefs = RatingsPrefs()
    recently_added: RecentlyAddedPrefs = RecentlyAddedPrefs()
    shared_links: SharedLinksPrefs = SharedLinksPrefs()
    tags: TagsPrefs = TagsPrefs()


def preferences_response(stored: dict[str, object]) -> UserPreferencesResponse:
    """The stored (sparse, camelCase) preferences over the defaults."""
    stored = {k: v for k, v in stored.items() if k != "avatar"}
    return msgspec.convert(stored, UserPreferencesResponse)


async def update_preferences(
    deps: Deps, user: users.User, data: UserPreferencesUpdate
) -> UserPreferencesResponse:
    """Validate and store a preferences update for ``user``; ``avatar.color`` goes to the user.

    Raises:
        BadRequest: A number is out of range (archiveSize, duration, minimumFaces must be >= 1).
        NotFound: The user vanished.
    """
    patch: dict[str, Any] = msgspec.to_builtins(data)
    for section, key in (
        ("download", "archiveSize"),
        ("memories", "duration"),
        ("people", "minimumFaces"),
    ):
        value = patch.get(section, {}).get(key)
        if value is not None and value < 1:
            raise BadRequest(f"{section}.{key} must not be less than 1")
    color = patch.pop("avatar", {}).get("color")
    if color is not None:
        await users.update_user(deps.pool, user.id, {"avatar_color": color})
    stored = await users.update_preferences(deps.pool, user.id, patch)
    if stored is None:
        raise NotFound("User not found")
    return preferences_response(stored)


def avatar_color(user: users.User) -> str:
    """The user's avatar colour, or the one Immich derives from the e-mail when none was
    chosen (``emailToAvatarColor`` in its user DTO: the sum of the e-mail's code points,
    modulo the number of colours, indexes :data:`AVATAR_COLORS`, the spec's enum order)."""
    if user.avatar_color:
        return user.avatar_color
    return AVATAR_COLORS[sum(ord(c) for c in user.email) % len(AVATAR_COLORS)]


async def user_admin_responses(deps: Deps, found: Sequence[users.User]) -> list[UserAdminResponse]:
    """Map users rows to UserAdminResponseDto, each with its stored licence (one query).

    Args:
        deps: The gateway's connections (its database pool).
        found: The users.

    Returns:
        One response per user, in order.
    """
    licenses = await system_metadata.user_licenses(deps.pool, [u.id for u in found])
    return [user_admin_response(u, licenses.get(u.id)) for u in found]


async def user_admin_dto(deps: Deps, user: users.User) -> UserAdminResponse:
    """One user's UserAdminResponseDto with its stored licence (:func:`user_admin_responses`)."""
    return (await user_admin_responses(deps, [user]))[0]


def user_admin_response(
    user: users.User, stored_license: system_metadata.License | None = None
) -> UserAdminResponse:
    """Map a users row (and its stored licence, if any) to UserAdminResponseDto."""
    return UserAdminResponse(
        id=str(user.id),
        email=user.email,
        name=user.name,
        avatar_color=avatar_color(user),
        created_at=user.created_at,
        updated_at=user.updated_at,
        deleted_at=user.deleted_at,
        is_admin=user.is_admin,
        license=None if stored_license is None else license_response(stored_license),
        oauth_id=user.oauth_id,
        profile_changed_at=user.profile_changed_at,
        profile_image_path=user.profile_image_path,
        quota_size_in_bytes=user.quota_size_in_bytes,
        quota_usage_in_bytes=user.quota_usage_in_bytes,
        should_change_password=user.should_change_password,
        status=user.status,
        storage_label=user.storage_label,
    )


def user_response(user: users.User) -> UserResponse:
    """Map a users row to UserResponseDto."""
    return UserResponse(
        id=str(user.id),
        email=user.email,
        name=user.name,
        avatar_color=avatar_color(user),
        profile_changed_at=user.profile_changed_at,
        profile_image_path=user.profile_image_path,
    )


def check_email(email: str) -> str:
    """A stripped e-mail address.

    Raises:
        BadRequest: Not shaped like an e-mail address (``local@domain``).
    """
    email = email.strip()
    local, at, domain = email.rpartition("@")
    if not at or not local or not domain or " " in email:
        raise BadRequest("email must be an email")
    return email


async def check_quota(pool: asyncpg.Pool, user_id: uuid.UUID, incoming_bytes: int) -> None:
    """Refuse an upload that would take the user past their storage quota.

    Call it before accepting ``incoming_bytes`` more for ``user_id`` (e.g. after the upload is
    staged, with the staged size, deleting the staged objects when it raises). Usage is the sum
    of the sizes of the user's assets that are not permanently deleted (kept current by a
    trigger, migration 0002); a user without a quota (``quotaSizeInBytes`` null) is never refused.

    Args:
        pool: Database.
        user_id: The uploader.
        incoming_bytes: Size of what is being added, in bytes.

    Raises:
        BadRequest: 400 "Quota has been exceeded!" (Immich's message) when usage + incoming
            would exceed the quota.
    """
    quota = await users.get_quota(pool, user_id)
    if quota is None:
        return
    limit, used = quota
    if limit is not None and used + incoming_bytes > limit:
        log.info("upload.quota_exceeded", user_id=str(user_id), used=used, limit=limit)
        raise BadRequest("Quota has been exceeded!")


async def get_active_user(deps: Deps, user_id: uuid.UUID) -> users.User:
    """The user with ``user_id`` unless deleted (Immich's ``UserService.findOrFail``).

    Raises:
        BadRequest: 400 ``User not found``: no such user, or soft-deleted (Immich answers a
            BadRequestException, not 404).
    """
    user = await users.get_user(deps.pool, user_id)
    if user is None or user.deleted_at is not None:
        raise BadRequest("User not found")
    return user


async def apply_user_changes(
    deps: Deps, user_id: uuid.UUID, changes: dict[str, object]
) -> users.User:
    """Store ``changes`` (column -> value) of a user, mapping a taken e-mail or storage label
    to 400.

    Raises:
        BadRequest: The e-mail or storage label belongs to another user.
        NotFound: No such user.
    """
    try:
        user = (
            await users.update_user(deps.pool, user_id, changes)
            if changes
            else await users.get_user(deps.pool, user_id)
        )
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name == "users_storage_label_key":  # a concurrent update took it
            raise BadRequest("Storage label already in use by another account") from exc
        raise BadRequest("Email already in use by another account") from exc
    if user is None:
        raise NotFound("User not found")
    return user


class UserController(Controller):
    """/api/users."""

    path = "/api/users"

    @get("/", permission="user.read")
    async def search_users(
        self, auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> list[UserResponse]:
        """Every active user (for share and partner pickers), oldest first. While system config
        ``server.publicUsers`` is off, a non-admin sees only themself (Immich's
        ``UserService.search``)."""
        if not auth.user.is_admin and not deps.config.current.server.public_users:
            return [user_response(auth.user)]
        return [user_response(u) for u in await users.list_users(deps.pool)]

    @get("/me", permission="user.read")
    async def get_my_user(
        self, auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> UserAdminResponse:
        """The caller's account."""
        return await user_admin_dto(deps, auth.user)

    @put("/me", permission="user.update")
    async def update_my_user(
        self, data: JSONBody[UserUpdateMe], auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> UserAdminResponse:
        """Change the caller's name, e-mail, avatar colour or password; a new password clears
        ``shouldChangePassword`` (Immich's ``updateMe``; other sessions stay signed in)."""
        changes: dict[str, object] = {}
        if not isinstance(data.email, msgspec.UnsetType):
            changes["email"] = check_email(data.email)
        if not isinstance(data.name, msgspec.UnsetType):
            if not data.name.strip():
                raise BadRequest("name should not be empty")
            changes["name"] = data.name.strip()
        if not isinstance(data.avatar_color, msgspec.UnsetType):
            changes["avatar_color"] = data.avatar_color
        if not isinstance(data.password, msgspec.UnsetType) and data.password:
            changes["password_hash"] = await hash_password(data.password)
            changes["should_change_password"] = False
        user = await apply_user_changes(deps, auth.user.id, changes)
        if "password_hash" in changes:
            log.info("user.password_changed", user_id=str(user.id), via="users.me")
        return await user_admin_dto(deps, user)

    @get("/me/preferences", permission="userPreference.read")
    async def get_my_preferences(
        self, auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> UserPreferencesResponse:
        """The caller's preferences (defaults for what they never changed)."""
        stored = await users.get_preferences(deps.pool, auth.user.id)
        return preferences_response(stored or {})

    @put("/me/preferences", permission="userPreference.update")
    async def update_my_preferences(
        self,
        data: JSONBody[UserPreferencesUpdate],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> UserPreferencesResponse:
        """Change some of the caller's preferences; fields not sent keep their value."""
        return await update_preferences(deps, auth.user, data)

    @get("/me/onboarding", permission="userOnboarding.read")
    async def get_my_onboarding(self, auth: NamedDependency[Auth]) -> Onboarding:
        """Whether the caller finished the web app's onboarding."""
        return Onboarding(is_onboarded=auth.user.is_onboarded)

    @put("/me/onboarding", permission="userOnboarding.update")
    async def set_my_onboarding(
        self, data: JSONBody[Onboarding], auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> Onboarding:
        """Record that the caller finished (or restarts) onboarding."""
        user = await apply_user_changes(deps, auth.user.id, {"is_onboarded": data.is_onboarded})
        return Onboarding(is_onboarded=user.is_onboarded)

    @delete("/me/onboarding", status_code=204, permission="userOnboarding.delete")
    async def delete_my_onboarding(
        self, auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> None:
        """Reset the caller's onboarding: the flag goes false and its ``onboarding`` metadata
        is removed, as Immich's ``deleteMetadata`` (the app gets a ``UserMetadataDeleteV1``)."""
        await apply_user_changes(deps, auth.user.id, {"is_onboarded": False})
        await user_metadata.delete(deps.pool, auth.user.id, "onboarding")

    @get("/me/license", permission="userLicense.read")
    async def get_my_license(
        self, auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> LicenseResponse:
        """The caller's stored licence key; 404 while none is stored, as Immich answers."""
        return await read_license(deps, auth.user.id)

    @put("/me/license", permission="userLicense.update")
    async def set_my_license(
        self, data: JSONBody[LicenseKey], auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> LicenseResponse:
        """Store the caller's licence key (``IMCL-`` keys) as given: no activation call."""
        return await store_license(deps, auth.user.id, data)

    @delete("/me/license", status_code=204, permission="userLicense.delete")
    async def delete_my_license(
        self, auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> None:
        """Forget the caller's licence key (nothing happens when none is stored)."""
        await forget_license(deps, auth.user.id)

    @post(
        "/profile-image",
        status_code=201,
        request_max_body_size=None,
        permission="userProfileImage.update",
    )
    async def create_profile_image(
        self, request: Request, auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> CreateProfileImageResponse:
        """Upload the caller's profile picture (multipart ``file``); replaces the previous one.

        Stored at ``profile/<userId>/<uuid>.<ext>``; only the names Immich's
        ``canUploadFile`` takes for a profile picture (``PROFILE_IMAGE_EXTENSIONS``) are
        accepted, others refused with "Unsupported file type <name>".
        """
        parsed = await stream_upload(
            request.stream(),
            request.headers.get("content-type", ""),
            deps.storage,
            files={"file": None},
            staging_prefix=f"staging/{auth.user.id}",
            queue_chunks=deps.settings.upload_queue_chunks,
        )
        staged = [f.key for f in parsed.files.values()]
        try:
            file = parsed.files.get("file")
            if file is None:
                raise BadRequest("file is required")
            kind = media_type_for(file.filename)
            if kind is None or extension_of(file.filename) not in PROFILE_IMAGE_EXTENSIONS:
                raise BadRequest(f"Unsupported file type {file.filename}")
            if file.size == 0:
                raise BadRequest("Profile image must be a JPEG, PNG, WebP, HEIC... image")
            key = f"profile/{auth.user.id}/{uuid.uuid4()}{kind.extension}"
            await deps.storage.move(file.key, key)
            staged.remove(file.key)
            result = await users.set_profile_image(deps.pool, auth.user.id, key)
            if result is None:
                await deps.storage.delete(key)
                raise NotFound("User not found")
        finally:
            for leftover in staged:
                await deps.storage.delete(leftover)
        user, old = result
        if old and old != key:
            await deps.storage.delete(old)
        log.info("user.profile_image_set", user_id=str(user.id), key=key)
        return CreateProfileImageResponse(
            user_id=str(user.id),
            profile_changed_at=user.profile_changed_at,
            profile_image_path=user.profile_image_path,
        )

    @delete("/profile-image", status_code=204, permission="userProfileImage.delete")
    async def delete_profile_image(
        self, auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> None:
        """Remove the caller's profile picture.

        Raises:
            BadRequest: 400 ``Can't delete a missing profile Image`` when there is none
                (Immich's ``deleteProfileImage``).
        """
        if not auth.user.profile_image_path:
            raise BadRequest("Can't delete a missing profile Image")
        result = await users.set_profile_image(deps.pool, auth.user.id, "")
        if result is None or not result[1]:  # removed meanwhile by a concurrent request
            raise BadRequest("Can't delete a missing profile Image")
        await deps.storage.delete(result[1])

    @get("/{user_id:uuid}", permission="user.read")
    async def get_user(
        self, user_id: FromPath[uuid.UUID], auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> UserResponse:
        """Another (active) user's public profile."""
        return user_response(await get_active_user(deps, user_id))

    @get("/{user_id:uuid}/profile-image", permission="userProfileImage.read")
    async def get_profile_image(
        self,
        user_id: FromPath[uuid.UUID],
        request: Request,
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> Response[bytes] | Stream:
        """An active user's profile picture; 404 when they have none, 400 ``User not found``
        for an unknown or deleted user (Immich's ``getProfileImage``)."""
        user = await get_active_user(deps, user_id)
        if not user.profile_image_path:
            raise NotFound("User does not have a profile image")
        kind = media_type_for(user.profile_image_path)
        info = await deps.storage.head(user.profile_image_path)
        return await serve_object(
            request,
            deps.storage,
            user.profile_image_path,
            media_type=kind.mime_type if kind else "application/octet-stream",
            size=info.size,
            etag=f"{user.id.hex}-{int(user.profile_changed_at.timestamp() * 1000)}",
            cache_control="private, max-age=86400, no-transform",
        )


ROUTES = [UserController]
