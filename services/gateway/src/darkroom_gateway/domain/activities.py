"""Album activity: comments and likes on a shared album and its assets, /api/activities.

As Immich 3.1 (its ``ActivityService``; the spec's "Activities" tag): listing and statistics need
``album.read`` on the album (owner or member), adding needs ``activity.create`` (owner or
member of an album whose ``isActivityEnabled`` is on, and the asset in that album), deleting
needs ``activity.delete`` (the author, or the album's owner). Anyone else gets Immich's refusal,
400 ``Not found or no <permission> access``. A like is given once: liking again answers the
existing like with 200 instead of 201.

Immich sends no websocket event for activity (its web client reloads the panel); Darkroom does
the same, and publishes ``darkroom.activity.created`` / ``.deleted`` on the event stream for
integrations.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec
import structlog
from darkroom_db import activities, albums
from darkroom_events import ActivityCreated, ActivityDeleted
from litestar import Controller, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from darkroom_gateway.announce import announce
from darkroom_gateway.auth import Auth
from darkroom_gateway.deps import Deps
from darkroom_gateway.domain.users import UserResponse, user_response
from darkroom_gateway.errors import BadRequest
from darkroom_gateway.permissions import require_access

log = structlog.get_logger()

ReactionType = Literal["comment", "like"]
ReactionLevel = Literal["album", "asset"]


class ActivityResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: ActivityResponseDto (``comment`` is null for a like)."""

    id: str
    asset_id: str | None
    comment: str | None
    created_at: datetime
    type: ReactionType
    user: UserResponse


class ActivityCreate(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: ActivityCreateDto (``comment`` is required for a comment, and not ``""``)."""

    album_id: uuid.UUID
    type: ReactionType
    asset_id: uuid.UUID | None = None
    comment: str | None = None


class ActivityStatisticsResponse(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: ActivityStatisticsResponseDto."""

    comments: int
    likes: int


def activity_response(activity: activities.Activity) -> ActivityResponse:
    """Map an activity to ActivityResponseDto."""
    return ActivityResponse(
        id=str(activity.id),
        asset_id=str(activity.asset_id) if activity.asset_id else None,
        comment=activity.comment,
        created_at=activity.created_at,
        type="like" if activity.is_liked else "comment",
        user=user_response(activity.user),
    )


async def _can_read(deps: Deps, auth: Auth, album_id: uuid.UUID) -> None:
    """Raises NoAccess (``album.read``) unless the caller owns or is a member of the album."""
    require_access(await albums.get_role(deps.pool, auth.user.id, album_id), "album.read")


class ActivityController(Controller):
    """/api/activities."""

    path = "/api/activities"

    @get("/", permission="activity.read")
    async def get_activities(
        self,
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
        album_id: Annotated[uuid.UUID, QueryParameter(name="albumId")],
        asset_id: Annotated[uuid.UUID | None, QueryParameter(name="assetId")] = None,
        level: Annotated[ReactionLevel | None, QueryParameter(name="level")] = None,
        reaction: Annotated[ReactionType | None, QueryParameter(name="type")] = None,
        user_id: Annotated[uuid.UUID | None, QueryParameter(name="userId")] = None,
    ) -> list[ActivityResponse]:
        """An album's comments and likes, oldest first; ``assetId`` narrows to one asset,
        ``level=album`` to those on the album itself, ``type`` and ``userId`` as named.

        Raises:
            NoAccess: The caller does not see the album (``album.read``).
        """
        await _can_read(deps, auth, album_id)
        found = await activities.search(
            deps.pool,
            album_id,
            asset_id=asset_id,
            album_level=level == "album",
            user_id=user_id,
            is_liked=None if reaction is None else reaction == "like",
        )
        return [activity_response(a) for a in found]

    @post("/", permission="activity.create")
    async def create_activity(
        self,
        data: JSONBody[ActivityCreate],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> Response[ActivityResponse]:
        """Comment on or like the album, or an asset in it: 201, or 200 with the existing like
        when the caller liked it already.

        Raises:
            BadRequest: A comment without text.
            NoAccess: The caller is not the owner or a member, the album has activity off, or
                the asset is not in it (``activity.create``).
        """
        if data.type == "comment" and not data.comment:  # Immich: @IsNotEmpty, so "  " is one
            raise BadRequest("comment must not be empty")
        require_access(
            await activities.can_create(deps.pool, auth.user.id, data.album_id, data.asset_id),
            "activity.create",
        )
        activity, duplicate = await activities.create(
            deps.pool,
            user_id=auth.user.id,
            album_id=data.album_id,
            asset_id=data.asset_id,
            comment=data.comment,
            is_liked=data.type == "like",
        )
        if not duplicate:
            log.info("activity.created", activity_id=str(activity.id), type=data.type)
            await announce(
                deps,
                ActivityCreated(
                    activity_id=str(activity.id),
                    album_id=str(data.album_id),
                    asset_id=str(data.asset_id) if data.asset_id else None,
                    user_id=str(auth.user.id),
                    type=data.type,
                ),
            )
        return Response(activity_response(activity), status_code=200 if duplicate else 201)

    @get("/statistics", permission="activity.statistics")
    async def get_activity_statistics(
        self,
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
        album_id: Annotated[uuid.UUID, QueryParameter(name="albumId")],
        asset_id: Annotated[uuid.UUID | None, QueryParameter(name="assetId")] = None,
    ) -> ActivityStatisticsResponse:
        """How many comments and likes the album has (all of them), or one asset in it.

        Raises:
            NoAccess: The caller does not see the album (``album.read``).
        """
        await _can_read(deps, auth, album_id)
        stats = await activities.statistics(deps.pool, album_id, asset_id)
        return ActivityStatisticsResponse(comments=stats.comments, likes=stats.likes)

    @delete("/{activity_id:uuid}", status_code=204, permission="activity.delete")
    async def delete_activity(
        self,
        activity_id: FromPath[uuid.UUID],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> None:
        """Remove a comment or like: its author, or the album's owner.

        Raises:
            NoAccess: Anyone else, or no such activity (``activity.delete``).
        """
        activity = require_access(
            await activities.get_deletable(deps.pool, auth.user.id, activity_id), "activity.delete"
        )
        await activities.delete(deps.pool, activity_id)
        log.info("activity.deleted", activity_id=str(activity_id))
        await announce(
            deps,
            ActivityDeleted(
                activity_id=str(activity_id),
                album_id=str(activity.album_id),
                user_id=str(auth.user.id),
            ),
        )


ROUTES = [ActivityController]
