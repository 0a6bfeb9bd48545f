"""Sign-in through an OpenID Connect provider: Immich's ``/api/oauth`` operations.

Flow (Immich 3.1's, as its e2e tests and clients use it; behaviour read, not code copied):

1. ``POST /api/oauth/authorize`` ``{redirectUri, state?, codeChallenge?}`` answers the provider
   URL to open. The web app sends only ``redirectUri``: the gateway makes the ``state`` (also set
   as the cookie ``immich_oauth_state``, which binds the callback to this browser) and the PKCE
   verifier (kept server-side). The mobile app sends its own ``state`` and ``codeChallenge`` and
   keeps the verifier. Either way the gateway makes the OpenID Connect ``nonce`` and keeps it,
   with the verifier, in ``oauth_authorizations`` under the state's hash for
   :data:`AUTHORIZATION_TTL`.
2. The provider sends the browser back to ``redirectUri?code=..&state=..``; the client posts
   that URL to ``POST /api/oauth/callback`` (or ``/api/oauth/link`` while signed in), with
   ``state``/``codeVerifier`` in the body or in the cookies ``immich_oauth_state``/
   ``immich_oauth_code_verifier``. The authorization of that state is taken out of the database
   once (a replayed state finds nothing: 400), the code is exchanged and the ID token checked
   (:mod:`darkroom_gateway.oidc`), and a session starts as a password login's does
   (:func:`darkroom_gateway.domain.auth.login_response`, ``immich_auth_type=oauth``).

Accounts (Immich's ``AuthService.callback``): the user linked to the token's ``sub``; else the
user with the profile's e-mail, which gets linked (refused when it is linked to another
subject); else, with ``oauth.autoRegister``, a new user (e-mail in lower case) named from
``name`` (or ``given_name`` ``family_name``, ``preferred_username``, the e-mail), admin when
``oauth.roleClaim`` says ``admin``, storage label from ``oauth.storageLabelClaim``, quota in GiB
from ``oauth.storageQuotaClaim`` or ``oauth.defaultStorageQuota``. At each sign-in a user
without a profile image gets the profile's ``picture`` (:func:`_sync_picture`).

Mobile: with ``oauth.mobileOverrideEnabled`` and a ``mobileRedirectUri``, a redirect URI
``app.immich:///oauth-callback`` is replaced by ``mobileRedirectUri`` in the authorization and the
callback (a provider that refuses custom schemes sends the browser to an https page instead);
``GET /api/oauth/mobile-redirect`` is such a page: it answers 307 to
``app.immich:///oauth-callback`` with the same query, which the app catches.

Errors as Immich answers them: ``OAuth is not enabled`` (400), ``OAuth state is missing``,
``OAuth code verifier is missing`` (400), a failed exchange or token check 500 ``Failed to
finish oauth`` (Immich's InternalServerErrorException; the reason is logged), a provider that
cannot be discovered 500 ``Failed to discover OAuth provider``.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import asyncpg
import msgspec
import structlog
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from darkroom_db import oauth, users
from darkroom_db.system_config import SystemConfigOAuthDto
from darkroom_events import UserCreated
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, JSONBody

from darkroom_gateway import oidc
from darkroom_gateway.announce import announce
from darkroom_gateway.auth import Auth, hash_secret, new_secret, site_cookie
from darkroom_gateway.deps import Deps
from darkroom_gateway.domain.auth import LoginResponse, login_response
from darkroom_gateway.domain.sessions import sessions_ended
from darkroom_gateway.domain.users import UserAdminResponse, check_email, user_admin_dto
from darkroom_gateway.errors import ApiError, BadRequest

log = structlog.get_logger()

#: How long an authorization waits for its callback. Darkroom's choice: RFC 6749 section 4.1.2
#: recommends codes live at most 10 minutes, and a sign-in page left open longer starts again.
AUTHORIZATION_TTL = timedelta(minutes=10)
#: Cookies of the web flow (Immich's ``ImmichCookie.OAuthState``/``OAuthCodeVerifier``).
STATE_COOKIE = "immich_oauth_state"
VERIFIER_COOKIE = "immich_oauth_code_verifier"
#: Where the mobile app listens (Immich's ``MOBILE_REDIRECT``).
MOBILE_REDIRECT = "app.immich:///oauth-callback"
#: One GiB: quota claims and ``defaultStorageQuota`` are in GiB (Immich's HumanReadableSize).
GIB = 1 << 30
#: Picture types taken from a ``picture`` claim, with the extension they are stored under.
PICTURE_TYPES = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/gif": ".gif",
    "image/avif": ".avif",
    "image/heic": ".heic",
}


class OAuthFailed(ApiError):
    """500: the provider's answer could not be used (Immich's ``Failed to finish oauth``)."""

    status = 500


class OAuthConfig(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: OAuthConfigDto."""

    redirect_uri: str
    state: str | None = None
    code_challenge: str | None = None


class OAuthAuthorizeResponse(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: OAuthAuthorizeResponseDto."""

    url: str


class OAuthCallback(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: OAuthCallbackDto."""

    url: Annotated[str, msgspec.Meta(min_length=1)]
    state: str | None = None
    code_verifier: str | None = None


class OAuthBackchannelLogout(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: OAuthBackchannelLogoutDto (a form field)."""

    logout_token: Annotated[str, msgspec.Meta(min_length=1)]


def _enabled(deps: Deps) -> SystemConfigOAuthDto:
    config = deps.config.current.oauth
    if not config.enabled:
        raise BadRequest("OAuth is not enabled")
    return config


def resolve_redirect_uri(config: SystemConfigOAuthDto, url: str) -> str:
    """``url`` with the mobile app's ``app.immich:///oauth-callback`` replaced by
    ``oauth.mobileRedirectUri`` while the override is on (Immich's ``resolveRedirectUri``)."""
    if (
        url.split("?", 1)[0].startswith("app.immich:/")
        and config.mobile_override_enabled
        and config.mobile_redirect_uri
    ):
        return re.sub(r"app\.immich:/+oauth-callback", config.mobile_redirect_uri, url)
    return url


async def _discover(config: SystemConfigOAuthDto) -> oidc.ProviderMetadata:
    try:
        return await oidc.discover(config)
    except oidc.OidcError as exc:
        log.error("oauth.discovery_failed", issuer=oidc.issuer_of(config), reason=str(exc))
        raise OAuthFailed("Failed to discover OAuth provider") from exc


async def _profile(deps: Deps, data: OAuthCallback, request: Request) -> oidc.Profile:
    """The verified profile of a callback: its state taken out once, then the code exchanged.

    Raises:
        BadRequest: OAuth off, no state or verifier, or a state unknown, used or expired.
        OAuthFailed: The exchange or a check of the tokens failed.
    """
    config = _enabled(deps)
    state = data.state or request.cookies.get(STATE_COOKIE)
    if not state:
        raise BadRequest("OAuth state is missing")
    pending = await oauth.take_authorization(deps.pool, hash_secret(state))
    if pending is None:
        log.warning("oauth.state_refused")
        raise BadRequest("OAuth state is invalid or has already been used")
    # the verifier the gateway made for this state, else the client's (body, then cookie)
    verifier = pending.code_verifier or data.code_verifier or request.cookies.get(VERIFIER_COOKIE)
    if not verifier:
        raise BadRequest("OAuth code verifier is missing")
    metadata = await _discover(config)
    try:
        return await oidc.fetch_profile(
            config,
            metadata,
            callback_url=resolve_redirect_uri(config, data.url),
            state=state,
            code_verifier=verifier,
            nonce=pending.nonce,
        )
    except oidc.OidcError as exc:
        log.warning("oauth.login_failed", reason=str(exc))
        raise OAuthFailed("Failed to finish oauth") from exc


def _claim(claims: dict[str, Any], key: str) -> Any:
    return claims.get(key) if key else None


def _quota_bytes(claims: dict[str, Any], config: SystemConfigOAuthDto) -> int | None:
    """The new user's quota: the quota claim (GiB, a number >= 0) or the default (GiB)."""
    value = _claim(claims, config.storage_quota_claim)
    try:
        gib = float(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        gib = None
    if gib is None or gib < 0:
        return None if config.default_storage_quota is None else config.default_storage_quota * GIB
    return int(gib * GIB)


def _new_user_name(claims: dict[str, Any], email: str) -> str:
    """A new OAuth user's name, as Immich's ``callback`` makes it: ``name``, else
    ``given_name family_name``, else ``preferred_username``, else the e-mail."""
    name = claims.get("name")
    if isinstance(name, str) and name.strip():
        return name.strip()
    parts = f"{claims.get('given_name') or ''} {claims.get('family_name') or ''}".strip()
    username = claims.get("preferred_username")
    return parts or (username if isinstance(username, str) and username else email)


async def _register(deps: Deps, profile: oidc.Profile, config: SystemConfigOAuthDto) -> users.User:
    """Create the account of a new OAuth subject from its claims (Immich's claim settings), its
    e-mail in lower case (Immich's ``callback`` normalises it so)."""
    claims = profile.claims
    email = claims.get("email")
    if not isinstance(email, str) or not email.strip():
        raise BadRequest("OAuth profile does not have an email address")
    email = check_email(email).lower()
    label = _claim(claims, config.storage_label_claim)
    role = _claim(claims, config.role_claim)
    try:
        user = await oauth.create_oauth_user(
            deps.pool,
            email=email,
            name=_new_user_name(claims, email),
            oauth_id=profile.sub,
            is_admin=role == "admin",
            quota_size_in_bytes=_quota_bytes(claims, config),
            storage_label=label if isinstance(label, str) and label else None,
        )
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name == "users_storage_label_key":
            raise BadRequest("Storage label already in use by another account") from exc
        raise BadRequest("User exists") from exc
    log.info("oauth.user_registered", user_id=str(user.id), is_admin=user.is_admin)
    await announce(deps, UserCreated(user_id=str(user.id), at=datetime.now(UTC)))
    return user


async def _account(deps: Deps, profile: oidc.Profile) -> users.User:
    """The account a verified profile signs in to: linked, matched by e-mail, or new."""
    config = deps.config.current.oauth
    user = await oauth.get_user_by_oauth_id(deps.pool, profile.sub)
    if user is not None:
        return user
    email = profile.claims.get("email")
    if isinstance(email, str) and email:
        by_email = await users.get_user_by_email(deps.pool, email)
        if by_email is not None:
            if by_email.oauth_id:
                raise BadRequest("User already exists, but is linked to another account.")
            linked = await oauth.set_oauth_id(deps.pool, by_email.id, profile.sub)
            if linked is not None:
                log.info("oauth.linked_by_email", user_id=str(linked.id))
                return linked
    if not config.auto_register:
        log.warning("oauth.not_registered", sub=profile.sub)
        raise BadRequest("User does not exist and auto registering is disabled.")
    return await _register(deps, profile, config)


async def _sync_picture(deps: Deps, user: users.User, profile: oidc.Profile) -> None:
    """Give a user without a profile image the provider's ``picture`` (Immich's
    ``syncProfilePicture``, run at each OAuth sign-in); stored as an uploaded profile image is
    (``profile/<userId>/<uuid>.<ext>``). A picture that cannot be had is logged and skipped:
    the sign-in goes on, as Immich's."""
    url = profile.claims.get("picture")
    if user.profile_image_path or not isinstance(url, str) or not url:
        return
    try:
        data, kind = await oidc.fetch_picture(deps.config.current.oauth, url)
    except oidc.OidcError as exc:
        log.warning("oauth.picture_failed", user_id=str(user.id), reason=str(exc))
        return
    extension = PICTURE_TYPES.get(kind)
    if extension is None or not data:
        log.warning("oauth.picture_refused", user_id=str(user.id), content_type=kind)
        return
    key = f"profile/{user.id}/{uuid.uuid4()}{extension}"
    await deps.storage.put(key, data, content_type=kind)
    result = await users.set_profile_image(deps.pool, user.id, key)
    if result is None:
        await deps.storage.delete(key)
        return
    _, old = result
    if old and old != key:
        await deps.storage.delete(old)
    log.info("oauth.picture_synced", user_id=str(user.id), key=key)


def _forget_flow(response: Response[Any]) -> None:
    """Clear the web flow's cookies once the callback used them."""
    for key in (STATE_COOKIE, VERIFIER_COOKIE):
        response.delete_cookie(key, path="/")


class OAuthController(Controller):
    """/api/oauth. Link and unlink take an API key only with ``all`` (Immich declares them
    ``@Authenticated()`` without a permission, which its ``authenticate`` reads as ``all``)."""

    path = "/api/oauth"

    @post("/authorize", status_code=201)
    async def start_oauth(
        self, data: JSONBody[OAuthConfig], deps: NamedDependency[Deps], request: Request
    ) -> Response[OAuthAuthorizeResponse]:
        """The provider URL that starts a sign-in (or a link) returning to ``redirectUri``."""
        config = _enabled(deps)
        metadata = await _discover(config)
        state = data.state or new_secret()
        nonce = new_secret()
        verifier = None if data.code_challenge else new_secret()
        challenge = data.code_challenge or create_s256_code_challenge(verifier)
        url = oidc.authorization_url(
            config,
            metadata,
            redirect_uri=resolve_redirect_uri(config, data.redirect_uri),
            state=state,
            nonce=nonce,
            code_challenge=challenge,
        )
        await oauth.save_authorization(
            deps.pool,
            state_hash=hash_secret(state),
            nonce=nonce,
            code_verifier=verifier,
            ttl=AUTHORIZATION_TTL,
        )
        return Response(
            OAuthAuthorizeResponse(url=url),
            status_code=201,
            cookies=[
                site_cookie(
                    request, STATE_COOKIE, state, max_age=int(AUTHORIZATION_TTL.total_seconds())
                )
            ],
        )

    @post("/callback", status_code=201)
    async def finish_oauth(
        self, data: JSONBody[OAuthCallback], deps: NamedDependency[Deps], request: Request
    ) -> Response[LoginResponse]:
        """Finish a sign-in: a session for the account of the provider's verified profile."""
        profile = await _profile(deps, data, request)
        user = await _account(deps, profile)
        # the answer shows the user as found, before the picture (as Immich's ``callback``)
        await _sync_picture(deps, user, profile)
        response = await login_response(
            deps, request, user, auth_type="oauth", oauth_sid=profile.sid
        )
        _forget_flow(response)
        log.info("oauth.login", user_id=str(user.id))
        return response

    @post("/link", status_code=200, permission="all")
    async def link_oauth_account(
        self,
        data: JSONBody[OAuthCallback],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
        request: Request,
    ) -> Response[UserAdminResponse]:
        """Link the caller's account to the provider account of a finished authorization."""
        profile = await _profile(deps, data, request)
        other = await oauth.get_user_by_oauth_id(deps.pool, profile.sub)
        if other is not None and other.id != auth.user.id:
            log.warning("oauth.link_refused", user_id=str(auth.user.id))
            raise BadRequest("This OAuth account has already been linked to another user.")
        try:
            user = await oauth.set_oauth_id(deps.pool, auth.user.id, profile.sub)
        except asyncpg.UniqueViolationError as exc:  # linked elsewhere meanwhile
            raise BadRequest("This OAuth account has already been linked to another user.") from exc
        if user is None:
            raise BadRequest("User not found")
        log.info("oauth.linked", user_id=str(user.id))
        response = Response(await user_admin_dto(deps, user), status_code=200)
        _forget_flow(response)
        return response

    @post("/unlink", status_code=200, permission="all")
    async def unlink_oauth_account(
        self, auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> UserAdminResponse:
        """Remove the caller's link to a provider account (signing in by password stays)."""
        user = await oauth.set_oauth_id(deps.pool, auth.user.id, "")
        if user is None:
            raise BadRequest("User not found")
        log.info("oauth.unlinked", user_id=str(user.id))
        return await user_admin_dto(deps, user)

    @get("/mobile-redirect", status_code=307)
    async def redirect_oauth_to_mobile(self, request: Request) -> Response[None]:
        """Send the browser on to the mobile app (``app.immich:///oauth-callback``) with the
        provider's query (``code``, ``state``), as Immich's 307."""
        query = request.scope.get("query_string", b"").decode("latin-1")
        return Response(None, status_code=307, headers={"Location": f"{MOBILE_REDIRECT}?{query}"})

    @post("/backchannel-logout", status_code=200)
    async def logout_oauth(
        self,
        data: Annotated[OAuthBackchannelLogout, Body(media_type=RequestEncodingType.URL_ENCODED)],
        deps: NamedDependency[Deps],
    ) -> None:
        """The provider ends sessions (OpenID Connect Back-Channel Logout 1.0): the sessions
        started with the token's ``sid``, or every session of the user of its ``sub``."""
        config = _enabled(deps)
        try:
            profile = await oidc.verify_logout_token(config, data.logout_token)
        except oidc.OidcError as exc:
            log.warning("oauth.backchannel_logout_refused", reason=str(exc))
            raise BadRequest("Error backchannel logout: token validation failed") from exc
        sub = profile.claims.get("sub")
        owner = None
        if sub:
            user = await oauth.get_user_by_oauth_id(deps.pool, str(sub))
            if user is None:
                return
            owner = user.id
        ended = await oauth.delete_oauth_sessions(deps.pool, owner_id=owner, sid=profile.sid)
        for user_id, session_id in ended:
            await sessions_ended(deps, user_id, [session_id])
        log.info("oauth.backchannel_logout", sessions=len(ended))


ROUTES = [OAuthController]
