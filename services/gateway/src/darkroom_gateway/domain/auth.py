"""Authentication routes: admin sign-up, login, logout."""

from __future__ import annotations

import msgspec
from darkroom_db import users
from litestar import Controller, Request, Response, post
from litestar.datastructures import Cookie

from darkroom_gateway.auth import (
    COOKIE_NAME,
    Auth,
    check_password,
    hash_password,
    hash_secret,
    new_secret,
)
from darkroom_gateway.deps import Deps
from darkroom_gateway.domain.users import UserAdminResponse, user_admin_response
from darkroom_gateway.errors import BadRequest, Unauthorized


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


class LogoutResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: LogoutResponseDto."""

    successful: bool
    redirect_uri: str


def _check_email(email: str) -> str:
    email = email.strip()
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise BadRequest("email must be an email")
    return email


class AuthController(Controller):
    """/api/auth."""

    path = "/api/auth"

    @post("/admin-sign-up", status_code=201)
    async def sign_up_admin(self, data: SignUp, deps: Deps) -> UserAdminResponse:
        """Create the first user, as admin. Only possible while the server has no user."""
        if not data.password:
            raise BadRequest("password should not be empty")
        try:
            user = await users.create_first_admin(
                deps.pool,
                email=_check_email(data.email),
                name=data.name,
                password_hash=await hash_password(data.password),
            )
        except users.AlreadyInitialised as exc:
            raise BadRequest("The server already has an admin") from exc
        return user_admin_response(user)

    @post("/login", status_code=201)
    async def login(
        self, data: LoginCredential, deps: Deps, request: Request
    ) -> Response[LoginResponse]:
        """Start a session; the token comes back in the body and as the immich_access_token
        cookie."""
        user = await users.get_user_by_email(deps.pool, data.email.strip())
        if user is None or not await check_password(data.password, user.password_hash):
            raise Unauthorized("Incorrect email or password")
        token = new_secret()
        await users.create_session(
            deps.pool,
            owner_id=user.id,
            token_hash=hash_secret(token),
            device_type=request.headers.get("user-agent", "")[:200],
            device_os=request.headers.get("x-immich-device-os", "")[:100],
        )
        body = LoginResponse(
            access_token=token,
            user_id=str(user.id),
            user_email=user.email,
            name=user.name,
            is_admin=user.is_admin,
            profile_image_path=user.profile_image_path,
            should_change_password=user.should_change_password,
            is_onboarded=True,
        )
        secure = request.url.scheme == "https"
        return Response(
            body,
            status_code=201,
            cookies=[
                Cookie(
                    key=COOKIE_NAME,
                    value=token,
                    httponly=True,
                    samesite="lax",
                    secure=secure,
                    path="/",
                    max_age=400 * 24 * 3600,
                ),
                Cookie(
                    key="immich_auth_type",
                    value="password",
                    httponly=True,
                    samesite="lax",
                    secure=secure,
                    path="/",
                    max_age=400 * 24 * 3600,
                ),
                Cookie(
                    key="immich_is_authenticated",
                    value="true",
                    samesite="lax",
                    secure=secure,
                    path="/",
                    max_age=400 * 24 * 3600,
                ),
            ],
        )

    @post("/logout", status_code=200)
    async def logout(self, auth: Auth, deps: Deps) -> Response[LogoutResponse]:
        """End the caller's session (an API key has no session to end)."""
        if auth.session is not None:
            await users.delete_session(deps.pool, owner_id=auth.user.id, session_id=auth.session.id)
        return Response(
            LogoutResponse(successful=True, redirect_uri="/auth/login"),
            cookies=[Cookie(key=COOKIE_NAME, value="", max_age=0, path="/")],
        )


ROUTES = [AuthController]
