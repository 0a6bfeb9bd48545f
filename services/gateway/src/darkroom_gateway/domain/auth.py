"""Authentication routes: admin sign-up, login (rate limited), logout, token validation,
password change, auth status, and the PIN code that unlocks the locked folder.

PIN code (issue #18, Immich's ``AuthService``): six digits, stored as a bcrypt hash like the
password (``users.pin_code_hash``, never logged). ``POST /api/auth/session/unlock`` with the PIN
unlocks the caller's session for :data:`~darkroom_gateway.auth.PIN_UNLOCK` (it then sees the
locked folder, :attr:`~darkroom_gateway.auth.Auth.elevated`); ``POST /api/auth/session/lock``
ends that. Each PIN check counts in the same PostgreSQL throttle as logins (key
``pin|<user id>``, :data:`LOGIN_MAX_FAILURES` per :data:`LOGIN_WINDOW_S`), so a six-digit PIN
cannot be guessed by trying them all.

Login rate limit: at most :data:`LOGIN_MAX_FAILURES` login attempts per (e-mail, client address)
in a window of :data:`LOGIN_WINDOW_S` seconds that starts with the first attempt; further
attempts, right or wrong, get 429 until the window ends. Each attempt is counted before its
password is checked, in one atomic statement in PostgreSQL (``darkroom_db.login_throttle``), so
concurrent attempts cannot slip past the count and the limit holds across gateway replicas; a
successful login forgets the key's attempts. The client address is the TCP peer, or, from a
proxy listed in ``DARKROOM_TRUSTED_PROXIES``, the address it forwards
(:func:`darkroom_gateway.app.proxy_middleware`). Unknown e-mails cost a bcrypt verification too
(:func:`darkroom_gateway.auth.check_password`), so timing does not tell who has an account.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated

import msgspec
import structlog
from darkroom_db import login_throttle, oauth, users
from darkroom_events import UserCreated
from litestar import Controller, Request, Response, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import JSONBody
from ua_parser import parse as parse_user_agent

from darkroom_gateway import oidc
from darkroom_gateway.announce import announce
from darkroom_gateway.auth import (
    COOKIE_NAME,
    PIN_UNLOCK,
    Auth,
    check_password,
    hash_password,
    hash_secret,
    new_secret,
    site_cookie,
)
from darkroom_gateway.deps import Deps
from darkroom_gateway.domain.sessions import sessions_ended
from darkroom_gateway.domain.users import UserAdminResponse, check_email, user_admin_dto
from darkroom_gateway.errors import ApiError, BadRequest, Unauthorized

log = structlog.get_logger()

#: Login attempts allowed per (e-mail, client address) within LOGIN_WINDOW_S. Darkroom's own
#: choice (Immich has no login rate limit), unchanged since the limit was introduced.
LOGIN_MAX_FAILURES = 5
#: Window of the login rate limit, seconds (Darkroom's choice, as LOGIN_MAX_FAILURES).
LOGIN_WINDOW_S = 60.0
#: Shortest new password (spec: ChangePasswordDto.newPassword minLength).
MIN_PASSWORD_LENGTH = 8
#: Cookie saying how the session was started (Immich's ``ImmichCookie.AuthType``).
AUTH_TYPE_COOKIE = "immich_auth_type"
#: Read by the web app (not HTTP-only) to know it is signed in, as Immich's web app reads it.
IS_AUTHENTICATED_COOKIE = "immich_is_authenticated"
#: Where a logout sends the browser (Immich's ``LOGIN_URL``): the login page without launching
#: OAuth again at once.
LOGIN_URL = "/auth/login?autoLaunch=0"


class TooManyRequests(ApiError):
    """429: too many failed logins; try again later."""

    status = 429


class SignUp(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: SignUpDto."""

    email: str
    password: str
    name: str


class LoginCredential(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: LoginCredentialDto."""

    email: str
    password: str


class LoginResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: LoginResponseDto."""

    access_token: str
    user_id: str
    user_email: str
    name: str
    is_admin: bool
    profile_image_path: str
    should_change_password: bool
    is_onboarded: bool


class ChangePassword(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: ChangePasswordDto."""

    password: str
    new_password: str
    invalidate_sessions: bool = False


class ValidateAccessTokenResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: ValidateAccessTokenResponseDto."""

    auth_status: bool


class AuthStatusResponse(
    msgspec.Struct, frozen=True, kw_only=True, rename="camel", omit_defaults=True
):
    """Spec: AuthStatusResponseDto."""

    is_elevated: bool
    password: bool
    pin_code: bool
    expires_at: str | None = None
    pin_expires_at: str | None = None


#: A PIN code (spec: ``pattern: ^\d{6}$``).
Pin = Annotated[str, msgspec.Meta(pattern=r"^\d{6}$")]


class PinCodeSetup(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: PinCodeSetupDto."""

    pin_code: Pin


class PinCodeChange(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: PinCodeChangeDto: the new PIN, proven with the current PIN or the password."""

    new_pin_code: Pin
    pin_code: Pin | None = None
    password: str | None = None


class PinCodeReset(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: PinCodeResetDto: remove the PIN, proven with the current PIN or the password."""

    pin_code: Pin | None = None
    password: str | None = None


class SessionUnlock(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: SessionUnlockDto (only ``pinCode`` unlocks, as Immich's ``unlockSession``)."""

    pin_code: Pin | None = None
    password: str | None = None


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def _check_pin_proof(
    deps: Deps, auth: Auth, *, pin_code: str | None, password: str | None
) -> None:
    """Check what proves the caller may change or reset their PIN (Immich's
    ``validatePinCode``): the password if given, else the current PIN.

    Raises:
        BadRequest: No PIN set (``User does not have a PIN code``), ``Wrong password``,
            ``Wrong PIN code``, or neither given (``Either password or pinCode is required``).
        TooManyRequests: Too many PIN checks of this user in the window.
    """
    stored = await users.get_pin_code_hash(deps.pool, auth.user.id)
    if not stored:
        raise BadRequest("User does not have a PIN code")
    if password:
        if not await check_password(password, auth.user.password_hash):
            raise BadRequest("Wrong password")
    elif pin_code:
        key = await _count_pin_attempt(deps, auth)
        if not await check_password(pin_code, stored):
            log.info("auth.pin_code_wrong", user_id=str(auth.user.id))
            raise BadRequest("Wrong PIN code")
        await login_throttle.clear_login_attempts(deps.pool, key)
    else:
        raise BadRequest("Either password or pinCode is required")


async def _count_pin_attempt(deps: Deps, auth: Auth) -> str:
    """Count one PIN check in the shared throttle (see the module docstring); a right PIN
    forgets the count, as a successful login does.

    Returns:
        The throttle key (to clear after a right PIN).

    Raises:
        TooManyRequests: More than :data:`LOGIN_MAX_FAILURES` checks in the window.
    """
    key = f"pin|{auth.user.id}"
    attempts = await login_throttle.count_login_attempt(deps.pool, key, LOGIN_WINDOW_S)
    if attempts > LOGIN_MAX_FAILURES:
        log.warning("auth.pin_throttled", user_id=str(auth.user.id), attempts=attempts)
        raise TooManyRequests("Too many failed PIN code attempts; try again in a minute")
    return key


class LogoutResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: LogoutResponseDto."""

    successful: bool
    redirect_uri: str


#: The Immich app's User-Agent (``immich-ios/<version>``, ``immich-android/<version>``).
_APP_USER_AGENT = re.compile(r"^immich-(?:ios|android)/(\S+)")


def session_device(headers: Mapping[str, str]) -> tuple[str, str, str | None]:
    """How a new session describes its client: ``(deviceType, deviceOS, appVersion)``, as
    Immich's ``getUserAgentDetails`` (server/src/utils/request.ts) reads a sign-in request.

    ``deviceType`` is the browser the User-Agent names, else the ``devicemodel`` header (the
    app sends the phone's model); ``deviceOS`` the operating system it names, else the
    ``devicetype`` header (``iOS``, ``Android``); ``appVersion`` the version in the Immich
    app's User-Agent, else None. The User-Agent is parsed with ``ua-parser`` (uap-core's
    rules; Immich uses ua-parser-js, whose names differ slightly: ``Mac OS X`` for ``macOS``).

    Args:
        headers: The request's headers (names lower-case).
    """
    agent = headers.get("user-agent", "")
    parsed = parse_user_agent(agent)
    browser = parsed.user_agent.family if parsed.user_agent else ""
    system = parsed.os.family if parsed.os else ""
    app = _APP_USER_AGENT.match(agent)
    return (
        (browser if browser != "Other" else "") or headers.get("devicemodel", ""),
        (system if system != "Other" else "") or headers.get("devicetype", ""),
        app[1] if app else None,
    )


async def login_response(
    deps: Deps,
    request: Request,
    user: users.User,
    *,
    auth_type: str,
    oauth_sid: str | None = None,
) -> Response[LoginResponse]:
    """Start a session for ``user`` and answer as Immich's login does: LoginResponseDto (201)
    with the cookies ``immich_access_token`` (the token), ``immich_auth_type`` and
    ``immich_is_authenticated``. Password and OAuth sign-ins both end here.

    Args:
        deps: The gateway's connections.
        request: The sign-in request (:func:`session_device` describes the session; the
            cookies are ``Secure`` when it came over https).
        user: Who signed in.
        auth_type: ``password`` or ``oauth`` (Immich's ``AuthType``; logout reads it back).
        oauth_sid: The provider's session id of an OAuth sign-in, kept for back-channel logout.

    Returns:
        The response to send.
    """
    token = new_secret()
    device_type, device_os, app_version = session_device(request.headers)
    session = await users.create_session(
        deps.pool,
        owner_id=user.id,
        token_hash=hash_secret(token),
        device_type=device_type[:200],
        device_os=device_os[:100],
        app_version=app_version[:50] if app_version else None,
    )
    if oauth_sid:
        await oauth.set_session_oauth_sid(deps.pool, session.id, oauth_sid)
    body = LoginResponse(
        access_token=token,
        user_id=str(user.id),
        user_email=user.email,
        name=user.name,
        is_admin=user.is_admin,
        profile_image_path=user.profile_image_path,
        should_change_password=user.should_change_password,
        is_onboarded=user.is_onboarded,
    )
    age = 400 * 24 * 3600
    return Response(
        body,
        status_code=201,
        cookies=[
            site_cookie(request, COOKIE_NAME, token, max_age=age),
            site_cookie(request, AUTH_TYPE_COOKIE, auth_type, max_age=age),
            site_cookie(request, IS_AUTHENTICATED_COOKIE, "true", max_age=age, httponly=False),
        ],
    )


class AuthController(Controller):
    """/api/auth.

    Routes Immich declares ``@Authenticated()`` without a permission (logout, status, session
    lock and unlock) take an API key only with ``all``, as Immich's ``authenticate`` defaults
    the permission to ``all``; ``validateToken`` is ``permission: false`` there (any key).
    """

    path = "/api/auth"

    @post("/admin-sign-up", status_code=201)
    async def sign_up_admin(
        self, data: JSONBody[SignUp], deps: NamedDependency[Deps]
    ) -> UserAdminResponse:
        """Create the first user, as admin, with the storage label ``admin`` and the e-mail in
        lower case (Immich's ``adminSignUp`` and SignUpDto). Only possible while the server
        has no user."""
        if not data.password:
            raise BadRequest("password should not be empty")
        try:
            user = await users.create_first_admin(
                deps.pool,
                email=check_email(data.email).lower(),
                name=data.name,
                password_hash=await hash_password(data.password),
            )
        except users.AlreadyInitialised as exc:
            raise BadRequest("The server already has an admin") from exc
        await announce(deps, UserCreated(user_id=str(user.id), at=datetime.now(UTC)))
        return await user_admin_dto(deps, user)

    @post("/login", status_code=201)
    async def login(
        self, data: JSONBody[LoginCredential], deps: NamedDependency[Deps], request: Request
    ) -> Response[LoginResponse]:
        """Start a session; the token comes back in the body and as the immich_access_token
        cookie. Refused (401, Immich's message) while system config ``passwordLogin.enabled``
        is off; sessions and API keys made before keep working, so an admin can turn it back
        on (or ``DARKROOM_CONFIG_FILE`` can). A malformed e-mail is 400, as Immich validates
        LoginCredentialDto before looking anyone up."""
        if not deps.config.current.password_login.enabled:
            raise Unauthorized("Password login has been disabled")
        email = check_email(data.email)  # 400 for a malformed one (LoginCredentialDto)
        client = request.client.host if request.client else ""
        throttle_key = f"{email.lower()}|{client}"
        attempts = await login_throttle.count_login_attempt(deps.pool, throttle_key, LOGIN_WINDOW_S)
        if attempts > LOGIN_MAX_FAILURES:
            log.warning("auth.login_throttled", email=email, client=client, attempts=attempts)
            raise TooManyRequests("Too many failed login attempts; try again in a minute")
        user = await users.get_user_by_email(deps.pool, email)
        # an unknown e-mail costs a bcrypt check too (against a dummy hash): same timing
        password_ok = await check_password(data.password, user.password_hash if user else None)
        if user is None or not password_ok:
            log.info("auth.login_failed", email=email, client=client)
            raise Unauthorized("Incorrect email or password")
        await login_throttle.clear_login_attempts(deps.pool, throttle_key)
        return await login_response(deps, request, user, auth_type="password")

    @post("/logout", status_code=200, permission="all")
    async def logout(
        self, auth: NamedDependency[Auth], deps: NamedDependency[Deps], request: Request
    ) -> Response[LogoutResponse]:
        """End the caller's session (an API key has no session to end). A session started
        through OAuth (cookie ``immich_auth_type=oauth``) is sent on to the provider's end
        session endpoint while OAuth is on (:func:`darkroom_gateway.oidc.logout_url`), as
        Immich does; otherwise to :data:`LOGIN_URL`. The three cookies login set (session, auth
        type, ``immich_is_authenticated``) are cleared, so the web app does not take itself
        for signed in after a logout."""
        if auth.session is not None:
            await users.delete_session(deps.pool, owner_id=auth.user.id, session_id=auth.session.id)
            await sessions_ended(deps, auth.user.id, [auth.session.id])
        redirect = LOGIN_URL
        if request.cookies.get(AUTH_TYPE_COOKIE) == "oauth":
            redirect = await oidc.logout_url(deps.config.current.oauth) or redirect
        return Response(
            LogoutResponse(successful=True, redirect_uri=redirect),
            cookies=[
                site_cookie(request, COOKIE_NAME, "", max_age=0),
                site_cookie(request, AUTH_TYPE_COOKIE, "", max_age=0),
                site_cookie(request, IS_AUTHENTICATED_COOKIE, "", max_age=0, httponly=False),
            ],
        )

    @post("/validateToken", status_code=200, permission=False)
    async def validate_access_token(
        self, auth: NamedDependency[Auth]
    ) -> ValidateAccessTokenResponse:
        """Whether the caller's credentials are valid (401 is answered before we get here)."""
        return ValidateAccessTokenResponse(auth_status=True)

    @get("/status", permission="all")
    async def get_auth_status(
        self, auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> AuthStatusResponse:
        """What the caller's account has set up (password, PIN code), whether the session is
        unlocked for the locked folder, and when the session and its unlock end."""
        expires = auth.session.expires_at if auth.session else None
        pin_until = auth.session.pin_expires_at if auth.session else None
        return AuthStatusResponse(
            is_elevated=auth.elevated,
            password=bool(auth.user.password_hash),
            pin_code=bool(await users.get_pin_code_hash(deps.pool, auth.user.id)),
            expires_at=_iso(expires) if expires else None,
            pin_expires_at=_iso(pin_until) if pin_until else None,
        )

    @post("/pin-code", status_code=204, permission="pinCode.create")
    async def setup_pin_code(
        self,
        data: JSONBody[PinCodeSetup],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> None:
        """Set the caller's first PIN code (400 ``User already has a PIN code`` after that)."""
        if await users.get_pin_code_hash(deps.pool, auth.user.id):
            raise BadRequest("User already has a PIN code")
        hashed = await hash_password(data.pin_code)
        await users.set_pin_code_hash(deps.pool, auth.user.id, hashed, lock_sessions=False)
        log.info("auth.pin_code_set", user_id=str(auth.user.id))

    @put("/pin-code", status_code=204, permission="pinCode.update")
    async def change_pin_code(
        self,
        data: JSONBody[PinCodeChange],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> None:
        """Change the caller's PIN code, proven with the current PIN or the password."""
        await _check_pin_proof(deps, auth, pin_code=data.pin_code, password=data.password)
        hashed = await hash_password(data.new_pin_code)
        await users.set_pin_code_hash(deps.pool, auth.user.id, hashed, lock_sessions=False)
        log.info("auth.pin_code_changed", user_id=str(auth.user.id))

    @delete("/pin-code", status_code=204, permission="pinCode.delete")
    async def reset_pin_code(
        self,
        data: JSONBody[PinCodeReset],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> None:
        """Remove the caller's PIN code (proven with the PIN or the password); every session
        of theirs is locked (Immich's ``resetPinCode``)."""
        await _check_pin_proof(deps, auth, pin_code=data.pin_code, password=data.password)
        await users.set_pin_code_hash(deps.pool, auth.user.id, None, lock_sessions=True)
        log.info("auth.pin_code_reset", user_id=str(auth.user.id))

    @post("/session/unlock", status_code=204, permission="all")
    async def unlock_auth_session(
        self,
        data: JSONBody[SessionUnlock],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> None:
        """Unlock the caller's session with the PIN code for 15 minutes (it then sees the
        locked folder).

        Raises:
            BadRequest: Not a session (API key), no PIN set, no or a wrong PIN.
            TooManyRequests: Too many PIN checks of this user in the window.
        """
        if auth.session is None:
            raise BadRequest("This endpoint can only be used with a session token")
        await _check_pin_proof(deps, auth, pin_code=data.pin_code, password=None)
        until = datetime.now(UTC) + PIN_UNLOCK
        await users.set_session_pin_expiry(deps.pool, auth.session.id, until)
        log.info(
            "auth.session_unlocked", user_id=str(auth.user.id), session_id=str(auth.session.id)
        )

    @post("/session/lock", status_code=204, permission="all")
    async def lock_auth_session(
        self, auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> None:
        """Lock the caller's session again (the locked folder is hidden).

        Raises:
            BadRequest: Not a session (API key).
        """
        if auth.session is None:
            raise BadRequest("This endpoint can only be used with a session token")
        await users.set_session_pin_expiry(deps.pool, auth.session.id, None)
        log.info("auth.session_locked", user_id=str(auth.user.id), session_id=str(auth.session.id))

    @post("/change-password", status_code=200, permission="auth.changePassword")
    async def change_password(
        self,
        data: JSONBody[ChangePassword],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> UserAdminResponse:
        """Change the caller's password after checking the current one; with
        ``invalidateSessions`` every other session of theirs is signed out."""
        if len(data.new_password) < MIN_PASSWORD_LENGTH:
            raise BadRequest(
                f"newPassword must be longer than or equal to {MIN_PASSWORD_LENGTH} characters"
            )
        if not await check_password(data.password, auth.user.password_hash):
            raise BadRequest("Wrong password")
        changed = await users.set_password(
            deps.pool,
            auth.user.id,
            await hash_password(data.new_password),
            keep_session_id=auth.session.id if auth.session else None,
            end_sessions=data.invalidate_sessions,
        )
        if changed is None:
            raise Unauthorized("Authentication required")
        user, ended = changed
        await sessions_ended(deps, user.id, ended)
        log.info(
            "auth.password_changed", user_id=str(user.id), ended_sessions=data.invalidate_sessions
        )
        return await user_admin_dto(deps, user)


ROUTES = [AuthController]
