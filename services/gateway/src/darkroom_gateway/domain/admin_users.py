"""Admin user management (/api/admin/users): list, create, update, delete, restore, and a
user's sessions, preferences and statistics. Every route is admin-only (403 otherwise).

Also the removal of a user for good (:func:`remove_user`: a force delete, and the nightly
:func:`purge_deleted_users` of users deleted longer than ``user.deleteDelay`` days). Followed:
Immich's ``UserAdminService`` (server/src/services/user-admin.service.ts) for the answers.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

import asyncpg
import msgspec
import structlog
from darkroom_db import assets, users
from darkroom_events import PartnerRemoved, SharedLinkRemoved, UserCreated, UserDeleted
from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from darkroom_gateway.announce import announce
from darkroom_gateway.auth import Auth, hash_password
from darkroom_gateway.deps import Deps
from darkroom_gateway.domain.asset_edits import Visibility
from darkroom_gateway.domain.sessions import SessionResponse, session_response
from darkroom_gateway.domain.trash import PURGE_BATCH, purge_assets
from darkroom_gateway.domain.users import (
    AvatarColor,
    UserAdminResponse,
    UserPreferencesResponse,
    UserPreferencesUpdate,
    apply_user_changes,
    check_email,
    preferences_response,
    update_preferences,
    user_admin_dto,
    user_admin_responses,
)
from darkroom_gateway.errors import BadRequest, Forbidden

log = structlog.get_logger()

#: A PIN code (spec: UserAdminUpdateDto ``pinCode`` pattern ``^\d{6}$``).
PIN_PATTERN = re.compile(r"\d{6}")


class UserAdminCreate(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: UserAdminCreateDto (``notify`` and ``pinCode`` are accepted and ignored: Darkroom
    sends no e-mail; the user sets their own PIN code)."""

    email: str
    name: str
    password: str
    avatar_color: AvatarColor | None = None
    is_admin: bool = False
    notify: bool = False
    pin_code: str | None = None
    quota_size_in_bytes: int | None = None
    should_change_password: bool = True  # Immich: an admin-made password is to be changed
    storage_label: str | None = None


class UserAdminUpdate(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: UserAdminUpdateDto; absent fields are left as they are, ``null`` clears the
    nullable ones (quota null = unlimited)."""

    avatar_color: AvatarColor | None | msgspec.UnsetType = msgspec.UNSET
    email: str | msgspec.UnsetType = msgspec.UNSET
    is_admin: bool | msgspec.UnsetType = msgspec.UNSET
    name: str | msgspec.UnsetType = msgspec.UNSET
    password: str | msgspec.UnsetType = msgspec.UNSET
    pin_code: str | None | msgspec.UnsetType = msgspec.UNSET
    quota_size_in_bytes: int | None | msgspec.UnsetType = msgspec.UNSET
    should_change_password: bool | msgspec.UnsetType = msgspec.UNSET
    storage_label: str | None | msgspec.UnsetType = msgspec.UNSET


class UserAdminDelete(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: UserAdminDeleteDto (``force``: delete at once, not after ``user.deleteDelay``)."""

    force: bool = False


class AssetStatsResponse(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: AssetStatsResponseDto."""

    images: int
    videos: int
    total: int


def _check_quota_value(quota: int | None) -> None:
    if quota is not None and quota < 0:
        raise BadRequest("quotaSizeInBytes must not be less than 0")


async def _user(deps: Deps, user_id: uuid.UUID, *, with_deleted: bool = True) -> users.User:
    """The user with ``user_id`` (Immich's ``UserAdminService.findOrFail``).

    Args:
        deps: The gateway's connections.
        user_id: The user.
        with_deleted: Also a soft-deleted user (reads); Immich's update, delete and preferences
            update pass ``{}`` instead, so a deleted user is not found for them.

    Raises:
        BadRequest: 400 ``User not found``.
    """
    user = await users.get_user(deps.pool, user_id)
    if user is None or (not with_deleted and user.deleted_at is not None):
        raise BadRequest("User not found")
    return user


async def _check_storage_label(
    deps: Deps, label: str | None, user_id: uuid.UUID | None = None
) -> str | None:
    """The label to store (``""`` clears it, as Immich), refusing one another user has.

    Raises:
        BadRequest: ``Storage label already in use by another account`` (Immich's answer).
    """
    if not label:
        return None
    if await users.storage_label_taken(deps.pool, label, except_id=user_id):
        raise BadRequest("Storage label already in use by another account")
    return label


async def remove_user(deps: Deps, user_id: uuid.UUID) -> users.User | None:
    """Delete a user for good with everything of theirs, and announce it.

    Their assets go first, in batches, through the asset deletion path
    (:func:`darkroom_gateway.domain.trash.purge_assets`: rows, originals, sidecars,
    thumbnails, previews, encoded videos, one ``darkroom.asset.deleted`` each); then the user
    row, whose removal cascades to people and faces, albums, tags, shared links, partner
    sharings, API keys and sessions (:func:`darkroom_db.users.hard_delete_user`); then the
    files left (profile image, people thumbnails). ``darkroom.shared_link.removed`` and
    ``darkroom.partner.removed`` are published for their links and partner sharings, as the
    routes that delete those do. A storage failure leaves an orphan object, logged.

    Args:
        deps: The gateway's connections.
        user_id: The user (active or soft-deleted).

    Returns:
        The user as it was, or None when there is no such user.
    """
    while ids := await assets.owned_asset_ids(deps.pool, user_id, limit=PURGE_BATCH):
        if await purge_assets(deps, user_id, ids) == 0:
            break  # raced with another removal: hard_delete_user takes what is left
    removed = await users.hard_delete_user(deps.pool, user_id)
    if removed is None:
        return None
    for key in removed.keys:
        try:
            await deps.storage.delete(key)
        except Exception as exc:  # noqa: BLE001 - the user is gone; log and go on
            log.warning("user.delete_object_failed", key=key, error=repr(exc))
    now = datetime.now(UTC)
    for link_id, link_type, album_id in removed.shared_links:
        await announce(
            deps,
            SharedLinkRemoved(
                shared_link_id=str(link_id),
                owner_id=str(user_id),
                type="ALBUM" if link_type == "ALBUM" else "INDIVIDUAL",
                album_id=str(album_id) if album_id else None,
            ),
        )
    for shared_by, shared_with in removed.partners:
        await announce(
            deps,
            PartnerRemoved(shared_by_id=str(shared_by), shared_with_id=str(shared_with), at=now),
        )
    await announce(deps, UserDeleted(user_id=str(user_id), permanent=True, at=now))
    log.info("user.removed", user_id=str(user_id), objects=len(removed.keys))
    return removed.user


async def purge_deleted_users(deps: Deps, older_than: timedelta) -> int:
    """Remove for good every user soft-deleted more than ``older_than`` ago.

    The nightly task of Immich's ``user.deleteDelay`` (:mod:`darkroom_gateway.housekeeping`);
    each user goes as a force delete removes them (:func:`remove_user`).

    Args:
        deps: The gateway's connections.
        older_than: How long a deleted user can still be restored
            (system config ``user.deleteDelay``).

    Returns:
        Number of users removed.
    """
    total = 0
    while due := await users.deleted_user_ids(deps.pool, older_than, limit=PURGE_BATCH):
        removed = [user_id for user_id in due if await remove_user(deps, user_id) is not None]
        total += len(removed)
        if not removed:  # raced with a restore or another purge
            break
    log.info("users.purged", count=total, older_than_days=older_than / timedelta(days=1))
    return total


class AdminUserController(Controller):
    """/api/admin/users."""

    path = "/api/admin/users"

    @get("/", admin=True, permission="adminUser.read")
    async def search_users_admin(
        self,
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
        user_id: Annotated[uuid.UUID | None, QueryParameter(name="id")] = None,
        with_deleted: Annotated[bool, QueryParameter(name="withDeleted")] = False,
    ) -> list[UserAdminResponse]:
        """Every user (optionally one ``id``; soft-deleted ones with ``withDeleted``)."""
        found = await users.list_users(deps.pool, with_deleted=with_deleted, user_id=user_id)
        return await user_admin_responses(deps, found)

    @post("/", status_code=201, admin=True, permission="adminUser.create")
    async def create_user_admin(
        self,
        data: JSONBody[UserAdminCreate],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> UserAdminResponse:
        """Create a user with a password (and optionally admin rights, a quota...)."""
        if not data.password:
            raise BadRequest("password should not be empty")
        if not data.name.strip():
            raise BadRequest("name should not be empty")
        _check_quota_value(data.quota_size_in_bytes)
        storage_label = await _check_storage_label(deps, data.storage_label)
        try:
            user = await users.create_user(
                deps.pool,
                email=check_email(data.email),
                name=data.name.strip(),
                password_hash=await hash_password(data.password),
                is_admin=data.is_admin,
                should_change_password=data.should_change_password,
                quota_size_in_bytes=data.quota_size_in_bytes,
            )
        except asyncpg.UniqueViolationError as exc:
            raise BadRequest("User exists") from exc
        extra: dict[str, object] = {}
        if data.avatar_color is not None:
            extra["avatar_color"] = data.avatar_color
        if storage_label:
            extra["storage_label"] = storage_label
        if extra:
            user = await apply_user_changes(deps, user.id, extra)
        log.info("user.created", user_id=str(user.id), by=str(auth.user.id))
        await announce(deps, UserCreated(user_id=str(user.id), at=datetime.now(UTC)))
        return await user_admin_dto(deps, user)

    @get("/{user_id:uuid}", admin=True, permission="adminUser.read")
    async def get_user_admin(
        self, user_id: FromPath[uuid.UUID], auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> UserAdminResponse:
        """One user, deleted or not."""
        return await user_admin_dto(deps, await _user(deps, user_id))

    @put("/{user_id:uuid}", admin=True, permission="adminUser.update")
    async def update_user_admin(
        self,
        user_id: FromPath[uuid.UUID],
        data: JSONBody[UserAdminUpdate],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> UserAdminResponse:
        """Change a user's profile, password, admin rights, quota or storage label.

        As Immich: an admin cannot change their own admin status (400 ``Admin status can only
        be changed by another admin``); an e-mail or storage label another user has is refused
        (400 ``... already in use by another account``); ``storageLabel: ""`` clears it; a new
        password is only set (the web's "reset password" also sends
        ``shouldChangePassword: true``); ``pinCode: null`` removes the user's PIN code and
        locks their sessions (the admin's "reset PIN code"), six digits set a new one. A
        soft-deleted user is 400 ``User not found`` (restore them first).
        """
        await _user(deps, user_id, with_deleted=False)
        changes: dict[str, object] = {}
        if not isinstance(data.email, msgspec.UnsetType):
            changes["email"] = check_email(data.email)
        if not isinstance(data.name, msgspec.UnsetType):
            if not data.name.strip():
                raise BadRequest("name should not be empty")
            changes["name"] = data.name.strip()
        if not isinstance(data.password, msgspec.UnsetType):
            if not data.password:
                raise BadRequest("password should not be empty")
            changes["password_hash"] = await hash_password(data.password)
        if not isinstance(data.is_admin, msgspec.UnsetType):
            if data.is_admin != auth.user.is_admin and user_id == auth.user.id:
                raise BadRequest("Admin status can only be changed by another admin")
            changes["is_admin"] = data.is_admin
        if not isinstance(data.should_change_password, msgspec.UnsetType):
            changes["should_change_password"] = data.should_change_password
        if not isinstance(data.quota_size_in_bytes, msgspec.UnsetType):
            _check_quota_value(data.quota_size_in_bytes)
            changes["quota_size_in_bytes"] = data.quota_size_in_bytes
        if not isinstance(data.storage_label, msgspec.UnsetType):
            changes["storage_label"] = await _check_storage_label(deps, data.storage_label, user_id)
        if not isinstance(data.avatar_color, msgspec.UnsetType):
            changes["avatar_color"] = data.avatar_color
        if not isinstance(data.pin_code, msgspec.UnsetType):
            if data.pin_code is not None and not PIN_PATTERN.fullmatch(data.pin_code):
                raise BadRequest("pinCode must be six digits")
            pin_hash = None if data.pin_code is None else await hash_password(data.pin_code)
            await users.set_pin_code_hash(
                deps.pool, user_id, pin_hash, lock_sessions=pin_hash is None
            )
        user = await apply_user_changes(deps, user_id, changes)
        log.info("user.updated", user_id=str(user_id), by=str(auth.user.id), fields=sorted(changes))
        return await user_admin_dto(deps, user)

    @delete("/{user_id:uuid}", status_code=200, admin=True, permission="adminUser.delete")
    async def delete_user_admin(
        self,
        user_id: FromPath[uuid.UUID],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
        data: JSONBody[UserAdminDelete | None] = None,
    ) -> UserAdminResponse:
        """Delete a user: soft (restorable for ``user.deleteDelay`` days; they can no longer
        sign in) or, with ``force``, at once with everything of theirs (:func:`remove_user`).

        As Immich: an unknown (or already soft-deleted) user is 400 ``User not found``; an
        admin deleting themselves is 403 ``Cannot delete your own account``.
        """
        await _user(deps, user_id, with_deleted=False)
        if user_id == auth.user.id:
            raise Forbidden("Cannot delete your own account")
        force = data.force if data is not None else False
        if not force:
            user = await users.soft_delete_user(deps.pool, user_id)
            if user is None:
                raise BadRequest("User not found")
            log.info("user.deleted", user_id=str(user_id), by=str(auth.user.id), force=False)
            at = user.deleted_at or datetime.now(UTC)
            await announce(deps, UserDeleted(user_id=str(user_id), permanent=False, at=at))
            return await user_admin_dto(deps, user)
        removed = await remove_user(deps, user_id)
        if removed is None:
            raise BadRequest("User not found")
        log.info("user.deleted", user_id=str(user_id), by=str(auth.user.id), force=True)
        return await user_admin_dto(
            deps,
            msgspec.structs.replace(
                removed, status="deleted", deleted_at=removed.deleted_at or datetime.now(UTC)
            ),
        )

    @post("/{user_id:uuid}/restore", status_code=200, admin=True, permission="adminUser.delete")
    async def restore_user_admin(
        self, user_id: FromPath[uuid.UUID], auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> UserAdminResponse:
        """Bring a soft-deleted user back."""
        user = await users.restore_user(deps.pool, user_id)
        if user is None:
            raise BadRequest("User not found")
        log.info("user.restored", user_id=str(user_id), by=str(auth.user.id))
        return await user_admin_dto(deps, user)

    @get("/{user_id:uuid}/preferences", admin=True, permission="adminUser.read")
    async def get_user_preferences_admin(
        self, user_id: FromPath[uuid.UUID], auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> UserPreferencesResponse:
        """A user's preferences."""
        stored = await users.get_preferences(deps.pool, user_id)
        if stored is None:
            raise BadRequest("User not found")
        return preferences_response(stored)

    @put("/{user_id:uuid}/preferences", admin=True, permission="adminUser.update")
    async def update_user_preferences_admin(
        self,
        user_id: FromPath[uuid.UUID],
        data: JSONBody[UserPreferencesUpdate],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> UserPreferencesResponse:
        """Change some of a user's preferences (400 ``User not found`` for a deleted user, as
        Immich's ``updatePreferences``)."""
        return await update_preferences(deps, await _user(deps, user_id, with_deleted=False), data)

    @get("/{user_id:uuid}/sessions", admin=True, permission="adminSession.read")
    async def get_user_sessions_admin(
        self, user_id: FromPath[uuid.UUID], auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> list[SessionResponse]:
        """A user's sessions."""
        await _user(deps, user_id)
        current = auth.session.id if auth.session else None
        return [session_response(s, current) for s in await users.list_sessions(deps.pool, user_id)]

    @get("/{user_id:uuid}/statistics", admin=True, permission="adminUser.read")
    async def get_user_statistics_admin(
        self,
        user_id: FromPath[uuid.UUID],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
        is_favorite: Annotated[bool | None, QueryParameter(name="isFavorite")] = None,
        is_trashed: Annotated[bool | None, QueryParameter(name="isTrashed")] = None,
        visibility: FromQuery[Visibility | None] = None,
    ) -> AssetStatsResponse:
        """How many images and videos a user has, with the filters of the user's own
        ``GET /api/assets/statistics`` (Immich's ``getStatistics`` runs the same query): without
        ``visibility`` only timeline and archive assets count, the trash only with
        ``isTrashed``."""
        await _user(deps, user_id)
        images, videos, total = await assets.statistics(
            deps.pool,
            user_id,
            is_favorite=is_favorite,
            is_trashed=is_trashed,
            visibility=visibility,
        )
        return AssetStatsResponse(images=images, videos=videos, total=total)


ROUTES = [AdminUserController]
