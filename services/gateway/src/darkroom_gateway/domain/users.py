"""Users: the caller's own account (GET /api/users/me)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from darkroom_db import users
from litestar import Controller, get

from darkroom_gateway.auth import Auth

AVATAR_COLORS = (
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
    license: Any | None
    oauth_id: str
    profile_changed_at: datetime
    profile_image_path: str
    quota_size_in_bytes: int | None
    quota_usage_in_bytes: int | None
    should_change_password: bool
    status: str
    storage_label: str | None


def avatar_color(user: users.User) -> str:
    """The user's avatar colour, or a stable one derived from the id (as Immich picks one)."""
    return user.avatar_color or AVATAR_COLORS[user.id.int % len(AVATAR_COLORS)]


def user_admin_response(user: users.User) -> UserAdminResponse:
    """Map a users row to UserAdminResponseDto."""
    return UserAdminResponse(
        id=str(user.id),
        email=user.email,
        name=user.name,
        avatar_color=avatar_color(user),
        created_at=user.created_at,
        updated_at=user.updated_at,
        deleted_at=user.deleted_at,
        is_admin=user.is_admin,
        license=None,
        oauth_id=user.oauth_id,
        profile_changed_at=user.profile_changed_at,
        profile_image_path=user.profile_image_path,
        quota_size_in_bytes=user.quota_size_in_bytes,
        quota_usage_in_bytes=user.quota_usage_in_bytes,
        should_change_password=user.should_change_password,
        status=user.status,
        storage_label=user.storage_label,
    )


class UserController(Controller):
    """/api/users."""

    path = "/api/users"

    @get("/me")
    async def get_my_user(self, auth: Auth) -> UserAdminResponse:
        """The caller's account."""
        auth.require("user.read")
        return user_admin_response(auth.user)


ROUTES = [UserController]
