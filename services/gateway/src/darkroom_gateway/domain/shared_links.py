"""Shared links (the spec's "Shared links" tag, Immich 3.1.0): public links to an album or to a
chosen set of the owner's assets.

The owner manages their links (list, create, read, edit, delete, add/remove assets); a visitor
holding a link's key or slug reads it through ``GET /api/shared-links/me`` and, for a password
link, logs in with ``POST /api/shared-links/login`` (a cookie, see
:func:`darkroom_gateway.auth.authenticate_link`). Behaviour follows Immich's
``SharedLinkService`` as documented and observed: a missing or foreign link is 400
``Shared link not found``; a link that hides metadata never allows downloads; keys are 50 random
bytes in base64url (67 characters).
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from typing import Annotated, Literal

import asyncpg
import msgspec
import structlog
from darkroom_db import albums, exif, login_throttle, shared_links
from darkroom_events import SharedLinkCreated, SharedLinkRemoved
from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from darkroom_gateway.announce import announce
from darkroom_gateway.auth import (
    LINK_COOKIE_NAME,
    Auth,
    check_password,
    hash_password,
    link_token,
    site_cookie,
)
from darkroom_gateway.deps import Deps
from darkroom_gateway.domain.albums import AlbumResponse, album_response
from darkroom_gateway.domain.assets import AssetResponse, asset_response, for_link
from darkroom_gateway.domain.auth import LOGIN_MAX_FAILURES, LOGIN_WINDOW_S, TooManyRequests
from darkroom_gateway.errors import BadRequest, Forbidden, Unauthorized
from darkroom_gateway.permissions import require_access
from darkroom_gateway.schemas import BulkIdError, add_outcomes, remove_outcomes

log = structlog.get_logger()

#: Random bytes in a key (Immich's ``randomBytes(50)``), sent base64url-encoded.
KEY_BYTES = 50
#: What ``password`` reads in a response when the link has one: the password itself is stored
#: only as a bcrypt hash. Sent back unchanged in an edit, it leaves the password as it is.
PASSWORD_MASK = "********"
#: How long the login cookie of a password link lasts (seconds; Immich's cookie is per
#: browser session with a one-day token: one day here too).
LINK_COOKIE_MAX_AGE_S = 24 * 3600
#: At most this many password links are remembered in one login cookie (oldest dropped).
LINK_COOKIE_MAX_LINKS = 10

LinkType = Literal["ALBUM", "INDIVIDUAL"]


class SharedLinkCreate(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: SharedLinkCreateDto."""

    type: LinkType
    album_id: uuid.UUID | None = None
    asset_ids: list[uuid.UUID] | None = None
    allow_download: bool = True
    allow_upload: bool | None = None
    show_metadata: bool = True
    description: str | None = None
    expires_at: datetime | None = None
    password: str | None = None
    slug: str | None = None


class SharedLinkEdit(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: SharedLinkEditDto (absent fields are left as they are; null clears)."""

    allow_download: bool | msgspec.UnsetType = msgspec.UNSET
    allow_upload: bool | msgspec.UnsetType = msgspec.UNSET
    show_metadata: bool | msgspec.UnsetType = msgspec.UNSET
    description: str | None | msgspec.UnsetType = msgspec.UNSET
    expires_at: datetime | None | msgspec.UnsetType = msgspec.UNSET
    password: str | None | msgspec.UnsetType = msgspec.UNSET
    slug: str | None | msgspec.UnsetType = msgspec.UNSET


class SharedLinkLogin(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: SharedLinkLoginDto."""

    password: str


class AssetIds(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: AssetIdsDto."""

    asset_ids: list[uuid.UUID]


class AssetIdsResponse(
    msgspec.Struct, frozen=True, kw_only=True, rename="camel", omit_defaults=True
):
    """Spec: AssetIdsResponseDto."""

    asset_id: str
    success: bool
    error: Literal["duplicate", "no_permission", "not_found"] | None = None


class SharedLinkResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: SharedLinkResponseDto."""

    id: str
    user_id: str
    key: str
    type: LinkType
    created_at: datetime
    expires_at: datetime | None
    description: str | None
    password: str | None
    slug: str | None
    allow_upload: bool
    allow_download: bool
    show_metadata: bool
    assets: list[AssetResponse]
    album: AlbumResponse | msgspec.UnsetType = msgspec.UNSET


def new_key() -> str:
    """A fresh link key: :data:`KEY_BYTES` random bytes, base64url without padding."""
    return secrets.token_urlsafe(KEY_BYTES)


def _slug(value: str | None) -> str | None:
    """A custom slug as stored: stripped, None when empty."""
    value = (value or "").strip()
    return value or None


async def link_response(
    deps: Deps, link: shared_links.SharedLink, *, visitor: bool, cover_only: bool = False
) -> SharedLinkResponse:
    """Map a link to SharedLinkResponseDto with its album or assets.

    Args:
        deps: Connections.
        link: The link.
        visitor: True when the caller came through the link (assets are then stripped as the
            link's ``showMetadata`` says, :func:`for_link`).
        cover_only: Give only the link's first asset (its cover), as Immich's
            ``SharedLinkRepository.getAll`` does for the list of links (``limit(1)``).

    Returns:
        The response.
    """
    album: AlbumResponse | msgspec.UnsetType = msgspec.UNSET
    if link.album_id is not None:
        detail = await albums.get_album_detail(deps.pool, link.owner_id, link.album_id)
        if detail is not None:
            album = album_response(
                detail.album,
                detail.members,
                link.owner_id,
                detail.contributor_counts,
                has_shared_link=True,
            )
    found: list[AssetResponse] = []
    linked = await shared_links.link_assets(deps.pool, link.id, limit=1 if cover_only else None)
    for asset in linked:
        response = asset_response(asset, await exif.get_exif(deps.pool, asset.owner_id, asset.id))
        found.append(for_link(response, link if visitor else None))
    return SharedLinkResponse(
        id=str(link.id),
        user_id=str(link.owner_id),
        key=link.key,
        type=link.type,
        created_at=link.created_at,
        expires_at=link.expires_at,
        description=link.description,
        password=PASSWORD_MASK if link.password_hash else None,
        slug=link.slug,
        allow_upload=link.allow_upload,
        allow_download=link.allow_download,
        show_metadata=link.show_metadata,
        assets=found,
        album=album,
    )


async def _own_link(deps: Deps, auth: Auth, link_id: uuid.UUID) -> shared_links.SharedLink:
    """One of the caller's links.

    Raises:
        BadRequest: No such link of the caller's (Immich: ``Shared link not found``).
    """
    link = await shared_links.get_link(deps.pool, auth.user.id, link_id)
    if link is None:
        raise BadRequest("Shared link not found")
    return link


def _asset_ids_responses(
    outcomes: list[tuple[uuid.UUID, BulkIdError | None]],
) -> list[AssetIdsResponse]:
    """The spec's ``AssetIdsResponseDto`` list of per-id outcomes."""
    return [
        # only duplicate / no_permission / not_found come from add_outcomes and remove_outcomes
        AssetIdsResponse(asset_id=str(i), success=e is None, error=e)  # type: ignore[arg-type]
        for i, e in outcomes
    ]


async def _owned_asset_ids(deps: Deps, auth: Auth, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Which of ``ids`` the caller may put in a link (Immich's ``AssetShare`` access)."""
    return await shared_links.shareable_assets(deps.pool, auth.user.id, ids)


class SharedLinkController(Controller):
    """/api/shared-links."""

    path = "/api/shared-links"

    @get("/", permission="sharedLink.read")
    async def get_all_shared_links(
        self,
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
        album_id: Annotated[uuid.UUID | None, QueryParameter(name="albumId")] = None,
        link_id: Annotated[uuid.UUID | None, QueryParameter(name="id")] = None,
    ) -> list[SharedLinkResponse]:
        """The caller's links, newest first (optionally of one album, or one link); an
        INDIVIDUAL link carries only its cover, the oldest of its active assets (Immich)."""
        found = await shared_links.list_links(
            deps.pool, auth.user.id, album_id=album_id, link_id=link_id
        )
        return [await link_response(deps, link, visitor=False, cover_only=True) for link in found]

    @post("/", status_code=201, permission="sharedLink.create")
    async def create_shared_link(
        self,
        data: JSONBody[SharedLinkCreate],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> SharedLinkResponse:
        """Make a link to one of the caller's albums (owner or editor) or to a set of their
        own assets. A link that hides metadata allows no downloads (as Immich).

        Raises:
            BadRequest: ``albumId``/``assetIds`` missing for the type, a slug in use, or
                400 ``Not found or no album.share``/``asset.share access`` for ids the caller
                may not share.
        """
        asset_ids: list[uuid.UUID] = []
        if data.type == "ALBUM":
            if data.album_id is None:
                raise BadRequest("Invalid albumId")
            role = await albums.get_role(deps.pool, auth.user.id, data.album_id)
            require_access(role in ("owner", "editor") or None, "album.share")
        else:
            if not data.asset_ids:
                raise BadRequest("Invalid assetIds")
            asset_ids = list(dict.fromkeys(data.asset_ids))
            owned = await _owned_asset_ids(deps, auth, asset_ids)
            require_access(owned == set(asset_ids) or None, "asset.share")
        try:
            link = await shared_links.create_link(
                deps.pool,
                owner_id=auth.user.id,
                type=data.type,
                key=new_key(),
                slug=_slug(data.slug),
                album_id=data.album_id if data.type == "ALBUM" else None,
                asset_ids=asset_ids,
                description=data.description or None,  # "" is none (Immich)
                password_hash=await hash_password(data.password) if data.password else None,
                expires_at=data.expires_at,
                # unsaid, a link allows uploads (Immich: ``allowUpload ?? true``)
                allow_upload=True if data.allow_upload is None else data.allow_upload,
                allow_download=data.allow_download and data.show_metadata,
                show_metadata=data.show_metadata,
            )
        except asyncpg.UniqueViolationError as exc:
            raise BadRequest("Shared link with this slug already exists") from exc
        log.info("shared_link.created", shared_link_id=str(link.id), type=link.type)
        await announce(
            deps,
            SharedLinkCreated(
                shared_link_id=str(link.id),
                owner_id=str(auth.user.id),
                type=link.type,
                album_id=str(link.album_id) if link.album_id else None,
                asset_count=len(asset_ids),
                expires_at=link.expires_at,
                has_password=link.password_hash is not None,
                allow_upload=link.allow_upload,
                allow_download=link.allow_download,
                show_metadata=link.show_metadata,
            ),
        )
        return await link_response(deps, link, visitor=False)

    @get("/me", shared_link=True)
    async def get_my_shared_link(
        self,
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
        key: Annotated[str | None, QueryParameter(name="key", required=False)] = None,
        slug: Annotated[str | None, QueryParameter(name="slug", required=False)] = None,
    ) -> SharedLinkResponse:
        """The link the caller came with (``key``/``slug`` are read by the auth guard).

        Raises:
            Forbidden: The caller did not come through a link.
        """
        if auth.shared_link is None:
            raise Forbidden("Forbidden")
        return await link_response(deps, auth.shared_link, visitor=True)

    @post("/login", status_code=201, shared_link="login", permission=False)
    async def shared_link_login(
        self,
        request: Request,
        data: JSONBody[SharedLinkLogin],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
        key: Annotated[str | None, QueryParameter(name="key", required=False)] = None,
        slug: Annotated[str | None, QueryParameter(name="slug", required=False)] = None,
    ) -> Response[SharedLinkResponse]:
        """Give a password link's password: the answer sets the cookie that opens the link
        from this browser (:data:`~darkroom_gateway.auth.LINK_COOKIE_NAME`).

        Attempts are throttled as user logins are (``domain.auth``: at most
        ``LOGIN_MAX_FAILURES`` per link and client address in ``LOGIN_WINDOW_S`` seconds).

        Raises:
            Forbidden: The caller did not come through a link.
            BadRequest: The link has no password (``Shared link is not password protected``,
                as Immich's ``SharedLinkService.login``).
            Unauthorized: Wrong password (``Invalid password``).
            TooManyRequests: Too many attempts on this link from this address (429).
        """
        link = auth.shared_link
        if link is None:
            raise Forbidden("Forbidden")
        if not link.password_hash:
            raise BadRequest("Shared link is not password protected")
        client = request.client.host if request.client else ""
        throttle_key = f"shared-link:{link.id}|{client}"
        attempts = await login_throttle.count_login_attempt(deps.pool, throttle_key, LOGIN_WINDOW_S)
        if attempts > LOGIN_MAX_FAILURES:
            log.warning("shared_link.login_throttled", shared_link_id=str(link.id))
            raise TooManyRequests("Too many failed login attempts; try again in a minute")
        if not await check_password(data.password, link.password_hash):
            log.info("shared_link.login_failed", shared_link_id=str(link.id))
            raise Unauthorized("Invalid password")
        await login_throttle.clear_login_attempts(deps.pool, throttle_key)
        kept = [t for t in request.cookies.get(LINK_COOKIE_NAME, "").split(",") if t][
            -(LINK_COOKIE_MAX_LINKS - 1) :
        ]
        token = link_token(link)
        cookie = site_cookie(
            request,
            LINK_COOKIE_NAME,
            ",".join([t for t in kept if t != token] + [token]),
            max_age=LINK_COOKIE_MAX_AGE_S,
        )
        body = await link_response(deps, link, visitor=True)
        return Response(body, status_code=201, cookies=[cookie])

    @get("/{link_id:uuid}", permission="sharedLink.read")
    async def get_shared_link_by_id(
        self, link_id: FromPath[uuid.UUID], auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> SharedLinkResponse:
        """One of the caller's links.

        Raises:
            BadRequest: Not one of the caller's links.
        """
        return await link_response(deps, await _own_link(deps, auth, link_id), visitor=False)

    @patch("/{link_id:uuid}", permission="sharedLink.update")
    async def update_shared_link(
        self,
        link_id: FromPath[uuid.UUID],
        data: JSONBody[SharedLinkEdit],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> SharedLinkResponse:
        """Edit one of the caller's links (absent fields stay; ``password`` null or empty
        removes it, :data:`PASSWORD_MASK` keeps it).

        Raises:
            BadRequest: Not one of the caller's links, or the slug is in use.
        """
        link = await _own_link(deps, auth, link_id)
        changes: dict[str, object] = {}
        for name in ("allow_download", "allow_upload", "show_metadata", "description"):
            value = getattr(data, name)
            if value is not msgspec.UNSET:
                changes[name] = value
        if data.expires_at is not msgspec.UNSET:
            changes["expires_at"] = data.expires_at
        if data.slug is not msgspec.UNSET:
            changes["slug"] = _slug(data.slug)
        if data.password is not msgspec.UNSET and data.password != PASSWORD_MASK:
            changes["password_hash"] = await hash_password(data.password) if data.password else None
        if changes.get("show_metadata", link.show_metadata) is False:
            changes["allow_download"] = False  # metadata hidden: no originals either
        try:
            updated = await shared_links.update_link(deps.pool, auth.user.id, link_id, changes)
        except asyncpg.UniqueViolationError as exc:
            raise BadRequest("Shared link with this slug already exists") from exc
        if updated is None:
            raise BadRequest("Shared link not found")
        return await link_response(deps, updated, visitor=False)

    @delete("/{link_id:uuid}", status_code=204, permission="sharedLink.delete")
    async def remove_shared_link(
        self, link_id: FromPath[uuid.UUID], auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> None:
        """Delete one of the caller's links: it opens nothing from the next request on.

        Raises:
            BadRequest: Not one of the caller's links.
        """
        link = await _own_link(deps, auth, link_id)
        if not await shared_links.delete_link(deps.pool, auth.user.id, link_id):
            raise BadRequest("Shared link not found")
        log.info("shared_link.removed", shared_link_id=str(link_id))
        await announce(
            deps,
            SharedLinkRemoved(
                shared_link_id=str(link_id),
                owner_id=str(auth.user.id),
                type=link.type,
                album_id=str(link.album_id) if link.album_id else None,
            ),
        )

    @put("/{link_id:uuid}/assets", permission="sharedLink.update")
    async def add_shared_link_assets(
        self,
        link_id: FromPath[uuid.UUID],
        data: JSONBody[AssetIds],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> list[AssetIdsResponse]:
        """Add the caller's assets to an INDIVIDUAL link; per id: success, ``duplicate``
        (already in it) or ``no_permission``.

        Raises:
            BadRequest: Not one of the caller's links, or an album link.
        """
        link = await _own_link(deps, auth, link_id)
        if link.type != "INDIVIDUAL":
            raise BadRequest("Invalid shared link type")
        present = set(await shared_links.link_asset_ids(deps.pool, link.id))
        owned = await _owned_asset_ids(deps, auth, data.asset_ids)
        added = await shared_links.add_assets(
            deps.pool, link.id, [i for i in data.asset_ids if i in owned and i not in present]
        )
        return _asset_ids_responses(add_outcomes(data.asset_ids, added, present, owned))

    @delete("/{link_id:uuid}/assets", status_code=200, permission="sharedLink.update")
    async def remove_shared_link_assets(
        self,
        link_id: FromPath[uuid.UUID],
        data: JSONBody[AssetIds],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> list[AssetIdsResponse]:
        """Take assets out of an INDIVIDUAL link; per id: success or ``not_found``.

        Raises:
            BadRequest: Not one of the caller's links, or an album link.
        """
        link = await _own_link(deps, auth, link_id)
        if link.type != "INDIVIDUAL":
            raise BadRequest("Invalid shared link type")
        removed = await shared_links.remove_assets(deps.pool, link.id, data.asset_ids)
        return _asset_ids_responses(remove_outcomes(data.asset_ids, removed))


ROUTES = [SharedLinkController]
