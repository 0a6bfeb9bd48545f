"""Partners (spec tag "Partners"): share the whole library with another user.

``POST /api/partners`` (and the older ``POST /api/partners/{id}``) makes the caller a sharer,
``DELETE /api/partners/{id}`` ends it, ``GET /api/partners?direction=shared-by|shared-with``
lists either side, and ``PUT /api/partners/{id}`` lets the *partner* show a sharer's assets in
their timeline. Answers and messages follow Immich's ``partner.service.ts`` and its e2e spec
(``e2e/src/specs/server/api/partner.e2e-spec.ts``): ``Partner already exists``,
``Invalid user``, ``Partner not found`` (400), and ``Not found or no partner.update access`` for
a PUT on someone who does not share with the caller. What a partner then sees:
:mod:`darkroom_db.partners`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Literal

import msgspec
import structlog
from darkroom_db import partners, users
from darkroom_events import PartnerAdded, PartnerRemoved
from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from darkroom_gateway.announce import announce
from darkroom_gateway.auth import Auth
from darkroom_gateway.deps import Deps
from darkroom_gateway.domain.users import avatar_color
from darkroom_gateway.errors import BadRequest
from darkroom_gateway.permissions import require_access

log = structlog.get_logger()

PartnerDirection = Literal["shared-by", "shared-with"]


class PartnerCreate(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: PartnerCreateDto."""

    shared_with_id: uuid.UUID


class PartnerUpdate(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: PartnerUpdateDto."""

    in_timeline: bool


class PartnerResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: PartnerResponseDto: the user on the other side, and ``inTimeline``."""

    id: str
    email: str
    name: str
    avatar_color: str
    profile_changed_at: datetime
    profile_image_path: str
    in_timeline: bool


def partner_response(partner: partners.Partner, other: users.User) -> PartnerResponse:
    """Map a partnership and the user on the other side of it to PartnerResponseDto."""
    return PartnerResponse(
        id=str(other.id),
        email=other.email,
        name=other.name,
        avatar_color=avatar_color(other),
        profile_changed_at=other.profile_changed_at,
        profile_image_path=other.profile_image_path,
        in_timeline=partner.in_timeline,
    )


async def create_partner(deps: Deps, auth: Auth, shared_with_id: uuid.UUID) -> PartnerResponse:
    """Share the caller's library with ``shared_with_id`` and announce it.

    Raises:
        BadRequest: The caller already shares with them (``Partner already exists``), or there
            is no such active user, or it is the caller (``Invalid user``).
    """
    if await partners.get(deps.pool, auth.user.id, shared_with_id) is not None:
        raise BadRequest("Partner already exists")
    other = await users.get_user(deps.pool, shared_with_id)
    if other is None or other.deleted_at is not None or other.id == auth.user.id:
        raise BadRequest("Invalid user")  # sharing with oneself is refused as no such partner
    try:
        partner = await partners.create(deps.pool, auth.user.id, shared_with_id)
    except partners.AlreadyPartners as exc:  # a concurrent request won
        raise BadRequest("Partner already exists") from exc
    log.info("partner.added", shared_by=str(auth.user.id), shared_with=str(shared_with_id))
    await announce(
        deps,
        PartnerAdded(
            shared_by_id=str(auth.user.id),
            shared_with_id=str(shared_with_id),
            at=partner.created_at,
        ),
    )
    return partner_response(partner, other)


class PartnerController(Controller):
    """/api/partners."""

    path = "/api/partners"

    @get("/", permission="partner.read")
    async def get_partners(
        self,
        direction: FromQuery[PartnerDirection],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> list[PartnerResponse]:
        """The users the caller shares with (``shared-by``) or who share with them
        (``shared-with``)."""
        rows = await partners.list_partners(
            deps.pool, auth.user.id, shared_by=direction == "shared-by"
        )
        return [partner_response(p, other) for p, other in rows]

    @post("/", status_code=201, permission="partner.create")
    async def create_partner(
        self,
        data: JSONBody[PartnerCreate],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> PartnerResponse:
        """Share the caller's library with ``sharedWithId`` (``inTimeline`` starts off)."""
        return await create_partner(deps, auth, data.shared_with_id)

    @post("/{partner_id:uuid}", status_code=201, permission="partner.create")
    async def create_partner_deprecated(
        self,
        partner_id: FromPath[uuid.UUID],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> PartnerResponse:
        """The older form of :meth:`create_partner`, the user id in the path."""
        return await create_partner(deps, auth, partner_id)

    @put("/{partner_id:uuid}", permission="partner.update")
    async def update_partner(
        self,
        partner_id: FromPath[uuid.UUID],
        data: JSONBody[PartnerUpdate],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> PartnerResponse:
        """Show (or stop showing) the assets of ``partner_id``, who shares with the caller, in
        the caller's timeline.

        Raises:
            NoAccess: ``partner_id`` does not share with the caller.
        """
        partner = require_access(
            await partners.set_in_timeline(deps.pool, partner_id, auth.user.id, data.in_timeline),
            "partner.update",
        )
        sharer = require_access(await users.get_user(deps.pool, partner_id), "partner.update")
        return partner_response(partner, sharer)

    @delete("/{partner_id:uuid}", status_code=204, permission="partner.delete")
    async def remove_partner(
        self,
        partner_id: FromPath[uuid.UUID],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> None:
        """Stop sharing the caller's library with ``partner_id``; their access ends at once.

        Raises:
            BadRequest: The caller does not share with them (``Partner not found``).
        """
        if not await partners.remove(deps.pool, auth.user.id, partner_id):
            raise BadRequest("Partner not found")
        log.info("partner.removed", shared_by=str(auth.user.id), shared_with=str(partner_id))
        await announce(
            deps,
            PartnerRemoved(
                shared_by_id=str(auth.user.id),
                shared_with_id=str(partner_id),
                at=datetime.now(UTC),
            ),
        )


ROUTES = [PartnerController]
